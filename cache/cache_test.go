package cache_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apitoken.Store {
		return cache.New(memstore.New(), cache.Options{TTL: time.Minute})
	})
}

func TestStoreDisabled(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apitoken.Store {
		return cache.New(memstore.New(), cache.Options{TTL: -1})
	})
}

// TestZeroOptions: the zero Options mean the defaults, as every zero option
// does: found keys are cached for DefaultTTL.
func TestZeroOptions(t *testing.T) {
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{Clock: clk})
	_, h := add(t, s, "a")
	for range 3 {
		_, err := get(t, s, h)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, under.calls.Load(), "cached")
	clk.Add(cache.DefaultTTL)
	_, err := get(t, s, h)
	require.NoError(t, err)
	assert.EqualValues(t, 2, under.calls.Load(), "asked again after DefaultTTL")
}

// counting wraps a memstore, counting GetByHash calls. It can fail them, and
// hold the first one after reading, to simulate a slow database.
type counting struct {
	apitoken.Store
	calls atomic.Int64
	fail  atomic.Pointer[error]

	// When hold is set, the next GetByHash reads, then signals held and
	// waits for release before returning what it read.
	hold    atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func newCounting() *counting {
	return &counting{Store: memstore.New(), held: make(chan struct{}, 1), release: make(chan struct{})}
}

func (c *counting) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	c.calls.Add(1)
	if err := c.fail.Load(); err != nil {
		return nil, *err
	}
	t, err := c.Store.GetByHash(ctx, h)
	if c.hold.CompareAndSwap(true, false) {
		c.held <- struct{}{}
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err() // as a database driver does
		}
	}
	return t, err
}

func randomHash(t testing.TB) apitoken.Hash {
	t.Helper()
	var h apitoken.Hash
	_, err := rand.Read(h[:])
	require.NoError(t, err)
	return h
}

func newToken(name string) *apitoken.Token {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &apitoken.Token{ID: uuid.NewString(), Name: name, Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}
}

// add creates a token in store and returns it with its hash.
func add(t testing.TB, store apitoken.Store, name string) (*apitoken.Token, apitoken.Hash) {
	t.Helper()
	tok, h := newToken(name), randomHash(t)
	require.NoError(t, store.Create(context.Background(), tok, h))
	return tok, h
}

func get(t *testing.T, s *cache.Store, h apitoken.Hash) (*apitoken.Token, error) {
	t.Helper()
	return s.GetByHash(context.Background(), h)
}

func TestHitAndTTL(t *testing.T) {
	ctx := context.Background()
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: 5 * time.Second, Clock: clk})
	tok, h := add(t, s, "reader")

	first, err := get(t, s, h)
	require.NoError(t, err)
	again, err := get(t, s, h)
	require.NoError(t, err)
	assert.Same(t, first, again, "a hit returns the cached token")
	assert.EqualValues(t, 1, under.calls.Load())

	// Another instance changes the token behind the cache's back.
	_, err = under.Update(ctx, tok.ID, func(t *apitoken.Token) error {
		t.Description = "changed elsewhere"
		return nil
	})
	require.NoError(t, err)
	clk.Add(4*time.Second - time.Nanosecond) // an entry lives 0.8 TTL to TTL
	got, err := get(t, s, h)
	require.NoError(t, err)
	assert.Equal(t, "", got.Description, "stale within 0.8 TTL")
	clk.Add(time.Second + time.Nanosecond)
	got, err = get(t, s, h)
	require.NoError(t, err)
	assert.Equal(t, "changed elsewhere", got.Description, "fresh after TTL")
	assert.EqualValues(t, 2, under.calls.Load())

	// Deleted elsewhere: refused once the entry expires.
	require.NoError(t, under.Delete(ctx, tok.ID))
	clk.Add(5 * time.Second)
	_, err = get(t, s, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

// TestPeek checks what the Service relies on to skip its lookup timeout:
// Peek answers exactly the live entries, without asking the store.
func TestPeek(t *testing.T) {
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: 5 * time.Second, Clock: clk})
	tok, h := add(t, s, "reader")
	unknown := randomHash(t)

	_, _, ok := s.Peek(h)
	assert.False(t, ok, "nothing cached yet")
	_, err := get(t, s, h)
	require.NoError(t, err)
	_, err = get(t, s, unknown)
	require.ErrorIs(t, err, apitoken.ErrNotFound)
	calls := under.calls.Load()

	got, found, ok := s.Peek(h)
	require.True(t, ok)
	require.True(t, found)
	assert.Equal(t, tok.ID, got.ID)
	_, found, ok = s.Peek(unknown)
	assert.True(t, ok)
	assert.False(t, found)
	assert.Equal(t, calls, under.calls.Load(), "Peek never asks the store")

	clk.Add(5 * time.Second)
	_, _, ok = s.Peek(h)
	assert.False(t, ok, "expired")

	off := cache.New(under, cache.Options{TTL: -1})
	_, err = off.GetByHash(context.Background(), h)
	require.NoError(t, err)
	_, _, ok = off.Peek(h)
	assert.False(t, ok, "TTL 0 caches nothing")
}

func TestNegative(t *testing.T) {
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: time.Minute, Clock: clk})
	unknown := randomHash(t)
	for range 100 {
		_, err := get(t, s, unknown)
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	assert.EqualValues(t, 1, under.calls.Load(), "an unknown hash is asked once")
	clk.Add(cache.DefaultNegativeTTL)
	_, err := get(t, s, unknown)
	require.ErrorIs(t, err, apitoken.ErrNotFound)
	assert.EqualValues(t, 2, under.calls.Load(), "unknown entries expire after NegativeTTL")

	// Creating a token with that hash through the cache clears the entry.
	require.NoError(t, s.Create(context.Background(), newToken("late"), unknown))
	got, err := get(t, s, unknown)
	require.NoError(t, err)
	assert.Equal(t, "late", got.Name)
}

func TestNegativeDisabled(t *testing.T) {
	under := newCounting()
	s := cache.New(under, cache.Options{TTL: time.Minute, NegativeTTL: -1})
	unknown := randomHash(t)
	for range 3 {
		_, err := get(t, s, unknown)
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	assert.EqualValues(t, 3, under.calls.Load())
	_, unknowns := s.Len()
	assert.Zero(t, unknowns)
}

func TestSingleFlight(t *testing.T) {
	for _, tt := range []struct {
		name    string
		known   bool
		wantErr error
	}{
		{"found", true, nil},
		{"unknown", false, apitoken.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			under := newCounting()
			s := cache.New(under, cache.Options{TTL: time.Minute})
			h := randomHash(t)
			if tt.known {
				require.NoError(t, under.Create(context.Background(), newToken("hot"), h))
			}
			under.hold.Store(true)

			const n = 1000
			var started, done sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				started.Add(1)
				done.Add(1)
				go func() {
					defer done.Done()
					started.Done()
					_, errs[i] = s.GetByHash(context.Background(), h)
				}()
			}
			started.Wait()
			<-under.held
			time.Sleep(20 * time.Millisecond) // let the others queue behind the query
			close(under.release)
			done.Wait()
			for _, err := range errs {
				if tt.wantErr == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.wantErr)
				}
			}
			assert.EqualValues(t, 1, under.calls.Load(), "%d concurrent misses make one query", n)
		})
	}
}

func TestInvalidation(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, s *cache.Store, tok *apitoken.Token) apitoken.Hash // the hash that must now work, if any
		gone   bool                                                                  // the old hash stops working
	}{
		{"Update", func(t *testing.T, s *cache.Store, tok *apitoken.Token) apitoken.Hash {
			_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
				t.Type = apitoken.FullAccess
				return nil
			})
			require.NoError(t, err)
			return apitoken.Hash{}
		}, false},
		{"SetKey", func(t *testing.T, s *cache.Store, tok *apitoken.Token) apitoken.Hash {
			h := randomHash(t)
			// Someone tried the new key before it existed.
			_, err := s.GetByHash(ctx, h)
			require.ErrorIs(t, err, apitoken.ErrNotFound)
			require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: h, UpdatedAt: tok.UpdatedAt}))
			return h
		}, true},
		{"Delete", func(t *testing.T, s *cache.Store, tok *apitoken.Token) apitoken.Hash {
			require.NoError(t, s.Delete(ctx, tok.ID))
			return apitoken.Hash{}
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := apitokentest.NewClock() // never advances: only invalidation can refresh
			s := cache.New(memstore.New(), cache.Options{TTL: time.Hour, Clock: clk})
			tok, h := add(t, s, "changing")
			_, other := add(t, s, "bystander")
			for _, x := range []apitoken.Hash{h, other} {
				_, err := get(t, s, x)
				require.NoError(t, err)
			}

			fresh := tt.change(t, s, tok)
			got, err := get(t, s, h)
			if tt.gone {
				assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old hash is refused at once")
			} else {
				require.NoError(t, err)
				assert.Equal(t, apitoken.FullAccess, got.Type, "the change is seen at once")
			}
			if fresh != (apitoken.Hash{}) {
				got, err := get(t, s, fresh)
				require.NoError(t, err, "the new hash works at once")
				assert.Equal(t, tok.ID, got.ID)
			}
			found, _ := s.Len()
			assert.GreaterOrEqual(t, found, 1, "other tokens stay cached")
		})
	}
}

func TestInvalidationDuringQuery(t *testing.T) {
	ctx := context.Background()
	under := newCounting()
	s := cache.New(under, cache.Options{TTL: time.Hour})
	tok, h := add(t, s, "revoked")

	// A query reads the token, then the token is deleted before the query
	// returns: its stale answer must not be cached, and later misses must
	// not wait for it.
	under.hold.Store(true)
	staleDone := make(chan error)
	go func() {
		_, err := s.GetByHash(ctx, h)
		staleDone <- err
	}()
	<-under.held
	require.NoError(t, s.Delete(ctx, tok.ID))
	_, err := get(t, s, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "a miss after the delete does not join the earlier query")
	close(under.release)
	assert.NoError(t, <-staleDone, "the earlier query answers its own caller")
	_, err = get(t, s, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the earlier query's answer was not cached")
}

func TestStoreErrorNotCached(t *testing.T) {
	under := newCounting()
	s := cache.New(under, cache.Options{TTL: time.Minute})
	_, h := add(t, s, "reader")
	down := errors.New("connection refused")
	under.fail.Store(&down)
	for i := range 3 {
		_, err := get(t, s, h)
		require.ErrorIs(t, err, down)
		assert.EqualValues(t, i+1, under.calls.Load(), "each call reaches the store")
	}
	found, unknown := s.Len()
	assert.Zero(t, found+unknown)

	under.fail.Store(nil)
	_, err := get(t, s, h)
	require.NoError(t, err, "the store is back")
}

func TestCancelledLeader(t *testing.T) {
	under := newCounting()
	s := cache.New(under, cache.Options{TTL: time.Minute})
	_, h := add(t, s, "reader")
	under.hold.Store(true)

	leaderCtx, cancel := context.WithCancel(context.Background())
	leader := make(chan error)
	go func() {
		_, err := s.GetByHash(leaderCtx, h)
		leader <- err
	}()
	<-under.held
	follower := make(chan error)
	go func() {
		_, err := s.GetByHash(context.Background(), h)
		follower <- err
	}()
	cancel()
	assert.ErrorIs(t, <-leader, context.Canceled)
	close(under.release)
	assert.NoError(t, <-follower, "a waiter whose context is alive does not inherit the leader's cancellation")
}

func TestBounds(t *testing.T) {
	const maxFound, maxUnknown = 100, 10
	s := cache.New(memstore.New(), cache.Options{TTL: time.Minute, MaxEntries: maxFound, MaxNegative: maxUnknown, NoFilter: true})
	var hashes []apitoken.Hash
	for i := range 1000 {
		_, h := add(t, s, uuid.NewString())
		hashes = append(hashes, h)
		_, err := get(t, s, h)
		require.NoError(t, err, i)
		_, err = get(t, s, randomHash(t))
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	found, unknown := s.Len()
	assert.LessOrEqual(t, found, maxFound)
	assert.LessOrEqual(t, unknown, maxUnknown)
	assert.Positive(t, found)
	assert.Positive(t, unknown)
	for _, h := range hashes {
		_, err := get(t, s, h)
		require.NoError(t, err, "evicted tokens are asked again")
	}
}

func TestDisabled(t *testing.T) {
	under := newCounting()
	s := cache.New(under, cache.Options{TTL: -1})
	_, h := add(t, s, "reader")
	for range 3 {
		_, err := get(t, s, h)
		require.NoError(t, err)
		_, err = get(t, s, randomHash(t))
		require.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	assert.EqualValues(t, 6, under.calls.Load(), "TTL 0 passes every call through")
	found, unknown := s.Len()
	assert.Zero(t, found+unknown)
}
