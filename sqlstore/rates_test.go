package sqlstore_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestRatesAcrossInstances: two instances, each a Service on a cache on its
// own pool behind its own HTTP server, counting rates in the database,
// let exactly 100 of 300 concurrent requests of a token limited to 100 a
// minute through, and 100 of 300 again in the next window; with the database
// down, the token's requests get 503.
func TestRatesAcrossInstances(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			clk := apitokentest.NewClock() // 03:04:05
			r := newFeedRig(t, e, sqlstore.Options{})
			var svcs []*apitoken.Service
			var urls []string
			for _, s := range []*sqlstore.Store{r.writer, r.watcher} {
				c := cache.New(s, cache.Options{Logger: slog.New(slog.DiscardHandler)})
				t.Cleanup(func() { c.Close() })
				svc, err := apitoken.New(apitoken.Config{Store: c, SharedRates: s, Clock: clk,
					Salt: "rates-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				t.Cleanup(func() { svc.Close(ctx) })
				srv := httptest.NewServer(svc.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
				t.Cleanup(srv.Close)
				svcs, urls = append(svcs, svc), append(urls, srv.URL)
			}
			_, key, err := svcs[0].Create(ctx, apitoken.CreateParams{Name: "script", PolicyParams: apitoken.PolicyParams{
				RateLimit: &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}}})
			require.NoError(t, err)

			burst := func(requests int, retryAfter string) map[int]int {
				var mu sync.Mutex
				got := map[int]int{}
				var wg sync.WaitGroup
				const workers = 10
				for w := range workers {
					wg.Go(func() {
						for i := w; i < requests; i += workers {
							res := get(t, urls[i%2], key)
							mu.Lock()
							got[res.StatusCode]++
							mu.Unlock()
							if res.StatusCode == http.StatusTooManyRequests {
								assert.Equal(t, retryAfter, res.Header.Get("Retry-After"))
							}
						}
					})
				}
				wg.Wait()
				return got
			}
			assert.Equal(t, map[int]int{200: 100, 429: 200}, burst(300, "55"))
			clk.Add(55 * time.Second)
			// As many requests again: each instance must have enough to
			// use up its leases, or what a lease leaves is lost to the
			// other (fewer than the limit pass, never more).
			assert.Equal(t, map[int]int{200: 100, 429: 200}, burst(300, "60"), "the next window")

			// A third instance whose counter's pool is closed: the
			// database is down for it.
			pool := r.open(t)
			down, err := sqlstore.New(pool, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix})
			require.NoError(t, err)
			require.NoError(t, pool.Close())
			svc, err := apitoken.New(apitoken.Config{Store: r.writer, SharedRates: down, Clock: clk,
				Salt: "rates-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { svc.Close(ctx) })
			clk.Add(time.Minute)
			_, err = svc.Verify(ctx, key)
			assert.ErrorIs(t, err, apitoken.ErrUnavailable, "fail closed")
		})
	}
}

// get requests url with key and returns the response, its body read.
func get(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// TestTakeRatePrune: a take deletes the counts of windows that ended more
// than a minute before its own started, once a minute, and leaves the
// others.
func TestTakeRatePrune(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			s := r.writer
			start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
			rows := func() (n int) {
				t.Helper()
				require.NoError(t, r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+r.prefix+"rates").Scan(&n))
				return n
			}
			take := func(id string, at time.Time, window time.Duration) {
				t.Helper()
				g, _, err := s.TakeRate(ctx, id, at, window, 10, 1)
				require.NoError(t, err)
				require.Equal(t, 1, g)
			}
			take("a", start, time.Minute) // ends 03:01, prunes (the first take does)
			take("b", start, time.Hour)   // ends 04:00
			take("a", start.Add(time.Minute), time.Minute)
			assert.Equal(t, 3, rows(), "within a minute of the last prune: none")
			take("c", start.Add(3*time.Minute), time.Minute) // prunes what ended before 03:02
			assert.Equal(t, 3, rows(), "03:00–03:01 went; 03:01–03:02 ended less than a minute before")
			var n int
			require.NoError(t, r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+r.prefix+"rates WHERE token_id = 'b'").Scan(&n))
			assert.Equal(t, 1, n, "the hour's window stays")
		})
	}
}

// TestTakeRateBadInput: ids that cannot be counted, and counts that are not
// positive, are clear errors that take nothing.
func TestTakeRateBadInput(t *testing.T) {
	db := engines[0].open(t)
	s := newStore(t, db, sqlstore.SQLite)
	ctx := context.Background()
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for _, id := range []string{"", "id ", strings.Repeat("x", 129)} {
		_, _, err := s.TakeRate(ctx, id, start, time.Minute, 10, 1)
		assert.ErrorContains(t, err, "cannot be counted", "id %.10q", id)
	}
	for _, c := range [][2]int{{0, 1}, {10, 0}, {-1, 1}, {10, -5}} {
		_, _, err := s.TakeRate(ctx, "id", start, time.Minute, c[0], c[1])
		assert.ErrorContains(t, err, "must be positive")
	}
	_, _, err := s.TakeRate(ctx, "id", start, 0, 10, 1)
	assert.ErrorContains(t, err, "must be positive")
	g, count, err := s.TakeRate(ctx, strings.Repeat("x", 128), start, time.Minute, 10, 1_000_000_000)
	require.NoError(t, err)
	assert.Equal(t, [2]int{10, 10}, [2]int{g, count}, "the longest id; asking past the limit takes the limit")
	g, count, err = s.TakeRate(ctx, "id", start, time.Minute, 10, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 1}, [2]int{g, count}, "the refused takes took nothing")
}
