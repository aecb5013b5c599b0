package apitoken_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestKeyMemo checks that remembering hashes changes no answer, whatever
// the memo's size: every verification still asks the store, so revocation,
// regeneration and outages take effect at once.
func TestKeyMemo(t *testing.T) {
	for _, size := range []int{0, 1, -1} {
		t.Run(fmt.Sprintf("KeyMemo=%d", size), func(t *testing.T) {
			ctx := context.Background()
			store := &outageStore{Store: memstore.New()}
			svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyMemo: size, Logger: discard()})
			require.NoError(t, err)
			defer svc.Close(ctx)

			a, keyA := mustCreate(t, svc, apitoken.CreateParams{Name: "a"})
			b, keyB := mustCreate(t, svc, apitoken.CreateParams{Name: "b"})
			c, keyC := mustCreate(t, svc, apitoken.CreateParams{Name: "c"})
			for range 3 { // first use, then remembered (or pushed out by the others at size 1)
				for _, want := range []struct {
					id, key string
				}{{a.ID, keyA}, {b.ID, keyB}, {c.ID, keyC}} {
					got, err := svc.Verify(ctx, want.key)
					require.NoError(t, err)
					assert.Equal(t, want.id, got.ID)
				}
			}
			before := store.lookups.Load()
			_, err = svc.Verify(ctx, keyA)
			require.NoError(t, err)
			assert.Equal(t, before+1, store.lookups.Load(), "a remembered key still asks the store")

			store.down.Store(true)
			_, err = svc.Verify(ctx, keyA)
			assert.ErrorIs(t, err, apitoken.ErrUnavailable, "fails closed when the store is down")
			store.down.Store(false)

			_, err = svc.Delete(ctx, a.ID)
			require.NoError(t, err)
			_, err = svc.Verify(ctx, keyA)
			assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "deleted")

			_, newB, err := svc.Regenerate(ctx, b.ID)
			require.NoError(t, err)
			_, err = svc.Verify(ctx, keyB)
			assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "regenerated")
			got, err := svc.Verify(ctx, newB)
			require.NoError(t, err)
			assert.Equal(t, b.ID, got.ID)

			_, err = svc.Verify(ctx, keyC)
			assert.NoError(t, err)
		})
	}
}
