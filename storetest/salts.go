package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// testPreviousSaltID: SetKey keeps the salt id of the key it replaces as
// PreviousSaltID while it keeps that key, Update and MoveKey leave it, and
// a regeneration without overlap clears it. Create ignores it: a new token
// has no previous key.
func testPreviousSaltID(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoSaltID)
	l.need(t, NoPreviousKey)
	ctx := context.Background()
	tok := newToken("salted", apitoken.ReadOnly)
	tok.SaltID, tok.PreviousSaltID = "salt-a", "forged"
	first := create(t, s, tok)
	previous := func(want, what string, hashes ...apitoken.Hash) {
		t.Helper()
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got.PreviousSaltID, what+": Get")
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, want, list[0].PreviousSaltID, what+": List")
		for i, h := range hashes {
			got, err := s.GetByHash(ctx, h)
			require.NoError(t, err, "%s: GetByHash of key %d", what, i)
			assert.Equal(t, want, got.PreviousSaltID, "%s: GetByHash of key %d", what, i)
		}
	}
	saltID := func(want, what string) {
		t.Helper()
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got.SaltID, what)
	}
	previous("", "a new token", first)

	second := newHash(t)
	until := base.Add(time.Hour)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: second, SaltID: "salt-b", UpdatedAt: base, PreviousValidUntil: until}))
	previous("salt-a", "SetKey with an overlap keeps the old key's salt id", first, second)
	saltID("salt-b", "and the new key's is the token's")

	_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
		t.Description = "edited"
		t.PreviousSaltID, t.SaltID = "mallory", "mallory" // not Update's to change
		return nil
	})
	require.NoError(t, err)
	previous("salt-a", "Update leaves it", first, second)
	saltID("salt-b", "Update leaves the salt id")

	third := newHash(t)
	require.NoError(t, s.MoveKey(ctx, tok.ID, second, third, "salt-c"))
	previous("salt-a", "MoveKey moves the current key alone", first, third)
	saltID("salt-c", "MoveKey")

	// The next regeneration keeps the moved key, on its new salt.
	fourth := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fourth, SaltID: "salt-d", UpdatedAt: base, PreviousValidUntil: until}))
	previous("salt-c", "a second regeneration replaces it", third, fourth)

	// A previous key that died at once, kept for reuse detection, keeps
	// its salt id as well.
	fifth := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fifth, SaltID: "salt-d", UpdatedAt: base, PreviousValidUntil: base}))
	previous("salt-d", "a dead previous key", fourth, fifth)

	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: newHash(t), SaltID: "salt-d", UpdatedAt: base}))
	previous("", "a regeneration that keeps no previous key clears it")
}

// testCountPreviousSalt: a token regenerated with an overlap after a salt
// rotation, before its key was used (so it never moved), keeps its old key
// on the previous salt, and the Service counts it there until the overlap
// ends: the salt must not be dropped before. The old key works meanwhile
// under the previous salt only.
func testCountPreviousSalt(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoSaltID)
	l.need(t, NoPreviousKey)
	ctx := context.Background()
	clock := apitokentest.NewClock()
	svc, tok, oldKey := onPreviousSalt(t, s, clock)
	dropped := newService(t, s, clock, newSalt)
	counts := func(want apitoken.SaltCounts, what string) {
		t.Helper()
		got, err := svc.CountBySalt(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got, what)
	}
	counts(apitoken.SaltCounts{Previous: 1}, "before the regeneration")
	_, newKey, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "during the overlap, the old key needs the old salt")
	require.ErrorIs(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: s, Salt: newSalt, Clock: clock}), apitoken.ErrUnknownSalt,
		"dropping the old salt during the overlap")

	_, err = svc.Verify(ctx, oldKey)
	require.NoError(t, err, "the old key works during the overlap")
	_, err = dropped.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "but not without the old salt")
	_, err = dropped.Verify(ctx, newKey)
	require.NoError(t, err)
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "the old key's use did not move it")

	clock.Add(time.Hour)
	counts(apitoken.SaltCounts{Current: 1}, "after the overlap")
	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: s, Salt: newSalt, Clock: clock}))
}
