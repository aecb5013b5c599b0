package apitoken_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestAttack19cClampOwnerUndoneByConcurrentCreate: Service.Update now
// re-clamps a grant after writing it (reclamp), so that an owner's loss,
// and the ClampOwner the host calls for it, cannot land between the
// owner's permissions being asked and the grant being written. Create has
// the same window and no re-clamp: it asks the owner's permissions
// (grantCeiling), then writes the token with whatever was granted then.
// The owner loses admin::api-tokens.delete, the host calls ClampOwner as
// the README says (it finds no token yet and returns), and Create then
// stores a new admin token holding the lost permission. The stored token
// (its list entry, its screen, its ETag) says it holds a permission its
// owner does not, and gets it back silently whenever the owner does.
//
// Should: once Create and ClampOwner have both returned, the stored token
// holds nothing beyond its owner's permissions. Does: it holds delete.
func TestAttack19cClampOwnerUndoneByConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	perms := map[string][]string{"alice": {permRead, permDelete}}
	var inFlight func() // runs once inside a directory call, after its answer is taken
	directory := func(_ context.Context, owner string) ([]string, error) {
		mu.Lock()
		p, ok := perms[owner]
		p = slices.Clone(p)
		run := inFlight
		inFlight = nil
		mu.Unlock()
		if run != nil {
			run() // the answer is on its way back while the host changes roles
		}
		if !ok {
			return nil, apitoken.ErrNotFound
		}
		return p, nil
	}
	svc, _ := newService(t, apitoken.Config{OwnerPermissions: directory})

	var clamped []*apitoken.Token
	mu.Lock()
	inFlight = func() {
		mu.Lock()
		perms["alice"] = []string{permRead} // alice loses delete
		mu.Unlock()
		var err error
		clamped, err = svc.ClampOwner(ctx, "alice") // and the host clamps her tokens, as documented
		require.NoError(t, err)
	}
	mu.Unlock()
	tok, _, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead, permDelete}})
	require.Empty(t, clamped, "ClampOwner ran before the token existed")

	if err == nil {
		got, gerr := svc.Get(ctx, tok.ID)
		require.NoError(t, gerr)
		assert.NotContains(t, got.Permissions, permDelete,
			"after ClampOwner returned, the new token holds a permission its owner lost")
	}
}

// TestAttack19cOldKeyOnSameSaltTriesMove: verifyPrevious promises that
// the previous key of a graceful regeneration is never moved, nor tried
// ("verify no longer attempts to move an old key during its overlap"). It
// tells the previous key by its salt: a token whose current key is on
// another salt than the one that found the key was found by its previous
// key. But a token regenerated with overlap before a salt rotation has
// both keys on the old salt, and until its new key is used, every use of
// its old key under the rotated configuration finds it on the same salt
// as the current key, so verify tries MoveKey on every request: a failing
// compare-and-swap (a write round trip in sqlstore, and an invalidation
// of the token in cache.Store, which drops it for every key) and two more
// lookups. Exactly the clients that have not switched to the new key yet
// (the overlap's whole audience) pay it on every request.
//
// Should: no MoveKey while only the old key is used. Does: one per use.
func TestAttack19cOldKeyOnSameSaltTriesMove(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	store := &movingStore{Store: memstore.New()}
	a := apitokentest.New(t, apitoken.Config{Store: store, Salt: rotSaltA, Clock: clock})
	tok, oldKey := mustCreate(t, a, apitoken.CreateParams{Name: "ci", Lifespan: apitoken.Days30})
	_, _, err := a.RegenerateWithOverlap(ctx, tok.ID, 24*time.Hour)
	require.NoError(t, err)

	rotating := apitokentest.New(t, apitoken.Config{Store: store, Salt: rotSaltB, PreviousSalts: []string{rotSaltA},
		Clock: clock})
	for i := range 3 {
		_, err := rotating.Verify(ctx, oldKey)
		require.NoError(t, err, "use %d of the old key during its overlap", i+1)
	}
	assert.Zero(t, store.moves.Load(), "the old key of an overlap was tried for a move on every use")
}
