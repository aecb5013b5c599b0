package apitoken_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

func TestFailureLimit(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, mem := newService(t, apitoken.Config{Clock: clk, FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(10 * time.Second), Burst: 3}})
	a := newAPI(t, svc)
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "reader"})
	bad := bearer("Bearer " + strings.Repeat("0", 256))

	for i := range 3 {
		assert.Equal(t, 401, a.do(t, "GET", "/api/articles", bad).status, "failure %d", i+1)
	}
	r := a.do(t, "GET", "/api/articles", bad)
	assert.Equal(t, 429, r.status, "past the burst")
	assert.Equal(t, "Too many failed authentication attempts", r.message)
	r = a.do(t, "GET", "/api/articles", bearer("Bearer "+key))
	assert.Equal(t, 429, r.status, "a good key never verified here waits: it cannot be told from a guess unchecked")

	req, err := http.NewRequest("GET", a.URL+"/api/articles", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "10", res.Header.Get("Retry-After"))

	clk.Add(10 * time.Second)
	assert.Equal(t, 200, a.do(t, "GET", "/api/articles", bearer("Bearer "+key)).status, "one try earned back")
	assert.Equal(t, 401, a.do(t, "GET", "/api/articles", bad).status)
	assert.Equal(t, 429, a.do(t, "GET", "/api/articles", bad).status)

	_, err = apitoken.New(apitoken.Config{Store: mem, Salt: testSalt, FailureLimit: &apitoken.FailureLimit{}})
	assert.Error(t, err, "a limit needs a rate")
}

// TestFailureLimitCountsOnlyKeys: requests that present no key, or a
// header that is not one "bearer <key>", guess nothing and cost no HMAC or
// lookup, so they do not count: else any web page could lock a client out
// with an <img> of the API's URL. They are still refused, and audited.
func TestFailureLimitCountsOnlyKeys(t *testing.T) {
	clk := apitokentest.NewClock()
	var failures int
	svc, _ := newService(t, apitoken.Config{Clock: clk, FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 3},
		OnEvent: func(_ context.Context, e apitoken.Event) {
			if e.Kind == apitoken.EventAuthFailed {
				failures++
			}
		}})
	a := newAPI(t, svc)
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "reader"})
	for _, h := range []http.Header{
		nil, bearer(""), bearer("Basic dXNlcjpwYXNz"), bearer("Bearer"), bearer("Bearer  "),
		{"Authorization": {"Bearer x", "Bearer y"}},
	} {
		for range 5 {
			r := a.do(t, "GET", "/api/articles", h)
			require.Contains(t, []int{400, 401}, r.status, "%v", h)
		}
	}
	assert.Equal(t, 30, failures, "each is audited")
	assert.Equal(t, 200, a.do(t, "GET", "/api/articles", bearer("Bearer "+key)).status, "a key never verified here, after 30 requests without one")

	bad := bearer("Bearer " + strings.Repeat("0", 256))
	for i := range 3 {
		assert.Equal(t, 401, a.do(t, "GET", "/api/articles", bad).status, "wrong key %d", i+1)
	}
	assert.Equal(t, 429, a.do(t, "GET", "/api/articles", bad).status, "wrong keys still count")
}

func TestAuditEvents(t *testing.T) {
	clk := apitokentest.NewClock()
	var events []apitoken.Event
	// The expiry events are TestExpiryNotices's; they would race these.
	svc, _ := newService(t, apitoken.Config{Clock: clk, ExpiryCheck: -1,
		OnEvent: func(_ context.Context, e apitoken.Event) { events = append(events, e) }})
	a := newAPI(t, svc)
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "audited", Lifespan: apitoken.Days7})
	_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr("x")})
	require.NoError(t, err)
	_, key, err = svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	a.do(t, "GET", "/api/articles", bearer("Bearer nope"))
	clk.Add(8 * 24 * time.Hour)
	a.do(t, "GET", "/api/articles", bearer("Bearer "+key))
	_, err = svc.Delete(ctx, tok.ID)
	require.NoError(t, err)

	var kinds []apitoken.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
		if e.Kind != apitoken.EventAuthFailed {
			assert.Equal(t, tok.ID, e.TokenID)
			assert.Equal(t, "audited", e.TokenName)
		}
	}
	assert.Equal(t, []apitoken.EventKind{
		apitoken.EventCreated, apitoken.EventUpdated, apitoken.EventRegenerated,
		apitoken.EventAuthFailed, apitoken.EventExpiredKey, apitoken.EventDeleted,
	}, kinds)
	assert.ErrorIs(t, events[3].Err, apitoken.ErrInvalidKey)
	assert.Equal(t, "127.0.0.1", events[3].Client)
	assert.ErrorIs(t, events[4].Err, apitoken.ErrExpired)
	assert.Equal(t, "127.0.0.1", events[4].Client, "the expired key's event names the client that presented it")

	// Verify, which has no request, names no client.
	events = nil
	_, err = svc.Verify(ctx, key)
	assert.Error(t, err)
	_, key2 := mustCreate(t, svc, apitoken.CreateParams{Name: "expires", Lifespan: apitoken.Days7})
	clk.Add(8 * 24 * time.Hour)
	events = nil
	_, err = svc.Verify(ctx, key2)
	assert.ErrorIs(t, err, apitoken.ErrExpired)
	if assert.Len(t, events, 1) {
		assert.Equal(t, apitoken.EventExpiredKey, events[0].Kind)
		assert.Empty(t, events[0].Client)
	}
}
