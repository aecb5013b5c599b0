package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/internal/testenv"
)

// TestExpiryJitter fills 50 entries at one instant, as a start or the end of
// an outage does, and checks that they do not all expire, and go to the
// store, at the same instant: each lives between 0.8 TTL and TTL.
func TestExpiryJitter(t *testing.T) {
	const ttl, keys = 10 * time.Second, 50
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: ttl, Clock: clk})
	var hashes []apitoken.Hash
	for i := range keys {
		_, h := add(t, under, fmt.Sprint("t", i))
		hashes = append(hashes, h)
		_, err := get(t, s, h)
		require.NoError(t, err)
	}
	// refills reads every key and returns how many went to the store.
	refills := func() int {
		before := under.calls.Load()
		for _, h := range hashes {
			_, err := get(t, s, h)
			require.NoError(t, err)
		}
		return int(under.calls.Load() - before)
	}

	clk.Add(ttl*8/10 - time.Nanosecond)
	assert.Zero(t, refills(), "every entry lives at least 0.8 TTL")
	clk.Add(time.Nanosecond)
	total, largest := 0, 0
	for i := range 5 { // 0.8, 0.85, 0.9, 0.95 and 1.0 TTL
		if i > 0 {
			clk.Add(ttl / 20)
		}
		n := refills()
		total, largest = total+n, max(largest, n)
	}
	assert.Equal(t, keys, total, "every entry lives at most TTL")
	// Uniform over the last fifth: about 12 a step; all in one step has
	// odds of about 4^-49.
	assert.Less(t, largest, keys, "all entries expired in the same step")
}

// TestStaleIfError checks the outage window: a found entry past its TTL
// is served while the store fails, for at most StaleIfError; an unknown key,
// an invalidated entry, or a store that answers, is never served stale.
func TestStaleIfError(t *testing.T) {
	const ttl, window = 5 * time.Second, 30 * time.Second
	ctx := context.Background()
	clk, under := apitokentest.NewClock(), newCounting()
	logs := &testenv.Buffer{}
	s := cache.New(under, cache.Options{TTL: ttl, StaleIfError: window, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	tok, h := add(t, s, "reader")
	deleted, hDeleted := add(t, s, "deleted")
	regenerated, hRegenerated := add(t, s, "regenerated")
	gone, hGone := add(t, s, "deleted elsewhere")
	unknown := randomHash(t)
	for _, h := range []apitoken.Hash{h, hDeleted, hRegenerated, hGone} {
		_, err := get(t, s, h)
		require.NoError(t, err)
	}
	_, err := get(t, s, unknown)
	require.ErrorIs(t, err, apitoken.ErrNotFound)

	// Changes through this cache apply at once, outage or not.
	require.NoError(t, s.Delete(ctx, deleted.ID))
	require.NoError(t, s.SetKey(ctx, regenerated.ID, apitoken.NewKey{Hash: randomHash(t)}))
	// A deletion elsewhere, seen once the entry expires: unknown, never
	// stale-found, even if the store then fails.
	require.NoError(t, under.Delete(ctx, gone.ID))
	clk.Add(ttl)
	_, err = get(t, s, hGone)
	require.ErrorIs(t, err, apitoken.ErrNotFound)

	down := errors.New("connection refused")
	under.fail.Store(&down)
	got, err := get(t, s, h)
	require.NoError(t, err, "served stale while the store fails")
	assert.Equal(t, tok.ID, got.ID)
	assert.EqualValues(t, 1, s.StaleServed())
	assert.Contains(t, logs.String(), "stale")
	assert.Contains(t, logs.String(), "connection refused")
	for name, h := range map[string]apitoken.Hash{"deleted here": hDeleted, "regenerated here": hRegenerated} {
		_, err := get(t, s, h)
		assert.ErrorIs(t, err, down, name)
	}
	_, err = get(t, s, hGone)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "deleted elsewhere: remembered as unknown")
	clk.Add(cache.DefaultNegativeTTL)
	for name, h := range map[string]apitoken.Hash{"deleted elsewhere": hGone, "unknown": unknown} {
		_, err := get(t, s, h)
		assert.ErrorIs(t, err, down, name)
	}

	clk.Add(window) // past TTL + StaleIfError since the fill
	_, err = get(t, s, h)
	assert.ErrorIs(t, err, down, "the window is bounded")
	assert.EqualValues(t, 1, s.StaleServed())

	under.fail.Store(nil)
	got, err = get(t, s, h)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
}

// TestStaleIfErrorOff checks that without the option a store error after
// the TTL is returned as it is.
func TestStaleIfErrorOff(t *testing.T) {
	clk, under := apitokentest.NewClock(), newCounting()
	s := cache.New(under, cache.Options{TTL: time.Second, Clock: clk})
	_, h := add(t, s, "reader")
	_, err := get(t, s, h)
	require.NoError(t, err)
	clk.Add(time.Second)
	down := errors.New("connection refused")
	under.fail.Store(&down)
	_, err = get(t, s, h)
	assert.ErrorIs(t, err, down)
	assert.Zero(t, s.StaleServed())
}
