package sqlstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestAttack19CurrentKeyTakenForDeadPrevious: on every engine, a token
// regenerated with an overlap that outlives the token's own expiry: once
// both have passed, its current key is taken for a dead previous key
// (refused as unknown, EventKeyReused, and with DisableOnReuse the token is
// disabled by its legitimate holder).
func TestAttack19CurrentKeyTakenForDeadPrevious(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			store := newStore(t, e.open(t), e.dialect)
			clk := apitokentest.NewClock()
			var mu sync.Mutex
			reused := 0
			svc := apitokentest.New(t, apitoken.Config{Store: store, Clock: clk, DisableOnReuse: true,
				OnEvent: func(_ context.Context, ev apitoken.Event) {
					mu.Lock()
					defer mu.Unlock()
					if ev.Kind == apitoken.EventKeyReused {
						reused++
					}
				}})
			tok, _, err := svc.Create(ctx, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
			require.NoError(t, err)
			clk.Add(6 * 24 * time.Hour)
			_, cur, err := svc.RegenerateWithOverlap(ctx, tok.ID, 2*24*time.Hour)
			require.NoError(t, err)
			clk.Add(3 * 24 * time.Hour)
			_, err = svc.Verify(ctx, cur)
			assert.ErrorIs(t, err, apitoken.ErrExpired)
			mu.Lock()
			assert.Zero(t, reused, "no reuse: the current key was used")
			mu.Unlock()
			got, err := svc.Get(ctx, tok.ID)
			require.NoError(t, err)
			assert.False(t, got.Disabled)
		})
	}
}

// TestAttack19ConditionalSetKeyRace: concurrent POST /self/rotate by the
// same key: exactly one may change the key, the others get 409.
func TestAttack19ConditionalSetKeyRace(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			store := newStore(t, e.open(t), e.dialect)
			svc := apitokentest.New(t, apitoken.Config{Store: store})
			srv := httptest.NewServer(svc.SelfHandler()) // registers SelfRotateAction
			defer srv.Close()
			_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
				Permissions: []string{apitoken.SelfRotateAction}})
			require.NoError(t, err)
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/self/rotate", nil)
					req.Header.Set("Authorization", "Bearer "+key)
					res, err := srv.Client().Do(req)
					if !assert.NoError(t, err) {
						return
					}
					res.Body.Close()
					mu.Lock()
					codes[res.StatusCode]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, codes[http.StatusOK], "codes %v", codes)
		})
	}
}
