package apitoken_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestConcurrentLifecycle runs creates, updates, regenerations, deletions and
// verifications at once (run it with -race), on memstore and behind the
// verification cache. Once Regenerate or Delete has returned, the old key is
// never accepted again by that Service.
func TestConcurrentLifecycle(t *testing.T) {
	for name, store := range map[string]func() apitoken.Store{
		"memstore":       func() apitoken.Store { return memstore.New() },
		"cache+memstore": func() apitoken.Store { return cache.New(memstore.New(), cache.Options{TTL: time.Minute}) },
	} {
		t.Run(name, func(t *testing.T) {
			svc, err := apitoken.New(apitoken.Config{Store: store(), Salt: testSalt, Logger: discard(), AnyAction: true})
			require.NoError(t, err)
			defer svc.Close(context.Background())
			testConcurrentLifecycle(t, svc)
		})
	}
}

func testConcurrentLifecycle(t *testing.T, svc *apitoken.Service) {
	ctx := context.Background()
	const workers, rounds = 8, 150

	var mu sync.Mutex
	dead := map[string]bool{} // keys whose regeneration or deletion has returned

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprintf("worker %d", w), Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}})
			if !assert.NoError(t, err) {
				return
			}
			for i := range rounds {
				switch rng.IntN(5) {
				case 0:
					_, fresh, err := svc.Regenerate(ctx, tok.ID)
					if assert.NoError(t, err) {
						mu.Lock()
						dead[key] = true
						mu.Unlock()
						key = fresh
					}
				case 1:
					_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr(fmt.Sprint(i)), Permissions: []string{"api::a.a.find", "api::a.a.create"}})
					assert.NoError(t, err)
				case 2:
					_, err := svc.Delete(ctx, tok.ID)
					assert.NoError(t, err)
					mu.Lock()
					dead[key] = true
					mu.Unlock()
					tok, key, err = svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprintf("worker %d", w), Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}})
					if !assert.NoError(t, err) {
						return
					}
				default:
					got, err := svc.Verify(ctx, key)
					if assert.NoError(t, err, "a live key") {
						assert.Equal(t, tok.ID, got.ID)
						assert.True(t, got.Allows("api::a.a.find"))
					}
				}
				// Any key another worker has killed stays dead.
				mu.Lock()
				var old string
				for k := range dead {
					old = k
					break
				}
				mu.Unlock()
				if old != "" {
					_, err := svc.Verify(ctx, old)
					assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "a regenerated or deleted key")
				}
			}
		}()
	}
	wg.Wait()
	list, err := svc.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, workers, "one token per worker remains")
	for k := range dead {
		_, err := svc.Verify(ctx, k)
		require.ErrorIs(t, err, apitoken.ErrInvalidKey)
	}
}
