package apitoken_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

const (
	rotSaltA = "rotation-salt-a-0123456789"
	rotSaltB = "rotation-salt-b-0123456789"
)

// saltIDOf returns the public id of salt.
func saltIDOf(t *testing.T, salt string) string {
	t.Helper()
	h, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	return h.ID()
}

// movingStore is a memstore that counts MoveKey calls.
type movingStore struct {
	*memstore.Store
	moves atomic.Int64
}

func (s *movingStore) MoveKey(ctx context.Context, id string, from, to apitoken.Hash, saltID string) error {
	s.moves.Add(1)
	return s.Store.MoveKey(ctx, id, from, to, saltID)
}

// TestCountBySaltPreviousKey: the old key of a graceful regeneration keeps
// the salt that hashed it, which may be a previous salt, until its overlap
// ends; CountBySalt, CountSalts and CheckSalt must count the token on that
// salt meanwhile, or an operator who drops the salt kills the old key
// before its promised end.
func TestCountBySaltPreviousKey(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	store := &movingStore{Store: memstore.New()}
	var mu sync.Mutex
	var reused []string // the salt configurations that saw EventKeyReused
	service := func(name, salt string, previous ...string) *apitoken.Service {
		return apitokentest.New(t, apitoken.Config{Store: store, Salt: salt, PreviousSalts: previous, Clock: clock,
			OnEvent: func(_ context.Context, e apitoken.Event) {
				if e.Kind == apitoken.EventKeyReused {
					mu.Lock()
					reused = append(reused, name)
					mu.Unlock()
				}
			}})
	}
	tok, oldKey := mustCreate(t, service("a", rotSaltA), apitoken.CreateParams{Name: "ci", Lifespan: apitoken.Days30})
	rotating := service("rotating", rotSaltB, rotSaltA) // B, still accepting A
	dropped := service("dropped", rotSaltB)             // B, with A dropped
	counts := func(want apitoken.SaltCounts, what string) {
		t.Helper()
		got, err := rotating.CountBySalt(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got, what)
	}
	counts(apitoken.SaltCounts{Previous: 1}, "before the regeneration")

	_, newKey, err := rotating.RegenerateWithOverlap(ctx, tok.ID, 24*time.Hour)
	require.NoError(t, err)
	got, err := store.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, saltIDOf(t, rotSaltB), got.SaltID, "the new key is on the current salt")
	assert.Equal(t, saltIDOf(t, rotSaltA), got.PreviousSaltID, "the old key stays on the salt that hashed it")
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "the old key needs salt A during the overlap")
	until := clock.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: rotSaltB, PreviousSalts: []string{rotSaltA}, Clock: clock})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Current: 1, Previous: map[string]int{saltIDOf(t, rotSaltA): 1},
		Overlaps: map[string]apitoken.Overlap{saltIDOf(t, rotSaltA): {Tokens: 1, Until: until}}}, r)
	err = apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: rotSaltB, Clock: clock})
	require.ErrorIs(t, err, apitoken.ErrUnknownSalt, "dropping A now would kill the old key")
	assert.Contains(t, err.Error(), saltIDOf(t, rotSaltA))
	assert.Contains(t, err.Error(), until.Format(time.RFC3339), "it says until when the salt is needed")
	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: rotSaltB, PreviousSalts: []string{rotSaltA}, Clock: clock}))

	// The count is right: the old key works only while A is configured.
	for i := range 3 {
		_, err = rotating.Verify(ctx, oldKey)
		require.NoError(t, err, "use %d of the old key during the overlap", i+1)
	}
	assert.Zero(t, store.moves.Load(), "the previous key is never moved, nor tried")
	_, err = dropped.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "without A the old key dies before its overlap ends")
	_, err = dropped.Verify(ctx, newKey)
	require.NoError(t, err)
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "using the old key does not move it")

	clock.Add(24*time.Hour - time.Millisecond)
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "until the last millisecond of the overlap")
	clock.Add(time.Millisecond)
	counts(apitoken.SaltCounts{Current: 1}, "a dead previous key keeps no salt in use")
	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: rotSaltB, Clock: clock}))
	r, err = apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: rotSaltB, PreviousSalts: []string{rotSaltA}, Clock: clock})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Current: 1}, r)

	// The dead key is still recognised, for reuse detection, while A is
	// configured; once A is dropped it is refused as any unknown key.
	_, err = rotating.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	_, err = dropped.Verify(ctx, oldKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	mu.Lock()
	assert.Equal(t, []string{"rotating"}, reused)
	mu.Unlock()
}

// TestCountBySaltBothKeysOnPreviousSalt: a token regenerated with overlap
// before a rotation has both keys on the old salt and counts there once;
// using its new key moves that key alone, and the old one keeps the old
// salt in use until its overlap ends.
func TestCountBySaltBothKeysOnPreviousSalt(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	store := &movingStore{Store: memstore.New()}
	a := apitokentest.New(t, apitoken.Config{Store: store, Salt: rotSaltA, Clock: clock})
	tok, _ := mustCreate(t, a, apitoken.CreateParams{Name: "ci", Lifespan: apitoken.Days30})
	_, newKey, err := a.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)

	rotating := apitokentest.New(t, apitoken.Config{Store: store, Salt: rotSaltB, PreviousSalts: []string{rotSaltA}, Clock: clock})
	counts := func(want apitoken.SaltCounts, what string) {
		t.Helper()
		got, err := rotating.CountBySalt(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, got, what)
	}
	counts(apitoken.SaltCounts{Previous: 1}, "one token on A, by both keys")
	_, err = rotating.Verify(ctx, newKey)
	require.NoError(t, err)
	assert.EqualValues(t, 1, store.moves.Load(), "the current key moves")
	counts(apitoken.SaltCounts{Current: 1, Previous: 1}, "the new key moved, the old one did not")
	clock.Add(time.Hour)
	counts(apitoken.SaltCounts{Current: 1}, "the overlap ended")
}

// TestCountBySaltUnidentifiedPreviousKey: a token imported from Strapi
// (no salt id) regenerated with overlap keeps an old key whose salt cannot
// be told: it is counted as such until the overlap ends.
func TestCountBySaltUnidentifiedPreviousKey(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	store := memstore.New()
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: rotSaltB, Clock: clock})
	exp := clock.Now().Add(30 * 24 * time.Hour)
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "7", Name: "strapi", Type: apitoken.ReadOnly, ExpiresAt: &exp,
		CreatedAt: clock.Now(), UpdatedAt: clock.Now()}, apitoken.Hash{7}))
	_, _, err := svc.RegenerateWithOverlap(ctx, "7", time.Hour)
	require.NoError(t, err)
	got, err := svc.CountBySalt(ctx)
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltCounts{Current: 1, Unknown: 1}, got)
	r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: rotSaltB, Clock: clock})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Current: 1, Unidentified: 1,
		Overlaps: map[string]apitoken.Overlap{"": {Tokens: 1, Until: clock.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)}}}, r)
	clock.Add(time.Hour)
	got, err = svc.CountBySalt(ctx)
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltCounts{Current: 1}, got)
}
