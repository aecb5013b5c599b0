package apitoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// policyServer serves GET /articles behind the middleware, over real HTTP,
// on a Service with a fake clock and recorded events.
type policyServer struct {
	svc    *apitoken.Service
	clk    *apitokentest.Clock
	url    string
	mu     sync.Mutex
	events []apitoken.Event
}

func newPolicyServer(t *testing.T, cfg apitoken.Config) *policyServer {
	t.Helper()
	ps := &policyServer{clk: apitokentest.NewClockAt(time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC))}
	cfg.Clock = ps.clk
	cfg.Logger = discard()
	cfg.OnEvent = func(_ context.Context, e apitoken.Event) {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.events = append(ps.events, e)
	}
	ps.svc, _ = newService(t, cfg)
	mux := http.NewServeMux()
	mux.Handle("GET /articles", ps.svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ps.url = srv.URL + "/articles"
	return ps
}

// get requests the articles with key, and with X-Forwarded-For when xff is
// not "".
func (ps *policyServer) get(t *testing.T, key, xff string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ps.url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// errorMessage returns the message of a Strapi error body.
func errorMessage(t *testing.T, res *http.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return body.Error.Message
}

func (ps *policyServer) lastEvent() apitoken.Event {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.events) == 0 {
		return apitoken.Event{}
	}
	return ps.events[len(ps.events)-1]
}

func TestPolicyDisabled(t *testing.T) {
	ctx := context.Background()
	ps := newPolicyServer(t, apitoken.Config{})
	yes, no := true, false
	tok, key := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "ci", PolicyParams: apitoken.PolicyParams{Disabled: &yes}})
	assert.True(t, tok.Disabled)

	res := ps.get(t, key, "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, "Token disabled", errorMessage(t, res))
	e := ps.lastEvent()
	assert.Equal(t, apitoken.EventAuthFailed, e.Kind)
	assert.Equal(t, tok.ID, e.TokenID)
	assert.ErrorIs(t, e.Err, apitoken.ErrDisabled, "its own audit reason")
	_, err := ps.svc.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrDisabled)

	_, err = ps.svc.Update(ctx, tok.ID, apitoken.UpdateParams{PolicyParams: apitoken.PolicyParams{Disabled: &no}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, ps.get(t, key, "").StatusCode, "enabled again")
}

func TestPolicyAllowedIPs(t *testing.T) {
	ctx := context.Background()
	ps := newPolicyServer(t, apitoken.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, office := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "office", PolicyParams: apitoken.PolicyParams{
		AllowedIPs: []string{"203.0.113.0/24", " 2001:db8::7 "}}})

	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.9", http.StatusOK},
		{"2001:db8::7", http.StatusOK},
		{"::ffff:203.0.113.10", http.StatusOK},       // IPv4-mapped counts as IPv4
		{"198.51.100.1, 203.0.113.9", http.StatusOK}, // the last hop the proxy saw
		{"203.0.113.9, 198.51.100.1", http.StatusForbidden},
		{"198.51.100.1", http.StatusForbidden},
		{"2001:db8::8", http.StatusForbidden},
		{"not-an-address", http.StatusForbidden},
		{"", http.StatusForbidden}, // the proxy named no one: the peer is the proxy itself
	} {
		res := ps.get(t, office, tc.xff)
		assert.Equal(t, tc.want, res.StatusCode, "X-Forwarded-For %q", tc.xff)
		if tc.want == http.StatusForbidden {
			assert.Equal(t, "Token not allowed from this address", errorMessage(t, res))
		}
	}
	e := ps.lastEvent()
	assert.ErrorIs(t, e.Err, apitoken.ErrAddressNotAllowed, "its own audit reason")

	_, err := ps.svc.Verify(ctx, office)
	assert.ErrorIs(t, err, apitoken.ErrAddressNotAllowed, "Verify knows no client: fails closed")

	// Without trusted proxies, X-Forwarded-For is anyone's to forge.
	direct := newPolicyServer(t, apitoken.Config{})
	_, key := mustCreate(t, direct.svc, apitoken.CreateParams{Name: "office", PolicyParams: apitoken.PolicyParams{AllowedIPs: []string{"203.0.113.0/24"}}})
	assert.Equal(t, http.StatusForbidden, direct.get(t, key, "203.0.113.9").StatusCode)
	_, local := mustCreate(t, direct.svc, apitoken.CreateParams{Name: "local", PolicyParams: apitoken.PolicyParams{AllowedIPs: []string{"127.0.0.0/8"}}})
	assert.Equal(t, http.StatusOK, direct.get(t, local, "198.51.100.1").StatusCode, "the peer is the client")
}

// TestPolicyRateLimit: counted in memory (no Config.SharedRates), a
// token's windows are aligned to the clock, as a shared counter's are: the
// first request, at 22:00:15, is in the window 22:00:00 to 22:01:00.
func TestPolicyRateLimit(t *testing.T) {
	ps := newPolicyServer(t, apitoken.Config{})
	_, key := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "script", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 3, Window: apitoken.Duration(time.Minute)}}})
	_, other := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "other", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 3, Window: apitoken.Duration(time.Minute)}}})

	ps.clk.Add(15 * time.Second)
	for left := 2; left >= 0; left-- {
		res := ps.get(t, key, "")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, `"token";q=3;w=60`, res.Header.Get("RateLimit-Policy"))
		assert.Equal(t, `"token";r=`+string(rune('0'+left))+`;t=45`, res.Header.Get("RateLimit"))
	}
	ps.clk.Add(20 * time.Second)
	res := ps.get(t, key, "")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "25", res.Header.Get("Retry-After"))
	assert.Equal(t, `"token";r=0;t=25`, res.Header.Get("RateLimit"))
	assert.Equal(t, "Too many requests for this token", errorMessage(t, res))
	assert.Equal(t, http.StatusOK, ps.get(t, other, "").StatusCode, "each token has its own count")

	ps.clk.Add(24 * time.Second)
	assert.Equal(t, http.StatusTooManyRequests, ps.get(t, key, "").StatusCode, "22:00:59: the same window")
	ps.clk.Add(time.Second)
	res = ps.get(t, key, "")
	assert.Equal(t, http.StatusOK, res.StatusCode, "22:01:00: a new window, though a minute has not passed since the first request")
	assert.Equal(t, `"token";r=2;t=60`, res.Header.Get("RateLimit"))
}

// TestRateLimitConcurrent: counted in memory, concurrent requests of one
// token get exactly the limit in each window, however many goroutines
// make them, and the next window gets the limit again.
func TestRateLimitConcurrent(t *testing.T) {
	const (
		limit      = 250
		goroutines = 32
		each       = 20 // 640 requests a window
	)
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk, Logger: discard()})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "busy", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: limit, Window: apitoken.Duration(time.Minute)}}})
	for window := range 3 {
		var allowed, limited, other atomic.Int64
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range each {
					_, err := svc.Verify(context.Background(), key)
					switch {
					case err == nil:
						allowed.Add(1)
					case errors.Is(err, apitoken.ErrRateLimited):
						limited.Add(1)
					default:
						other.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(limit), allowed.Load(), "window %d", window)
		assert.Equal(t, int64(goroutines*each-limit), limited.Load(), "window %d", window)
		assert.Zero(t, other.Load(), "window %d", window)
		clk.Add(time.Minute)
	}
}

func TestPolicyQuota(t *testing.T) {
	ctx := context.Background()
	ps := newPolicyServer(t, apitoken.Config{}) // 22:00 UTC
	tok, key := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "trial", PolicyParams: apitoken.PolicyParams{
		Quota: &apitoken.Quota{Limit: 2, Refill: apitoken.Daily}}})
	assert.Equal(t, int64(2), tok.Quota.Remaining)

	for range 2 {
		assert.Equal(t, http.StatusOK, ps.get(t, key, "").StatusCode)
	}
	res := ps.get(t, key, "")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "Usage quota of this token exhausted", errorMessage(t, res), "distinct from the rate limit")
	assert.Equal(t, "7200", res.Header.Get("Retry-After"), "refilled at midnight UTC")
	got, err := ps.svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Zero(t, got.Quota.Remaining)

	ps.clk.Add(2 * time.Hour)
	assert.Equal(t, http.StatusOK, ps.get(t, key, "").StatusCode, "refilled")

	// A refused request spends nothing.
	_, ro := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "writer", Type: apitoken.Custom,
		Permissions: []string{"api::article.article.create"}, PolicyParams: apitoken.PolicyParams{Quota: &apitoken.Quota{Limit: 1}}})
	assert.Equal(t, http.StatusForbidden, ps.get(t, ro, "").StatusCode)
	_, err = ps.svc.Verify(ctx, ro)
	assert.NoError(t, err, "the forbidden request did not spend the only use")
	_, err = ps.svc.Verify(ctx, ro)
	var le *apitoken.LimitError
	require.ErrorAs(t, err, &le)
	assert.ErrorIs(t, err, apitoken.ErrQuotaExhausted)
	assert.Zero(t, le.RetryAfter, "never refilled")
}

func TestExpirationHeader(t *testing.T) {
	ps := newPolicyServer(t, apitoken.Config{})
	tok, key := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	res := ps.get(t, key, "")
	assert.Equal(t, tok.ExpiresAt.UTC().Format(time.RFC3339), res.Header.Get(apitoken.ExpirationHeader))
	_, forever := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "forever"})
	res = ps.get(t, forever, "")
	assert.Empty(t, res.Header.Values(apitoken.ExpirationHeader))
	assert.Empty(t, res.Header.Values("RateLimit"), "no policy, no headers")
}

func TestPolicyValidation(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, apitoken.Config{})
	many := make([]string, 101)
	for i := range many {
		many[i] = "10.0.0.1"
	}
	for _, tc := range []struct {
		p    apitoken.PolicyParams
		want string
	}{
		{apitoken.PolicyParams{AllowedIPs: []string{"10.0.0.0/33"}}, "not an IP address or network: 10.0.0.0/33"},
		{apitoken.PolicyParams{AllowedIPs: []string{"fe80::1%eth0"}}, "not an IP address or network"},
		{apitoken.PolicyParams{AllowedIPs: []string{strings.Repeat("x", 10_000)}}, "not an IP address or network: xxxx"},
		{apitoken.PolicyParams{AllowedIPs: many}, "at most 100"},
		{apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: -1, Window: apitoken.Duration(time.Minute)}}, "rateLimit.requests"},
		{apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 5}}, "rateLimit.window"},
		{apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 5, Window: apitoken.Duration(1500 * time.Millisecond)}}, "rateLimit.window"},
		{apitoken.PolicyParams{RateLimit: &apitoken.RateLimit{Requests: 5, Window: apitoken.Duration(48 * time.Hour)}}, "rateLimit.window"},
		{apitoken.PolicyParams{Quota: &apitoken.Quota{Limit: -5}}, "quota.limit"},
		{apitoken.PolicyParams{Quota: &apitoken.Quota{Limit: 5, Refill: "hourly"}}, "quota.refill"},
	} {
		_, _, err := svc.Create(ctx, apitoken.CreateParams{Name: "bad", PolicyParams: tc.p})
		require.ErrorIs(t, err, apitoken.ErrValidation, "%+v", tc.p)
		assert.Contains(t, err.Error(), tc.want)
		assert.Less(t, len(err.Error()), 300, "hostile input is not echoed in full")
	}
	list, err := svc.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing was stored")
}
