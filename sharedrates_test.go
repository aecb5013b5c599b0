package apitoken_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// countedRates is a memstore's RateCounter that counts its takes and fails
// them while down is set, as a database that is down would.
type countedRates struct {
	*memstore.Store
	down  atomic.Bool
	takes atomic.Int64
}

func (c *countedRates) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (int, int, error) {
	c.takes.Add(1)
	if c.down.Load() {
		return 0, 0, errors.New("connection refused")
	}
	return c.Store.TakeRate(ctx, id, start, window, limit, n)
}

// sharedRig is instances (Services, each behind its own HTTP server) that
// share one store and count rates in it, on one fake clock.
type sharedRig struct {
	clk   *apitokentest.Clock
	rates *countedRates // nil: counted in memory, each Service alone
	svcs  []*apitoken.Service
	urls  []string
}

func newSharedRig(t *testing.T, instances int) *sharedRig {
	t.Helper()
	return newRig(t, instances, true)
}

// newRig is newSharedRig, or without shared (Config.SharedRates unset) one
// or more Services that each count rates alone, in memory.
func newRig(t *testing.T, instances int, shared bool) *sharedRig {
	t.Helper()
	store := memstore.New()
	r := &sharedRig{clk: apitokentest.NewClock()} // 03:04:05
	cfg := apitoken.Config{Store: store, Salt: testSalt, Clock: r.clk, Logger: discard(), AnyAction: true}
	if shared {
		r.rates = &countedRates{Store: store}
		cfg.SharedRates = r.rates
	}
	for range instances {
		svc := apitokentest.New(t, cfg)
		srv := httptest.NewServer(svc.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "ok")
		})))
		t.Cleanup(srv.Close)
		r.svcs = append(r.svcs, svc)
		r.urls = append(r.urls, srv.URL)
	}
	return r
}

// limited creates a token limited to requests a minute.
func (r *sharedRig) limited(t *testing.T, requests int) string {
	t.Helper()
	_, key := mustCreate(t, r.svcs[0], apitoken.CreateParams{Name: fmt.Sprint("limited ", requests),
		PolicyParams: apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: requests, Window: apitoken.Duration(time.Minute)}}})
	return key
}

// get requests instance i's API with key, and returns the response with
// its body read.
func (r *sharedRig) get(t *testing.T, i int, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.urls[i], nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

// burst makes requests concurrent requests with key, spread over the
// instances, and returns how many got each status; every refusal must say
// when to come back.
func (r *sharedRig) burst(t *testing.T, key string, requests int, retryAfter string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	const workers = 20
	for w := range workers {
		wg.Go(func() {
			for i := w; i < requests; i += workers {
				res := r.get(t, i%len(r.urls), key)
				mu.Lock()
				got[res.StatusCode]++
				mu.Unlock()
				if res.StatusCode == http.StatusTooManyRequests {
					assert.Equal(t, retryAfter, res.Header.Get("Retry-After"))
					assert.Equal(t, `"token";r=0;t=`+retryAfter, res.Header.Get("RateLimit"))
				}
				assert.Equal(t, `"token";q=100;w=60`, res.Header.Get("RateLimit-Policy"))
			}
		})
	}
	wg.Wait()
	return got
}

// eachCounter runs test with a rig of instances Services sharing a
// counter (Config.SharedRates), and with one Service counting in memory:
// rate limits behave the same whichever counts them.
func eachCounter(t *testing.T, instances int, test func(t *testing.T, r *sharedRig)) {
	t.Run("in-process", func(t *testing.T) { test(t, newRig(t, 1, false)) })
	t.Run("shared", func(t *testing.T) { test(t, newRig(t, instances, true)) })
}

// TestSharedRateLimit: two instances sharing a counter, or one counting
// in memory, let exactly the limit through in each clock-aligned window,
// whichever instance is asked, and refuse the rest with 429 and
// Retry-After; instances sharing a counter ask it once per batch, not per
// request.
func TestSharedRateLimit(t *testing.T) {
	eachCounter(t, 2, func(t *testing.T, r *sharedRig) {
		key := r.limited(t, 100)

		got := r.burst(t, key, 300, "55") // the window is 03:04:00 to 03:05:00
		assert.Equal(t, map[int]int{http.StatusOK: 100, http.StatusTooManyRequests: 200}, got)
		var takes int64
		if r.rates != nil {
			takes = r.rates.takes.Load()
			assert.LessOrEqual(t, takes, int64(60), "takes for 300 requests")
			t.Logf("300 requests (100 admitted) on two instances: %d takes", takes)
		}

		r.clk.Add(54 * time.Second)
		for i := range r.urls {
			assert.Equal(t, http.StatusTooManyRequests, r.get(t, i, key).StatusCode, "still the same window")
		}
		if r.rates != nil {
			assert.Equal(t, takes, r.rates.takes.Load(), "a full window costs no more takes")
		}

		r.clk.Add(time.Second)
		got = r.burst(t, key, 150, "60")
		assert.Equal(t, map[int]int{http.StatusOK: 100, http.StatusTooManyRequests: 50}, got, "the next window")
	})
}

// TestSharedRateHeaders: one instance alone counts down exactly, with a
// shared counter or in memory, and the headers and Retry-After follow the
// clock-aligned window, not the token's first request.
func TestSharedRateHeaders(t *testing.T) {
	eachCounter(t, 1, testRateHeaders)
}

func testRateHeaders(t *testing.T, r *sharedRig) {
	_, key := mustCreate(t, r.svcs[0], apitoken.CreateParams{Name: "three",
		PolicyParams: apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 3, Window: apitoken.Duration(10 * time.Second)}}})
	for left := 2; left >= 0; left-- {
		res := r.get(t, 0, key)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, `"token";q=3;w=10`, res.Header.Get("RateLimit-Policy"))
		assert.Equal(t, fmt.Sprintf(`"token";r=%d;t=5`, left), res.Header.Get("RateLimit"), "03:04:05 is in 03:04:00–03:04:10")
		assert.Empty(t, res.Header.Values("Retry-After"))
	}
	r.clk.Add(2 * time.Second)
	res := r.get(t, 0, key)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "3", res.Header.Get("Retry-After"))
	r.clk.Add(3 * time.Second)
	res = r.get(t, 0, key)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the next window")
	assert.Equal(t, `"token";r=2;t=10`, res.Header.Get("RateLimit"))

	// Verify counts in the same windows.
	for range 2 {
		_, err := r.svcs[0].Verify(context.Background(), key)
		require.NoError(t, err)
	}
	_, err := r.svcs[0].Verify(context.Background(), key)
	var le *apitoken.LimitError
	require.ErrorAs(t, err, &le)
	assert.ErrorIs(t, err, apitoken.ErrRateLimited)
	assert.Equal(t, 10*time.Second, le.RetryAfter)
}

// TestSharedRateUnavailable: while the counter fails, rate-limited tokens
// get 503 once their lease is spent, never unlimited access; tokens
// without a rate limit never ask it.
func TestSharedRateUnavailable(t *testing.T) {
	r := newSharedRig(t, 1)
	key := r.limited(t, 100)
	_, plain := mustCreate(t, r.svcs[0], apitoken.CreateParams{Name: "plain"})

	require.Equal(t, http.StatusOK, r.get(t, 0, key).StatusCode)
	require.Equal(t, int64(1), r.rates.takes.Load())
	r.rates.down.Store(true)
	for i := range 10 {
		assert.Equal(t, http.StatusOK, r.get(t, 0, key).StatusCode, "request %d: the lease of 11 was granted before", i+2)
	}
	for range 3 {
		res := r.get(t, 0, key)
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "the counter is down: fail closed")
		assert.Empty(t, res.Header.Values("RateLimit"))
	}
	_, err := r.svcs[0].Verify(context.Background(), key)
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)

	takes := r.rates.takes.Load()
	for range 3 {
		assert.Equal(t, http.StatusOK, r.get(t, 0, plain).StatusCode)
	}
	assert.Equal(t, takes, r.rates.takes.Load(), "no rate limit, no take")

	r.rates.down.Store(false)
	assert.Equal(t, http.StatusOK, r.get(t, 0, key).StatusCode, "back up")
}

// blockingRates is a RateCounter whose takes wait for release.
type blockingRates struct {
	*memstore.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockingRates) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (int, int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.TakeRate(ctx, id, start, window, limit, n)
}

// TestSharedRateWaitCancelled: a request waiting for another's take of the
// same token gives up with its context, as unavailable, and takes nothing.
func TestSharedRateWaitCancelled(t *testing.T) {
	store := memstore.New()
	br := &blockingRates{Store: store, entered: make(chan struct{}), release: make(chan struct{})}
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: testSalt, Logger: discard(), SharedRates: br})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "slow",
		PolicyParams: apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}}})
	first := make(chan error, 1)
	go func() {
		_, err := svc.Verify(context.Background(), key)
		first <- err
	}()
	<-br.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := svc.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	close(br.release)
	require.NoError(t, <-first)
}

// TestSharedRateLimitChanged: a token whose limit changes starts a new
// lease; the window's count carries over, in memory as in a shared
// counter.
func TestSharedRateLimitChanged(t *testing.T) {
	eachCounter(t, 2, testRateLimitChanged)
}

func testRateLimitChanged(t *testing.T, r *sharedRig) {
	ctx := context.Background()
	tok, key := mustCreate(t, r.svcs[0], apitoken.CreateParams{Name: "changing",
		PolicyParams: apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 5, Window: apitoken.Duration(time.Minute)}}})
	for range 4 {
		require.Equal(t, http.StatusOK, r.get(t, 0, key).StatusCode)
	}
	_, err := r.svcs[0].Update(ctx, tok.ID, apitoken.UpdateParams{PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 6, Window: apitoken.Duration(time.Minute)}}})
	require.NoError(t, err)
	ok := 0
	for i := range 6 {
		if r.get(t, i%len(r.urls), key).StatusCode == http.StatusOK {
			ok++
		}
	}
	assert.Equal(t, 2, ok, "6 in the window, 4 of them before the change")
}
