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
)

// TestKeyReuse: a key replaced by a regeneration, used after it stopped
// working (at once, or after its overlap), is refused as unknown and
// raises EventKeyReused; with DisableOnReuse the token is disabled too.
func TestKeyReuse(t *testing.T) {
	ctx := context.Background()
	for _, disable := range []bool{false, true} {
		clk := apitokentest.NewClock()
		var mu sync.Mutex
		var reused []apitoken.Event
		svc, _ := newService(t, apitoken.Config{Clock: clk, DisableOnReuse: disable,
			OnEvent: func(_ context.Context, e apitoken.Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Kind == apitoken.EventKeyReused {
					reused = append(reused, e)
				}
			}})
		tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "ci"})
		_, fresh, err := svc.Regenerate(ctx, tok.ID)
		require.NoError(t, err)
		got, err := svc.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Nil(t, got.PreviousKeyExpiresAt, "no overlap to show")

		_, err = svc.Verify(ctx, old)
		require.ErrorIs(t, err, apitoken.ErrInvalidKey, "the replaced key stops at once")
		mu.Lock()
		require.Len(t, reused, 1)
		assert.Equal(t, tok.ID, reused[0].TokenID)
		assert.ErrorIs(t, reused[0].Err, apitoken.ErrKeyReused)
		mu.Unlock()

		_, err = svc.Verify(ctx, fresh)
		if disable {
			assert.ErrorIs(t, err, apitoken.ErrDisabled, "DisableOnReuse: the current key may have leaked too")
			continue
		}
		require.NoError(t, err, "only the event by default")

		// After a graceful regeneration, once the overlap ends.
		_, third, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
		require.NoError(t, err)
		_, err = svc.Verify(ctx, fresh)
		require.NoError(t, err, "during the overlap the replaced key works, and is no reuse")
		clk.Add(time.Hour)
		_, err = svc.Verify(ctx, fresh)
		require.ErrorIs(t, err, apitoken.ErrInvalidKey)
		mu.Lock()
		assert.Len(t, reused, 2)
		mu.Unlock()
		_, err = svc.Verify(ctx, third)
		require.NoError(t, err)
		_, err = svc.Verify(ctx, "apitoken_"+"0000000000000000000000000000000000000000000000000")
		mu.Lock()
		assert.Len(t, reused, 2, "an unknown key is no reuse")
		mu.Unlock()
	}
}
