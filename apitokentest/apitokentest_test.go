package apitokentest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestHandler is the README's handler test: each type of token against one
// protected route.
func TestHandler(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{})
	mux := http.NewServeMux()
	svc.HandleCollection(mux, "/api/articles", "api::article.article", apitoken.Collection{
		Find:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") }),
		Create: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }),
	})
	keys := apitokentest.Mint(t, svc, "api::article.article.create")

	for _, tc := range []struct {
		method, key string
		want        int
	}{
		{"GET", keys.ReadOnly, http.StatusOK},
		{"POST", keys.ReadOnly, http.StatusForbidden},
		{"POST", keys.FullAccess, http.StatusCreated},
		{"POST", keys.Custom, http.StatusCreated},
		{"GET", keys.Custom, http.StatusForbidden},
		{"GET", "", http.StatusUnauthorized},
		{"GET", "not-a-key", http.StatusUnauthorized},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, apitokentest.NewRequest(tc.method, "/api/articles", tc.key, nil))
		assert.Equal(t, tc.want, rec.Code, "%s with %q", tc.method, tc.key)
	}
}

func TestMintWithoutActions(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{})
	keys := apitokentest.Mint(t, svc)
	assert.Empty(t, keys.Custom)
	list, err := svc.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2)
	tok, err := svc.Verify(context.Background(), keys.FullAccess)
	require.NoError(t, err)
	assert.Equal(t, apitoken.FullAccess, tok.Type)
	assert.Nil(t, tok.ExpiresAt, "unlimited")
}

func TestAuthorize(t *testing.T) {
	r := apitokentest.Authorize(httptest.NewRequest("GET", "/", nil), "k")
	assert.Equal(t, "Bearer k", r.Header.Get("Authorization"))
	assert.Empty(t, apitokentest.NewRequest("GET", "/", "", nil).Header.Values("Authorization"))
}

func TestClock(t *testing.T) {
	clk := apitokentest.NewClock()
	start := clk.Now()
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), start)

	now := clk.After(0)
	assert.Equal(t, start, <-now, "a wait of zero is over at once")
	short, long := clk.After(time.Second), clk.After(time.Minute)
	clk.WaitForTimers(2)
	clk.Add(999 * time.Millisecond)
	assert.Empty(t, short, "not yet due")
	clk.Add(time.Millisecond)
	assert.Equal(t, start.Add(time.Second), <-short)
	assert.Empty(t, long)
	clk.Add(time.Hour)
	assert.Equal(t, start.Add(time.Hour+time.Second), <-long)

	// WaitForTimers returns once another goroutine waits.
	done := make(chan time.Time)
	go func() { done <- <-clk.After(time.Second) }()
	clk.WaitForTimers(1)
	clk.Add(time.Second)
	assert.Equal(t, start.Add(time.Hour+2*time.Second), <-done)
}

// TestExpiryOnClock: a Service on a Clock sees a token expire when the test
// moves the clock, with no sleeping.
func TestExpiryOnClock(t *testing.T) {
	clk := apitokentest.NewClock()
	svc := apitokentest.New(t, apitoken.Config{Clock: clk})
	_, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	_, err = svc.Verify(context.Background(), key)
	require.NoError(t, err)
	clk.Add(7 * 24 * time.Hour)
	_, err = svc.Verify(context.Background(), key)
	assert.ErrorIs(t, err, apitoken.ErrExpired)
}
