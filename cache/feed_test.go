package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// shared is one memstore, the database that several instances share, whose
// feed can be broken, and which counts lookups. Each instance's cache sees
// it through its own view, as each server has its own connection.
type shared struct {
	*memstore.Store
	lookups atomic.Int64
	syncs   atomic.Int64

	// keyHashes, when set, replaces KeyHashes.
	keyHashes atomic.Pointer[func(context.Context, func(apitoken.Hash)) error]
	// missing drops the changes the feed would report, as a feed that
	// misses some does; resetNext then makes its next report a Reset,
	// as such a feed's would be.
	missing, resetNext atomic.Bool

	mu      sync.Mutex
	broken  bool
	cancels []context.CancelFunc // of the watches running
}

func newShared() *shared { return &shared{Store: memstore.New()} }

var errFeedDown = errors.New("feed connection lost")

func (s *shared) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	s.lookups.Add(1)
	return s.Store.GetByHash(ctx, h)
}

// WatchChanges fails while the feed is broken: at once, or when it breaks.
func (s *shared) WatchChanges(ctx context.Context, changed func(apitoken.Change)) error {
	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		return errFeedDown
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s.cancels = append(s.cancels, func() { cancel(errFeedDown) })
	s.mu.Unlock()
	err := s.Store.WatchChanges(ctx, func(c apitoken.Change) {
		switch {
		case c.Reset:
		case s.missing.Load():
			return
		case s.resetNext.Swap(false):
			changed(apitoken.Change{Reset: true})
		}
		changed(c)
	})
	if errors.Is(context.Cause(ctx), errFeedDown) {
		return errFeedDown
	}
	return err
}

func (s *shared) Sync(ctx context.Context) error {
	s.syncs.Add(1)
	return s.Store.Sync(ctx)
}

func (s *shared) KeyHashes(ctx context.Context, add func(apitoken.Hash)) error {
	if f := s.keyHashes.Load(); f != nil {
		return (*f)(ctx, add)
	}
	return s.Store.KeyHashes(ctx, add)
}

// setKeyHashes makes KeyHashes call f, or the store's own for nil.
func (s *shared) setKeyHashes(f func(context.Context, func(apitoken.Hash)) error) {
	if f == nil {
		s.keyHashes.Store(nil)
		return
	}
	s.keyHashes.Store(&f)
}

// setBroken breaks the feed, ending the watches, or mends it.
func (s *shared) setBroken(broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = broken
	if broken {
		for _, cancel := range s.cancels {
			cancel()
		}
		s.cancels = nil
	}
}

// instance is one server: a Service on a cache of the shared store.
func instance(t *testing.T, db *shared, opts cache.Options) (*apitoken.Service, *cache.Store) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := cache.New(db, opts)
	t.Cleanup(func() { c.Close() })
	require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)
	return apitokentest.New(t, apitoken.Config{Store: c, AnyAction: true}), c
}

// TestFeedAppliesChangesMadeElsewhere: a token deleted, downgraded or
// regenerated through one instance, or by a script on the database, is
// refused by the others as soon as the feed has delivered the change, long
// before any TTL.
func TestFeedAppliesChangesMadeElsewhere(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	a, _ := instance(t, db, cache.Options{})
	b, bc := instance(t, db, cache.Options{})

	tok, key, err := a.Create(ctx, apitoken.CreateParams{Name: "ci", Type: apitoken.FullAccess})
	require.NoError(t, err)
	require.NoError(t, db.Sync(ctx))
	got, err := b.Verify(ctx, key)
	require.NoError(t, err, "created on A, works on B at once")
	require.Equal(t, apitoken.FullAccess, got.Type)
	lookups := db.lookups.Load()
	_, err = b.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, lookups, db.lookups.Load(), "cached on B")

	ro := apitoken.ReadOnly
	_, err = a.Update(ctx, tok.ID, apitoken.UpdateParams{Type: &ro})
	require.NoError(t, err)
	require.NoError(t, db.Sync(ctx))
	got, err = b.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, got.Type, "downgraded on A, read-only on B")

	_, key2, err := a.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	require.NoError(t, db.Sync(ctx))
	_, err = b.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "regenerated on A, old key refused on B")
	_, err = b.Verify(ctx, key2)
	require.NoError(t, err)

	// A script changes the database, bypassing every instance.
	require.NoError(t, db.Store.Delete(ctx, tok.ID))
	require.NoError(t, db.Sync(ctx))
	_, err = b.Verify(ctx, key2)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "deleted behind every cache")
	assert.True(t, bc.FeedStats().Running)
}

// TestFeedTTL: while the feed runs, found tokens are kept for FeedTTL; when
// it is lost, every entry lives for TTL at most, the loss is counted, and
// the feed is watched again by itself.
func TestFeedTTL(t *testing.T) {
	ctx := context.Background()
	clk, db := apitokentest.NewClock(), newShared()
	c := cache.New(db, cache.Options{TTL: 5 * time.Second, FeedTTL: time.Minute, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { c.Close() })
	require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)
	_, h := add(t, c, "reader")

	_, err := c.GetByHash(ctx, h)
	require.NoError(t, err)
	n := db.lookups.Load()
	clk.Add(30 * time.Second)
	_, err = c.GetByHash(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, n, db.lookups.Load(), "kept past TTL while the feed runs")

	db.setBroken(true)
	require.Eventually(t, func() bool { return c.FeedStats().Lost > 0 }, 5*time.Second, time.Millisecond)
	assert.False(t, c.FeedStats().Running)
	assert.Zero(t, c.FeedStats().FilterBytes, "no filter without the feed: it would not learn of new keys")
	clk.Add(5 * time.Second)
	_, err = c.GetByHash(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, n+1, db.lookups.Load(), "expired after TTL once the feed was lost")

	db.setBroken(false)
	require.Eventually(t, func() bool {
		clk.Add(time.Second) // ends the wait before watching again
		return c.FeedStats().Running
	}, 5*time.Second, time.Millisecond, "watched again by itself")
}

// TestFilter: with the feed running, made-up keys are refused without a
// store query, while keys created on another instance or by a script work
// at once.
func TestFilter(t *testing.T) {
	ctx := context.Background()
	db := newShared()
	a, _ := instance(t, db, cache.Options{})
	b, bc := instance(t, db, cache.Options{})
	for i := range 100 {
		_, h := add(t, db.Store, "existing-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		_ = h
	}
	require.Eventually(t, func() bool { return bc.FeedStats().FilterKeys > 0 }, 5*time.Second, time.Millisecond)
	st := bc.FeedStats()
	assert.LessOrEqual(t, st.FilterBytes, 2*st.FilterKeys, "at most 2 bytes a key")

	before := db.lookups.Load()
	const forged = 2000
	for range forged {
		_, err := bc.GetByHash(ctx, randomHash(t))
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	queries := db.lookups.Load() - before
	assert.LessOrEqual(t, queries, int64(forged/200), "about one false positive in 2,000 reaches the store")
	assert.GreaterOrEqual(t, bc.FeedStats().Filtered, uint64(forged-forged/200))

	// Made on A, used on B straight away: B's filter learns of it first.
	_, key, err := a.Create(ctx, apitoken.CreateParams{Name: "new"})
	require.NoError(t, err)
	_, err = b.Verify(ctx, key)
	require.NoError(t, err, "a key created on another instance works here at once")

	// Made by a script on the database.
	tok, h := add(t, db.Store, "scripted")
	got, err := bc.GetByHash(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
}
