package redisrate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/redisrate"
	"github.com/go-apitoken/apitoken/storetest"
)

// newClient returns a client of the test Redis, closed when the test ends.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err(), "the test Redis must be reachable")
	return c
}

// newCounter returns a Counter whose keys no other test uses, deleted when
// the test ends (they would expire two windows later anyway).
func newCounter(t *testing.T, c *redis.Client) (*redisrate.Counter, string) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "apitoken-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		assert.NoError(t, err)
		if len(keys) > 0 {
			assert.NoError(t, c.Del(ctx, keys...).Err())
		}
	})
	return redisrate.New(c, redisrate.Options{Prefix: prefix}), prefix
}

func TestCounter(t *testing.T) {
	c := newClient(t)
	storetest.RunRateCounter(t, func(t *testing.T) apitoken.RateCounter {
		rc, _ := newCounter(t, c)
		return rc
	})
}

// TestExpiry: a window's key expires two windows after its first take,
// and later takes do not push that back.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	rc, prefix := newCounter(t, c)
	start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	_, _, err := rc.TakeRate(ctx, "tok", start, time.Minute, 10, 3)
	require.NoError(t, err)
	key := prefix + "tok:" + "1767323040000"
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 119*time.Second && ttl <= 2*time.Minute, "ttl %v", ttl)
	require.NoError(t, c.PExpire(ctx, key, time.Minute).Err())
	_, _, err = rc.TakeRate(ctx, "tok", start, time.Minute, 10, 3)
	require.NoError(t, err)
	ttl, err = c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, ttl, time.Minute, "a later take keeps the expiry")
	n, err := c.Get(ctx, key).Int()
	require.NoError(t, err)
	assert.Equal(t, 6, n)
}

// TestBadInput: ids that cannot be counted and counts that are not
// positive are clear errors; ids with the key's separator stay apart.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	rc, _ := newCounter(t, newClient(t))
	start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for _, id := range []string{"", strings.Repeat("x", 1025)} {
		_, _, err := rc.TakeRate(ctx, id, start, time.Minute, 10, 1)
		assert.ErrorContains(t, err, "cannot be counted")
	}
	for _, c := range [][2]int{{0, 1}, {10, 0}, {-1, 1}} {
		_, _, err := rc.TakeRate(ctx, "id", start, time.Minute, c[0], c[1])
		assert.ErrorContains(t, err, "must be positive")
	}
	g, count, err := rc.TakeRate(ctx, "a:1", start, time.Minute, 10, 1_000_000_000)
	require.NoError(t, err)
	assert.Equal(t, [2]int{10, 10}, [2]int{g, count})
	g, count, err = rc.TakeRate(ctx, "a", start, time.Minute, 10, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 1}, [2]int{g, count}, "a:1 is another token")
}

// TestAcrossInstances: two Services sharing a Redis, each behind its own
// HTTP server, let exactly 100 of 300 concurrent requests through; with
// Redis out of reach, rate-limited tokens get 503.
func TestAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock() // 03:04:05
	store := memstore.New()
	rc, _ := newCounter(t, newClient(t))
	var urls []string
	var svc *apitoken.Service
	for range 2 {
		svc = apitokentest.New(t, apitoken.Config{Store: store, SharedRates: rc, Clock: clk,
			Salt: "redis-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)})
		srv := httptest.NewServer(svc.Authenticated(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "script", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}}})
	require.NoError(t, err)

	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	const workers, requests = 10, 300
	for w := range workers {
		wg.Go(func() {
			for i := w; i < requests; i += workers {
				req, err := http.NewRequest(http.MethodGet, urls[i%2], nil)
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				got[res.StatusCode]++
				mu.Unlock()
				if res.StatusCode == http.StatusTooManyRequests {
					assert.Equal(t, "55", res.Header.Get("Retry-After"))
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, map[int]int{200: 100, 429: 200}, got)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	gone := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { gone.Close() })
	down := apitokentest.New(t, apitoken.Config{Store: store, SharedRates: redisrate.New(gone, redisrate.Options{}),
		Salt: "redis-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)})
	_, err = down.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrUnavailable, "fail closed")
}
