package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// The tests in this file drive a Service over the store, because the holes
// they guard against open between the Service's reads and writes.

const (
	oldSalt = "storetest-old-salt-0123456789"
	newSalt = "storetest-new-salt-0123456789"
)

// newService returns a Service over s with salt and the previous salts,
// closed at the end of the test.
func newService(t *testing.T, s apitoken.Store, clock *apitokentest.Clock, salt string, previous ...string) *apitoken.Service {
	t.Helper()
	svc, err := apitoken.New(apitoken.Config{
		Store:         s,
		Salt:          salt,
		PreviousSalts: previous,
		Clock:         clock,
		Logger:        slog.New(slog.DiscardHandler),
		AnyAction:     true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, svc.Close(context.Background())) })
	return svc
}

// holding is a Store whose next GetByHash of one hash, or next read of a
// token by Update, stops after the store answered, until the test lets it
// go, so that the test can put another call in between.
type holding struct {
	apitoken.Store
	hash    atomic.Pointer[apitoken.Hash] // GetByHash of this hash is held
	update  atomic.Bool                   // the next Update's read is held
	held    chan struct{}
	release chan struct{}
}

func newHolding(s apitoken.Store) *holding {
	return &holding{Store: s, held: make(chan struct{}), release: make(chan struct{})}
}

func (h *holding) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	t, err := h.Store.GetByHash(ctx, hash)
	if p := h.hash.Load(); p != nil && *p == hash && h.hash.CompareAndSwap(p, nil) {
		h.wait()
	}
	return t, err
}

func (h *holding) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	return h.Store.Update(ctx, id, func(t *apitoken.Token) error {
		err := change(t)
		if h.update.CompareAndSwap(true, false) {
			h.wait()
		}
		return err
	})
}

// verifyHeld starts svc.Verify(key) and returns once its GetByHash of
// key's hash under salt has answered and is held; Verify's error arrives on
// the channel once the test closes h.release.
func (h *holding) verifyHeld(t *testing.T, svc *apitoken.Service, salt, key string) <-chan error {
	t.Helper()
	hasher, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	sum := hasher.Sum(key)
	h.release = make(chan struct{})
	h.hash.Store(&sum)
	verified := make(chan error, 1)
	go func() {
		_, err := svc.Verify(context.Background(), key)
		verified <- err
	}()
	<-h.held
	return verified
}

func (h *holding) wait() {
	h.held <- struct{}{}
	<-h.release
}

// onPreviousSalt creates a token with the old salt and returns it with its
// key, and a Service on the new salt that still accepts the old one.
func onPreviousSalt(t *testing.T, s apitoken.Store, clock *apitokentest.Clock) (*apitoken.Service, *apitoken.Token, string) {
	t.Helper()
	tok, key, err := newService(t, s, clock, oldSalt).Create(context.Background(),
		apitoken.CreateParams{Name: "rotated", Type: apitoken.FullAccess, Lifespan: apitoken.Days30})
	require.NoError(t, err)
	return newService(t, s, clock, newSalt, oldSalt), tok, key
}

// testSaltMoveExpiredOverlap: the old key of a token regenerated with an
// overlap is found under the previous salt in the previous-key slot. It must
// not be moved to the new salt (which would make it the current key again),
// neither during the overlap nor after it.
func testSaltMoveExpiredOverlap(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoPreviousKey)
	ctx := context.Background()
	clock := apitokentest.NewClock()
	svc, tok, oldKey := onPreviousSalt(t, s, clock)
	_, newKey, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)

	got, err := svc.Verify(ctx, oldKey)
	require.NoError(t, err, "the old key works during the overlap")
	assert.Equal(t, tok.ID, got.ID)

	clock.Add(2 * time.Hour)
	for i := range 3 {
		_, err = svc.Verify(ctx, oldKey)
		assert.Error(t, err, "use %d of the old key after its overlap", i+1)
	}
	_, err = svc.Verify(ctx, newKey)
	require.NoError(t, err, "the new key still works")
}

// testSaltMoveRacesRegenerate: a key read under the previous salt, then
// regenerated away before the Service moves its hash, must stay revoked.
func testSaltMoveRacesRegenerate(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	h := newHolding(s)
	svc, tok, oldKey := onPreviousSalt(t, h, clock)

	verified := h.verifyHeld(t, svc, oldSalt, oldKey) // the old-salt lookup found the token
	_, newKey, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	close(h.release)
	<-verified // either answer is right: the key was valid when it was read

	for i := range 2 {
		_, err = svc.Verify(ctx, oldKey)
		assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "use %d of the regenerated-away key", i+1)
	}
	_, err = svc.Verify(ctx, newKey)
	require.NoError(t, err, "the new key works")
}

// testSaltMoveStress races uses of a key on the previous salt with its
// regeneration: afterwards only the new key may work.
func testSaltMoveStress(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	for round := range 20 {
		svc, tok, oldKey := onPreviousSalt(t, s, clock)
		var newKey string
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 3 {
					svc.Verify(ctx, oldKey) //nolint:errcheck // any answer is right while racing
				}
			})
		}
		wg.Go(func() {
			var err error
			_, newKey, err = svc.Regenerate(ctx, tok.ID)
			assert.NoError(t, err)
		})
		wg.Wait()
		_, err := svc.Verify(ctx, oldKey)
		require.ErrorIs(t, err, apitoken.ErrInvalidKey, "round %d: the old key is revoked", round)
		_, err = svc.Verify(ctx, newKey)
		require.NoError(t, err, "round %d: the new key works", round)
		_, err = svc.Delete(ctx, tok.ID)
		require.NoError(t, err)
	}
}

// testUpdateHeldRead: an update that read the token, then waited while
// another update changed another field, must not undo that change.
func testUpdateHeldRead(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	h := newHolding(s)
	svc := newService(t, h, apitokentest.NewClock(), newSalt)
	tok, _, err := svc.Create(ctx, apitoken.CreateParams{Name: "edited", Type: apitoken.FullAccess})
	require.NoError(t, err)

	h.update.Store(true)
	described := make(chan error, 1)
	go func() {
		desc := "changed while the type changed"
		_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: &desc})
		described <- err
	}()
	<-h.held
	downgraded := make(chan error, 1)
	go func() {
		ro := apitoken.ReadOnly
		_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: &ro})
		downgraded <- err
	}()
	// The downgrade may wait for the held update (a store that locks) or
	// finish first (one that retries); either way both must land.
	select {
	case err := <-downgraded:
		require.NoError(t, err)
		downgraded <- nil
	case <-time.After(100 * time.Millisecond):
	}
	close(h.release)
	require.NoError(t, <-described)
	require.NoError(t, <-downgraded)

	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, got.Type, "the downgrade was not undone")
	assert.Equal(t, "changed while the type changed", got.Description)
}

// testUpdateStress races updates of different fields of one token, as
// admins editing at once do: none may be lost, and a downgrade is never
// undone by an unrelated edit.
func testUpdateStress(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	svc := newService(t, s, apitokentest.NewClock(), newSalt)
	for round := range 10 {
		tok, _, err := svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprint("stress-", round), Type: apitoken.FullAccess})
		require.NoError(t, err)
		name, desc, ro, life := fmt.Sprint("renamed-", round), "described", apitoken.ReadOnly, apitoken.Days7
		edits := []apitoken.UpdateParams{{Name: &name}, {Description: &desc}, {Type: &ro}, {Lifespan: &life}}
		var wg sync.WaitGroup
		for _, p := range edits {
			wg.Go(func() {
				_, err := svc.Update(ctx, tok.ID, p)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := svc.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, name, got.Name, "round %d", round)
		assert.Equal(t, desc, got.Description, "round %d", round)
		assert.Equal(t, ro, got.Type, "round %d: the downgrade stands", round)
		assert.Equal(t, life, got.Lifespan, "round %d", round)
	}
}

// testSaltMoveConcurrentFirstUse: two first uses of a key after a salt
// rotation both find it under the old salt; one moves it, and the other,
// whose compare-and-swap then fails, must still accept the valid key.
func testSaltMoveConcurrentFirstUse(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	h := newHolding(s)
	svc, _, key := onPreviousSalt(t, h, apitokentest.NewClock())
	first := h.verifyHeld(t, svc, oldSalt, key) // the first use found the token under the old salt
	_, err := svc.Verify(ctx, key)
	require.NoError(t, err, "the second use moves the key")
	close(h.release)
	require.NoError(t, <-first, "the first use, whose move lost, still accepts the valid key")
	_, err = svc.Verify(ctx, key)
	require.NoError(t, err)

	// A use that missed under the new salt just before another moved the
	// key there, then misses under the old salt too.
	tok, key, err := newService(t, h, apitokentest.NewClock(), oldSalt).Create(ctx, apitoken.CreateParams{Name: "second"})
	require.NoError(t, err)
	first = h.verifyHeld(t, svc, newSalt, key) // the lookup under the new salt found nothing
	_, err = svc.Verify(ctx, key)
	require.NoError(t, err, "the other use moves the key")
	close(h.release)
	require.NoError(t, <-first, "the use that missed the move still accepts the valid key (token %s)", tok.ID)
}

// testUpdateExpiresWhileQueued: a lifespan change that waits for another
// update while the token expires must be refused, as it would be if it had
// come after the expiry: an expired key is never revived.
func testUpdateExpiresWhileQueued(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	h := newHolding(s)
	clock := apitokentest.NewClock()
	svc := newService(t, h, clock, newSalt)
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "dying", Type: apitoken.FullAccess, Lifespan: apitoken.Days7})
	require.NoError(t, err)
	clock.Add(time.Duration(apitoken.Days7) - time.Second)

	h.update.Store(true)
	described := make(chan error, 1)
	go func() {
		_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr("edited")})
		described <- err
	}()
	<-h.held
	extended := make(chan error, 1)
	go func() {
		_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Lifespan: ptr(apitoken.Days90)})
		extended <- err
	}()
	waited := true
	select {
	case err := <-extended: // a store that does not make updates wait
		extended <- err
		waited = false
	case <-time.After(100 * time.Millisecond):
	}
	clock.Add(2 * time.Second) // the token expires (a store that locks may block Verify now)
	close(h.release)
	require.NoError(t, <-described)
	err = <-extended
	if waited {
		assert.ErrorIs(t, err, apitoken.ErrValidation, "the queued lifespan change came after the expiry")
		_, err = svc.Verify(ctx, key)
		assert.ErrorIs(t, err, apitoken.ErrExpired, "the key stays expired")
	}
}

// testPaddedID: an id with a trailing space is another id, even on engines
// whose collations ignore trailing spaces: it finds and changes nothing.
func testPaddedID(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("padded", apitoken.FullAccess)
	h := create(t, s, tok)
	id := tok.ID + " "
	_, err := s.Get(ctx, id)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Get")
	_, err = s.Update(ctx, id, func(t *apitoken.Token) error {
		t.Type = apitoken.ReadOnly
		return nil
	})
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Update")
	assert.ErrorIs(t, s.SetKey(ctx, id, apitoken.NewKey{Hash: newHash(t), UpdatedAt: base}), apitoken.ErrNotFound, "SetKey")
	assert.ErrorIs(t, s.MoveKey(ctx, id, h, newHash(t), "salt"), apitoken.ErrNotFound, "MoveKey")
	assert.ErrorIs(t, s.Delete(ctx, id), apitoken.ErrNotFound, "Delete")
	got, err := s.GetByHash(ctx, h)
	require.NoError(t, err, "the token and its key are untouched")
	equal(t, tok, got)
}

// testConcurrentWrites: writes to different tokens at once (permission
// edits, creates, deletes) all succeed: a store retries what its engine
// aborts to break a deadlock, rather than failing an unrelated write.
func testConcurrentWrites(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		tok := newToken(fmt.Sprint("writer-", i), apitoken.Custom, "api::a.a.find")
		create(t, s, tok)
		wg.Go(func() {
			for j := range 8 {
				_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
					t.Permissions = []string{fmt.Sprintf("api::p%d.p.find", j), fmt.Sprintf("api::q%d.q.create", j)}
					return nil
				})
				assert.NoError(t, err, "edit %d of token %d", j, i)
			}
		})
		wg.Go(func() {
			for j := range 4 {
				other := newToken(fmt.Sprintf("churn-%d-%d", i, j), apitoken.Custom, "api::a.a.find", "api::b.b.find")
				if assert.NoError(t, s.Create(ctx, other, newHash(t)), "create %d/%d", i, j) {
					assert.NoError(t, s.Delete(ctx, other.ID), "delete %d/%d", i, j)
				}
			}
		})
	}
	wg.Wait()
}

// testRenameSwap: two tokens renamed onto each other's names at once both
// fail with ErrNameTaken (each name is taken while the other holds it),
// not with an engine's deadlock error, and keep their names.
func testRenameSwap(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	for round := range 5 {
		a, b := newToken(fmt.Sprint("a", round), apitoken.ReadOnly), newToken(fmt.Sprint("b", round), apitoken.ReadOnly)
		create(t, s, a)
		create(t, s, b)
		var wg sync.WaitGroup
		for _, p := range [][2]*apitoken.Token{{a, b}, {b, a}} {
			wg.Go(func() {
				_, err := s.Update(ctx, p[0].ID, func(t *apitoken.Token) error {
					t.Name = p[1].Name
					return nil
				})
				assert.ErrorIs(t, err, apitoken.ErrNameTaken, "round %d: %s → %s", round, p[0].Name, p[1].Name)
			})
		}
		wg.Wait()
		for _, tok := range []*apitoken.Token{a, b} {
			got, err := s.Get(ctx, tok.ID)
			require.NoError(t, err)
			assert.Equal(t, tok.Name, got.Name)
		}
	}
}

func ptr[T any](v T) *T { return &v }
