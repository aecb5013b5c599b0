package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
)

// TestReviewStaleAfterNotFoundNegativeDisabled: with negative entries off
// (NegativeTTL < 0, a documented setting), a store NotFound does not drop the
// expired found entry, so a key the store said was unknown (deleted on
// another instance) is served as found once the store fails.
// SECURITY.md: "A key the store said was unknown is never accepted this way".
func TestReviewStaleAfterNotFoundNegativeDisabled(t *testing.T) {
	s, under, h := revokedElsewhere(t, cache.Options{NegativeTTL: -1})
	_, err := get(t, s, h)
	require.ErrorIs(t, err, apitoken.ErrNotFound, "the store said: unknown")

	assertNotStale(t, s, under, h)
}

// TestReviewStaleAfterNotFoundDuringUnrelatedInvalidation: same hole with
// the default NegativeTTL. A query whose store answer is NotFound skips the
// negative fill (and with it the drop of the expired found entry) when ANY
// invalidation, even of an unrelated token, happened while it ran. The
// expired found entry stays and is served stale at the next store error.
func TestReviewStaleAfterNotFoundDuringUnrelatedInvalidation(t *testing.T) {
	ctx := context.Background()
	s, under, h := revokedElsewhere(t, cache.Options{})
	other, _ := add(t, s, "unrelated")

	under.hold.Store(true)
	errc := make(chan error, 1)
	go func() { _, err := s.GetByHash(ctx, h); errc <- err }()
	<-under.held // the store has answered NotFound; the answer is in flight
	_, err := s.Update(ctx, other.ID, func(t *apitoken.Token) error { t.Description = "x"; return nil })
	require.NoError(t, err)
	close(under.release)
	require.ErrorIs(t, <-errc, apitoken.ErrNotFound, "the store said: unknown")

	assertNotStale(t, s, under, h)
}

// TestReviewCancelledLeaderServesStaleToWaiters: the store is healthy, but
// the leader's request is cancelled while its query runs. The context error
// counts as a store error, so the expired entry is served stale, with a nil
// error, to the cancelled leader AND to every waiter, which would otherwise
// have retried and got NotFound from the healthy store. A client that
// disconnects makes a revoked (elsewhere) key work for concurrent requests
// with no outage at all.
func TestReviewCancelledLeaderServesStaleToWaiters(t *testing.T) {
	ctx := context.Background()
	s, under, h := revokedElsewhere(t, cache.Options{})

	under.hold.Store(true)
	lctx, cancel := context.WithCancel(ctx)
	type res struct {
		t   *apitoken.Token
		err error
	}
	leader, waiter := make(chan res, 1), make(chan res, 1)
	go func() { t, err := s.GetByHash(lctx, h); leader <- res{t, err} }()
	<-under.held
	go func() { t, err := s.GetByHash(ctx, h); waiter <- res{t, err} }()
	time.Sleep(100 * time.Millisecond) // let the waiter join the call
	cancel()
	l, w := <-leader, <-waiter
	assert.Nil(t, l.t, "cancelled leader answered with a stale token")
	assert.Error(t, l.err, "cancelled leader got no error")
	assert.Nil(t, w.t, "waiter got a token revoked elsewhere while the store is healthy")
	assert.ErrorIs(t, w.err, apitoken.ErrNotFound, "waiter should have asked the healthy store")
	assert.EqualValues(t, 0, s.StaleServed(), "stale served with no store failure")
}

// TestReviewCancelledRequestServedStale: a request whose own context is
// cancelled (store healthy) gets the stale token and a nil error.
func TestReviewCancelledRequestServedStale(t *testing.T) {
	const ttl, window = 5 * time.Second, 30 * time.Second
	ctx := context.Background()
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: ttl, StaleIfError: window, Clock: clk})
	_, h := add(t, s, "reader")
	_, err := get(t, s, h)
	require.NoError(t, err)
	clk.Add(ttl)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// memstore ignores ctx; a driver returns ctx.Err(): simulate it.
	canceled := context.Canceled
	under.fail.Store(&canceled)
	got, err := s.GetByHash(cctx, h)
	assert.Error(t, err, "a cancelled request is not an outage")
	assert.Nil(t, got)
	assert.EqualValues(t, 0, s.StaleServed())
}

// TestReviewTTLMeasuredFromFillNotRead: the store read the token, then its
// answer was held (slow network/driver). The token is revoked elsewhere
// right after the read. The entry is cached for TTL from when the answer
// arrived, so the revoked key is accepted far longer than TTL after the
// revocation (here: 1 minute + TTL).
func TestReviewTTLMeasuredFromFillNotRead(t *testing.T) {
	const ttl = 5 * time.Second
	ctx := context.Background()
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: ttl, Clock: clk})
	tok, h := add(t, s, "revoked elsewhere")

	under.hold.Store(true)
	errc := make(chan error, 1)
	go func() { _, err := s.GetByHash(ctx, h); errc <- err }()
	<-under.held
	require.NoError(t, under.Delete(ctx, tok.ID)) // another instance, just after the read
	clk.Add(time.Minute)                          // the answer is slow to arrive
	close(under.release)
	require.NoError(t, <-errc)

	clk.Add(time.Second)
	got, err := get(t, s, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "accepted %v after the revocation (TTL %v)", time.Minute+time.Second, ttl)
	assert.Nil(t, got)
}

// TestReviewHugeTTL: huge TTL/NegativeTTL values must not overflow the
// expiry into the past (which silently disables caching) or panic.
func TestReviewHugeTTL(t *testing.T) {
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: 1<<63 - 1, NegativeTTL: 1<<63 - 1, Clock: clk})
	_, h := add(t, s, "reader")
	clk.Add(time.Second)
	_, err := get(t, s, h)
	require.NoError(t, err)
	_, err = get(t, s, h)
	require.NoError(t, err)
	assert.EqualValues(t, 1, under.calls.Load(), "second lookup should be a hit")
	u := randomHash(t)
	get(t, s, u)
	get(t, s, u)
	assert.EqualValues(t, 2, under.calls.Load(), "unknown should be a negative hit")
}

// revokedElsewhere returns a cache with opts, a TTL of 5 s and a
// StaleIfError of 30 s, over a counting memstore, and the hash of a token it
// cached, which has since been deleted behind its back (as by another
// instance) and whose entry has just expired.
func revokedElsewhere(t *testing.T, opts cache.Options) (*cache.Store, *counting, apitoken.Hash) {
	t.Helper()
	clk, under := apitokentest.NewClock(), newCounting()
	opts.TTL, opts.StaleIfError, opts.Clock = 5*time.Second, 30*time.Second, clk
	s := cache.New(under, opts)
	tok, h := add(t, s, "deleted elsewhere")
	_, err := get(t, s, h)
	require.NoError(t, err)
	require.NoError(t, under.Delete(context.Background(), tok.ID))
	clk.Add(opts.TTL)
	return s, under, h
}

// assertNotStale takes the store down and checks that the cache does not
// serve h, which the store said was unknown, as found.
func assertNotStale(t *testing.T, s *cache.Store, under *counting, h apitoken.Hash) {
	t.Helper()
	down := errors.New("connection refused")
	under.fail.Store(&down)
	got, err := get(t, s, h)
	assert.ErrorIs(t, err, down, "a key the store just said was unknown must not be served stale")
	assert.Nil(t, got, "revoked token resurrected by StaleIfError")
	assert.EqualValues(t, 0, s.StaleServed())
}
