package apitoken_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestExpiryNotices: two instances on one store give each expiry event
// once between them: when a token enters its last 7 days, and when it
// expires; a token long expired gets none.
func TestExpiryNotices(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	clk := apitokentest.NewClock()
	var mu sync.Mutex
	got := map[apitoken.EventKind][]string{}
	instance := func() *apitoken.Service {
		return apitokentest.New(t, apitoken.Config{Store: store, Clock: clk, ExpiryCheck: -1, Logger: discard(),
			OnEvent: func(_ context.Context, e apitoken.Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Kind == apitoken.EventExpiring || e.Kind == apitoken.EventExpired {
					got[e.Kind] = append(got[e.Kind], e.TokenName)
				}
			}})
	}
	a, b := instance(), instance()
	mustCreate(t, a, apitoken.CreateParams{Name: "month", Lifespan: apitoken.Days30})
	mustCreate(t, a, apitoken.CreateParams{Name: "forever"})
	check := func() int {
		t.Helper()
		na, err := a.CheckExpiry(ctx)
		require.NoError(t, err)
		nb, err := b.CheckExpiry(ctx)
		require.NoError(t, err)
		return na + nb
	}
	assert.Zero(t, check(), "30 days left")
	clk.Add(23 * 24 * time.Hour)
	assert.Equal(t, 1, check(), "7 days left: one instance tells")
	assert.Zero(t, check(), "once")
	clk.Add(7 * 24 * time.Hour)
	assert.Equal(t, 1, check(), "expired")
	assert.Zero(t, check())
	assert.Equal(t, map[apitoken.EventKind][]string{apitoken.EventExpiring: {"month"}, apitoken.EventExpired: {"month"}}, got)

	mustCreate(t, a, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	clk.Add(20 * 24 * time.Hour) // past its expiry by more than the warning
	assert.Zero(t, check(), "the week token was never checked in its last days; long dead, it is not announced")
}

// TestExpiryNoticesInBackground: with ExpiryCheck set, the Service checks
// by itself.
func TestExpiryNoticesInBackground(t *testing.T) {
	clk := apitokentest.NewClock()
	events := make(chan apitoken.Event, 10)
	svc, _ := newService(t, apitoken.Config{Clock: clk, ExpiryCheck: time.Hour, ExpiryWarning: 24 * time.Hour,
		OnEvent: func(_ context.Context, e apitoken.Event) {
			if e.Kind == apitoken.EventExpiring {
				events <- e
			}
		}})
	mustCreate(t, svc, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	for range 6 * 24 {
		clk.WaitForTimers(1)
		clk.Add(time.Hour)
		select {
		case e := <-events:
			assert.Equal(t, "week", e.TokenName)
			return
		default:
		}
	}
	clk.WaitForTimers(1)
	select {
	case e := <-events:
		assert.Equal(t, "week", e.TokenName)
	case <-time.After(5 * time.Second):
		t.Fatal("no EventExpiring within the last day")
	}
}
