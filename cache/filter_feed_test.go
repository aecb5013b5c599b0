package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
)

// newFeedCache returns a cache of db on a fake clock whose feed runs.
func newFeedCache(t *testing.T, db *shared) (*cache.Store, *apitokentest.Clock) {
	t.Helper()
	clk := apitokentest.NewClock()
	c := cache.New(db, cache.Options{Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { c.Close() })
	require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)
	return c, clk
}

// until advances clk until cond holds, for what waits on it to retry.
func until(t *testing.T, clk *apitokentest.Clock, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		clk.Add(time.Second)
		return cond()
	}, 5*time.Second, time.Millisecond, msg)
}

// snapshotThenHold returns a KeyHashes that, the first time, reads the
// store at once, then waits for release (or its context) before reporting
// what it read: a read that straddles whatever the test does meanwhile.
// held is closed when it has read; returned when it has returned. Later
// calls read the store.
func snapshotThenHold(db *shared) (f func(context.Context, func(apitoken.Hash)) error, held, release, returned chan struct{}) {
	held, release, returned = make(chan struct{}), make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	f = func(ctx context.Context, add func(apitoken.Hash)) error {
		if calls.Add(1) > 1 {
			return db.Store.KeyHashes(ctx, add)
		}
		defer close(returned)
		var hs []apitoken.Hash
		if err := db.Store.KeyHashes(ctx, func(h apitoken.Hash) { hs = append(hs, h) }); err != nil {
			return err
		}
		close(held)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, h := range hs {
			add(h)
		}
		return nil
	}
	return f, held, release, returned
}

// TestFilterBuildStraddlingLoss: a filter whose read of the known keys
// began before the feed was lost lacks keys made while it was down; it must
// not be put in service when the feed is back, and a new one is built.
func TestFilterBuildStraddlingLoss(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	add(t, db.Store, "before")
	hold, held, release, _ := snapshotThenHold(db)
	db.setKeyHashes(hold)
	c, clk := newFeedCache(t, db)
	<-held

	db.setBroken(true)
	require.Eventually(t, func() bool { return c.FeedStats().Lost > 0 }, 5*time.Second, time.Millisecond)
	_, made := add(t, db.Store, "made while the feed was down")
	db.setBroken(false)
	until(t, clk, func() bool { return c.FeedStats().Running }, "feed back")

	db.setKeyHashes(nil)
	close(release)
	until(t, clk, func() bool { return c.FeedStats().FilterKeys > 0 }, "a filter in service")
	_, err := c.GetByHash(ctx, made)
	require.NoError(t, err, "a key made while the feed was down works once it is back")
}

// TestFilterAfterReset: a Reset while the feed runs says changes were
// missed, so the filter in service may lack keys: it stops refusing at
// once, not when a new one is built, and the new one is retried until
// the known keys can be read.
func TestFilterAfterReset(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	add(t, db.Store, "before")
	c, clk := newFeedCache(t, db)
	require.Eventually(t, func() bool { return c.FeedStats().FilterKeys > 0 }, 5*time.Second, time.Millisecond)

	db.missing.Store(true)
	_, missed := add(t, db.Store, "missed by the feed")
	require.NoError(t, db.Sync(ctx))
	errDown := errors.New("database down")
	db.setKeyHashes(func(context.Context, func(apitoken.Hash)) error { return errDown })
	db.missing.Store(false)
	db.resetNext.Store(true)
	add(t, db.Store, "reported after a Reset")
	require.NoError(t, db.Sync(ctx))

	assert.Zero(t, c.FeedStats().FilterKeys, "no filter while the known keys cannot be read")
	_, err := c.GetByHash(ctx, missed)
	require.NoError(t, err, "a key the feed missed works after its Reset")

	db.setKeyHashes(nil)
	until(t, clk, func() bool { return c.FeedStats().FilterKeys > 0 }, "the known keys are read again by themselves")
	filtered := c.FeedStats().Filtered
	_, err = c.GetByHash(ctx, randomHash(t))
	require.ErrorIs(t, err, apitoken.ErrNotFound)
	assert.Equal(t, filtered+1, c.FeedStats().Filtered, "and the filter refuses made-up keys again")
}

// TestFilterRefusalRemembered: a made-up key the filter refused is
// remembered as unknown for NegativeTTL, so that its repeats cost no Sync.
func TestFilterRefusalRemembered(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	add(t, db.Store, "known")
	c, clk := newFeedCache(t, db)
	require.Eventually(t, func() bool { return c.FeedStats().FilterKeys > 0 }, 5*time.Second, time.Millisecond)

	forged := randomHash(t)
	syncs := db.syncs.Load()
	for range 10 {
		_, err := c.GetByHash(ctx, forged)
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	assert.Equal(t, syncs+1, db.syncs.Load(), "one Sync for ten tries of one key")
	assert.Zero(t, db.lookups.Load(), "and no lookup")

	clk.Add(cache.DefaultNegativeTTL)
	_, err := c.GetByHash(ctx, forged)
	require.ErrorIs(t, err, apitoken.ErrNotFound)
	assert.Equal(t, syncs+2, db.syncs.Load(), "remembered for NegativeTTL")

	// A key made at once after its refusal is not refused from memory.
	tok, h := newToken("made after a refusal"), randomHash(t)
	_, err = c.GetByHash(ctx, h)
	require.ErrorIs(t, err, apitoken.ErrNotFound)
	require.NoError(t, db.Store.Create(ctx, tok, h))
	require.NoError(t, db.Sync(ctx))
	_, err = c.GetByHash(ctx, h)
	require.NoError(t, err, "the feed's report of it drops the refusal")
}

// TestCloseWaitsForFilterBuild: Close returns only once the filter's
// reading of the known keys has stopped.
func TestCloseWaitsForFilterBuild(t *testing.T) {
	db := newShared()
	hold, held, _, returned := snapshotThenHold(db)
	db.setKeyHashes(hold)
	c, _ := newFeedCache(t, db)
	<-held
	require.NoError(t, c.Close())
	select {
	case <-returned:
	default:
		t.Fatal("Close returned while KeyHashes was still running")
	}
}
