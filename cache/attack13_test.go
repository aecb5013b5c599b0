package cache_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
)

// heldLookups is the shared store whose GetByHash, once armed, reads the
// store and then waits for release before answering: a slow query whose
// answer was read before whatever the test does meanwhile.
type heldLookups struct {
	*shared
	armed   chan struct{} // receive to hold the next lookup
	read    chan struct{} // closed once the held lookup has read
	release chan struct{}
}

func (s *heldLookups) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	t, err := s.shared.GetByHash(ctx, h)
	select {
	case <-s.armed:
		close(s.read)
		<-s.release
	default:
	}
	return t, err
}

// TestAttack13LookupReadWhileFeedLostKeptForFeedTTL: a lookup that read a
// token while the feed was lost, and answered after it was back, is cached
// for FeedTTL (a minute), although a change made while the feed was down is
// never reported: a key revoked on another instance during the outage is
// accepted here long past TTL, the bound the package documents for changes
// the feed did not report.
func TestAttack13LookupReadWhileFeedLostKeptForFeedTTL(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	tok, h := add(t, db.Store, "revoked during the outage")
	hs := &heldLookups{shared: db, armed: make(chan struct{}, 1), read: make(chan struct{}), release: make(chan struct{})}
	clk := apitokentest.NewClock()
	const ttl = 5 * time.Second
	c := cache.New(hs, cache.Options{TTL: ttl, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { c.Close() })
	require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)

	db.setBroken(true)
	require.Eventually(t, func() bool { return !c.FeedStats().Running && c.FeedStats().Lost > 0 }, 5*time.Second, time.Millisecond)

	// A lookup reads the token while the feed is down, and is slow to
	// answer.
	start := clk.Now()
	hs.armed <- struct{}{}
	got := make(chan error, 1)
	go func() {
		_, err := c.GetByHash(ctx, h)
		got <- err
	}()
	<-hs.read
	// Meanwhile another instance deletes the token: the feed is down, so
	// no watch of it ever reports this.
	require.NoError(t, db.Store.Delete(ctx, tok.ID))
	db.setBroken(false)
	until(t, clk, func() bool { return c.FeedStats().Running }, "feed back")
	close(hs.release)
	require.NoError(t, <-got, "the slow lookup answers what it read")

	// Well past TTL from when the store was asked.
	clk.Add(start.Add(3 * ttl).Sub(clk.Now()))
	_, err := c.GetByHash(ctx, h)
	require.ErrorIs(t, err, apitoken.ErrNotFound,
		"a token deleted while the feed was down must be refused within TTL of its read; it is cached for FeedTTL")
}

// TestAttack13ClosedCacheKeepsFeedTTL: after Close no feed reports changes
// any more, but the cache still says Running and keeps each token it finds
// for FeedTTL: a server that closes its cache first and drains its requests
// after (or a host that closes and reuses it) accepts a key revoked on
// another instance for up to a minute, not TTL.
func TestAttack13ClosedCacheKeepsFeedTTL(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	tok, h := add(t, db.Store, "revoked after Close")
	clk := apitokentest.NewClock()
	const ttl = 5 * time.Second
	c := cache.New(db, cache.Options{TTL: ttl, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)
	require.NoError(t, c.Close())

	_, err := c.GetByHash(ctx, h)
	require.NoError(t, err)
	require.NoError(t, db.Store.Delete(ctx, tok.ID)) // on another instance
	clk.Add(2 * ttl)
	_, err = c.GetByHash(ctx, h)
	require.ErrorIs(t, err, apitoken.ErrNotFound, "no feed runs after Close: TTL bounds staleness again")
}

// TestAttack13HungKeyHashesDisablesFilterForGood: a read of the known keys
// that hangs (a connection that stopped answering: sqlstore's KeyHashes has
// no timeout, unlike its polls) keeps the build "in progress" for good.
// Neither the loss of the feed nor its Reset starts another build, since
// one is running, so the filter never comes back, and every change the
// feed reports meanwhile is appended to the pending list, which grows
// without bound.
func TestAttack13HungKeyHashesDisablesFilterForGood(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	add(t, db.Store, "known")
	hung := make(chan struct{})
	var calls atomic.Int64
	db.setKeyHashes(func(ctx context.Context, add func(apitoken.Hash)) error {
		if calls.Add(1) == 1 {
			close(hung)
			<-ctx.Done() // the connection hangs; only Close ends it
			return ctx.Err()
		}
		return db.Store.KeyHashes(ctx, add)
	})
	c, clk := newFeedCache(t, db)
	<-hung

	db.setBroken(true)
	require.Eventually(t, func() bool { return c.FeedStats().Lost > 0 }, 5*time.Second, time.Millisecond)
	db.setBroken(false)
	until(t, clk, func() bool { return c.FeedStats().Running }, "feed back")
	for i := range 3 { // and changes keep coming
		add(t, db.Store, fmt.Sprint("made ", i))
	}
	require.NoError(t, db.Sync(ctx))

	ok := false
	for range 200 {
		clk.Add(time.Second)
		if c.FeedStats().FilterKeys > 0 {
			ok = true
			break
		}
		require.NoError(t, db.Sync(ctx))
	}
	require.True(t, ok, "after the feed was lost and back, a new filter is built although the first read hangs")
	_, err := c.GetByHash(ctx, randomHash(t))
	require.ErrorIs(t, err, apitoken.ErrNotFound)
}
