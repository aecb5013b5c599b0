package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestAttack19RegenerateVersusVerify: a cached Service under load on the
// current key while it is regenerated (no overlap) again and again: once
// Regenerate returns, the replaced key is refused, and its use raises
// EventKeyReused; the new key works at once and is never taken for a
// replaced one.
func TestAttack19RegenerateVersusVerify(t *testing.T) {
	ctx := context.Background()
	var reusedAfterSwitch atomic.Int64
	store := cache.New(memstore.New(), cache.Options{})
	svc := apitokentest.New(t, apitoken.Config{Store: store})
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci"})
	require.NoError(t, err)
	var cur atomic.Value
	cur.Store(key)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				svc.Verify(ctx, cur.Load().(string)) // may lose to a regeneration
			}
		}()
	}
	for range 100 {
		_, fresh, err := svc.Regenerate(ctx, tok.ID)
		require.NoError(t, err)
		old := cur.Swap(fresh).(string)
		_, err = svc.Verify(ctx, old)
		assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
		if _, err := svc.Verify(ctx, fresh); err != nil {
			reusedAfterSwitch.Add(1)
		}
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, reusedAfterSwitch.Load(), "the new key works as soon as Regenerate returns")
}
