// Package storetest is the conformance suite for apitoken.Store
// implementations. Every store in this module runs it, and so should yours:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) apitoken.Store { return newEmptyStore(t) })
//	}
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// Limit is something a store cannot keep, such as a column its schema
// lacks. Run skips the checks that need it, and only those.
type Limit int

// The limits a store may declare.
const (
	// NoSaltID: the store does not keep Token.SaltID.
	NoSaltID Limit = 1 << iota
	// NoPreviousKey: SetKey refuses NewKey.PreviousValidUntil with an
	// error matching errors.ErrUnsupported.
	NoPreviousKey
	// NoPolicy: the store keeps no Token.Policy, and refuses a token
	// with one with an error matching errors.ErrUnsupported.
	NoPolicy
	// NoKeyHint: the store does not keep Token.KeyHint (it reads as "").
	NoKeyHint
	// NoKind: the store keeps content-API tokens only (Token.Kind reads
	// as KindContentAPI), and refuses an admin token with an error
	// matching errors.ErrUnsupported.
	NoKind
	// NumericOwner: the store keeps as Token.Owner only the decimal ids
	// of administrators (strapistore: Strapi's admin user ids).
	NumericOwner
)

// limits are the Limits a store was run with.
type limits Limit

// need skips the test if the store has limit l.
func (ls limits) need(t *testing.T, l Limit) {
	t.Helper()
	if Limit(ls)&l != 0 {
		t.Skipf("the store declares limit %d", l)
	}
}

// has reports whether the store has limit l.
func (ls limits) has(l Limit) bool { return Limit(ls)&l != 0 }

// Run tests the store that newStore returns. Each call of newStore must
// return an empty store, ready for use. lacks names what the store cannot
// keep.
func Run(t *testing.T, newStore func(t *testing.T) apitoken.Store, lacks ...Limit) {
	var ls limits
	for _, l := range lacks {
		ls |= limits(l)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, apitoken.Store, limits)
	}{
		{"CreateGet", testCreateGet},
		{"GetByHash", testGetByHash},
		{"NotFound", testNotFound},
		{"NameTaken", testNameTaken},
		{"ConcurrentCreateSameName", testConcurrentCreate},
		{"List", testList},
		{"Update", testUpdate},
		{"UpdateChange", testUpdateChange},
		{"UpdateAtomic", testUpdateAtomic},
		{"SetKey", testSetKey},
		{"MoveKey", testMoveKey},
		{"SetKeyGrace", testSetKeyGrace},
		{"KeyHint", testKeyHint},
		{"KindOwner", testKindOwner},
		{"PreviousKeyExpiresAt", testPreviousKeyExpiresAt},
		{"PreviousSaltID", testPreviousSaltID},
		{"CountPreviousSalt", testCountPreviousSalt},
		{"Delete", testDelete},
		{"Touch", testTouch},
		{"ReturnsCopies", testReturnsCopies},
		{"CancelledContext", testCancelled},
		{"Peek", testPeek},
		{"SaltMoveExpiredOverlap", testSaltMoveExpiredOverlap},
		{"SaltMoveRacesRegenerate", testSaltMoveRacesRegenerate},
		{"SaltMoveStress", testSaltMoveStress},
		{"UpdateHeldRead", testUpdateHeldRead},
		{"UpdateStress", testUpdateStress},
		{"SaltMoveConcurrentFirstUse", testSaltMoveConcurrentFirstUse},
		{"UpdateExpiresWhileQueued", testUpdateExpiresWhileQueued},
		{"PaddedID", testPaddedID},
		{"ConcurrentWrites", testConcurrentWrites},
		{"RenameSwap", testRenameSwap},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedGrace", testChangeFeedGrace},
		{"ChangeFeedConcurrent", testChangeFeedSyncRace},
		{"Policy", testPolicy},
		{"SpendQuota", testSpendQuota},
		{"SpendQuotaConcurrent", testSpendQuotaConcurrent},
		{"ClaimNotice", testClaimNotice},
		{"SetKeyIfHash", testSetKeyIfHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t), ls) })
	}
	t.Run("TakeRate", func(t *testing.T) { testTakeRateStore(t, newStore) })
}

// base is a fixed instant with millisecond precision, which every store keeps.
var base = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func newToken(name string, typ apitoken.Type, perms ...string) *apitoken.Token {
	exp := base.Add(30 * 24 * time.Hour)
	t := &apitoken.Token{
		ID:          uuid.NewString(),
		Name:        name,
		Description: "about " + name,
		Type:        typ,
		Lifespan:    apitoken.Days30,
		ExpiresAt:   &exp,
		CreatedAt:   base,
		UpdatedAt:   base,
	}
	if typ == apitoken.Custom {
		t.Permissions = perms
	}
	return t
}

func newHash(t *testing.T) apitoken.Hash {
	t.Helper()
	var h apitoken.Hash
	_, err := rand.Read(h[:])
	require.NoError(t, err)
	return h
}

func create(t *testing.T, s apitoken.Store, tok *apitoken.Token) apitoken.Hash {
	t.Helper()
	h := newHash(t)
	require.NoError(t, s.Create(context.Background(), tok, h))
	return h
}

// equal asserts that got has want's fields, comparing times as instants.
func equal(t *testing.T, want, got *apitoken.Token) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Description, got.Description)
	assert.Equal(t, want.Type, got.Type)
	assert.Equal(t, want.Lifespan, got.Lifespan)
	assert.ElementsMatch(t, want.Permissions, got.Permissions, "permissions")
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt), "createdAt: want %v, got %v", want.CreatedAt, got.CreatedAt)
	assert.True(t, want.UpdatedAt.Equal(got.UpdatedAt), "updatedAt: want %v, got %v", want.UpdatedAt, got.UpdatedAt)
	timePtrEqual(t, "expiresAt", want.ExpiresAt, got.ExpiresAt)
	timePtrEqual(t, "lastUsedAt", want.LastUsedAt, got.LastUsedAt)
	assert.Equal(t, time.UTC, got.CreatedAt.Location(), "times come back in UTC")
	assert.Equal(t, want.Disabled, got.Disabled, "disabled")
	assert.Equal(t, want.AllowedIPs, got.AllowedIPs, "allowedIPs")
	assert.Equal(t, want.RateLimit, got.RateLimit, "rateLimit")
	if want.Quota == nil || got.Quota == nil {
		assert.True(t, want.Quota == nil && got.Quota == nil, "quota: want %v, got %v", want.Quota, got.Quota)
	} else {
		w, g := *want.Quota, *got.Quota
		assert.True(t, w.RefilledAt.Equal(g.RefilledAt), "quota.refilledAt: want %v, got %v", w.RefilledAt, g.RefilledAt)
		w.RefilledAt, g.RefilledAt = time.Time{}, time.Time{}
		assert.Equal(t, w, g, "quota")
	}
}

func timePtrEqual(t *testing.T, field string, want, got *time.Time) {
	t.Helper()
	if want == nil || got == nil {
		assert.True(t, want == nil && got == nil, "%s: want %v, got %v", field, want, got)
		return
	}
	assert.True(t, want.Equal(*got), "%s: want %v, got %v", field, *want, *got)
}

func testCreateGet(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	for _, tok := range []*apitoken.Token{
		newToken("reader", apitoken.ReadOnly),
		newToken("writer", apitoken.FullAccess),
		newToken("custom", apitoken.Custom, "api::article.article.create", "api::article.article.find"),
		{ID: uuid.NewString(), Name: "forever ünïcødé ✓", Type: apitoken.ReadOnly, CreatedAt: base, UpdatedAt: base},
	} {
		create(t, s, tok)
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		equal(t, tok, got)
	}
	empty := &apitoken.Token{ID: uuid.NewString(), Name: "no perms", Type: apitoken.Custom, Permissions: []string{}, CreatedAt: base, UpdatedAt: base}
	create(t, s, empty)
	got, err := s.Get(ctx, empty.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Permissions)
}

func testGetByHash(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("custom", apitoken.Custom, "api::a.a.find", "plugin::upload.content-api.find")
	h := create(t, s, tok)
	create(t, s, newToken("other", apitoken.ReadOnly))
	got, err := s.GetByHash(ctx, h)
	require.NoError(t, err)
	equal(t, tok, got)

	_, err = s.GetByHash(ctx, newHash(t))
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

func testNotFound(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	id := uuid.NewString()
	_, err := s.Get(ctx, id)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Get")
	_, err = s.Update(ctx, id, replace(newToken("x", apitoken.ReadOnly)))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Update")
	assert.ErrorIs(t, s.MoveKey(ctx, id, newHash(t), newHash(t), "salt"), apitoken.ErrNotFound, "MoveKey")
	assert.ErrorIs(t, s.SetKey(ctx, id, apitoken.NewKey{Hash: newHash(t), UpdatedAt: base}), apitoken.ErrNotFound, "SetKey")
	assert.ErrorIs(t, s.Delete(ctx, id), apitoken.ErrNotFound, "Delete")
	wrote, err := s.Touch(ctx, id, base, base)
	assert.NoError(t, err, "Touch of an unknown id")
	assert.False(t, wrote)
}

func testNameTaken(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	a := newToken("taken", apitoken.ReadOnly)
	create(t, s, a)
	err := s.Create(ctx, newToken("taken", apitoken.FullAccess), newHash(t))
	assert.ErrorIs(t, err, apitoken.ErrNameTaken)

	// Names are compared exactly: case matters.
	create(t, s, newToken("TAKEN", apitoken.ReadOnly))

	b := newToken("free", apitoken.ReadOnly)
	create(t, s, b)
	b.Name = "taken"
	_, err = s.Update(ctx, b.ID, replace(b))
	assert.ErrorIs(t, err, apitoken.ErrNameTaken)
	got, err := s.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, "free", got.Name, "a refused update changes nothing")

	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 3)
}

func testConcurrentCreate(t *testing.T, s apitoken.Store, l limits) {
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok := newToken("contested", apitoken.Custom, "api::a.a.find", fmt.Sprintf("api::a.a.act%d", i))
			errs[i] = s.Create(context.Background(), tok, newHash(t))
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			assert.ErrorIs(t, err, apitoken.ErrNameTaken)
		}
	}
	assert.Equal(t, 1, wins, "exactly one create wins")
	list, err := s.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Len(t, list[0].Permissions, 2, "the winner keeps its own permissions only")
}

func testList(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	for _, name := range []string{"delta", "Alpha", "charlie", "bravo", "alpha"} {
		create(t, s, newToken(name, apitoken.Custom, "api::"+name+".x.find"))
	}
	list, err = s.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name)
		assert.Equal(t, []string{"api::" + tok.Name + ".x.find"}, tok.Permissions)
	}
	assert.Equal(t, []string{"Alpha", "alpha", "bravo", "charlie", "delta"}, names, "sorted by name, bytewise")
}

func testUpdate(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("before", apitoken.Custom, "api::a.a.find", "api::a.a.create")
	h := create(t, s, tok)
	used := base.Add(time.Minute)
	_, err := s.Touch(ctx, tok.ID, used, used.Add(-time.Hour))
	require.NoError(t, err)

	u := tok.Clone()
	u.Name = "after"
	u.Description = ""
	u.Permissions = []string{"api::a.a.delete"}
	u.Lifespan = apitoken.Unlimited
	u.ExpiresAt = nil
	u.UpdatedAt = base.Add(time.Hour)
	u.CreatedAt = base.Add(99 * time.Hour) // ignored
	u.LastUsedAt = nil                     // ignored
	saved, err := s.Update(ctx, tok.ID, replace(u))
	require.NoError(t, err)

	want := u.Clone()
	want.CreatedAt = base
	want.LastUsedAt = &used
	equal(t, want, saved)
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	equal(t, want, got)
	got, err = s.GetByHash(ctx, h)
	require.NoError(t, err)
	equal(t, want, got)

	u.Type, u.Permissions = apitoken.FullAccess, nil
	_, err = s.Update(ctx, tok.ID, replace(u))
	require.NoError(t, err)
	got, err = s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Permissions)
	assert.Equal(t, apitoken.FullAccess, got.Type)

	// The old name is free again.
	create(t, s, newToken("before", apitoken.ReadOnly))
}

// replace returns a change for Update that gives the token u's fields.
func replace(u *apitoken.Token) func(*apitoken.Token) error {
	return func(t *apitoken.Token) error {
		*t = *u.Clone()
		return nil
	}
}

// testUpdateChange: Update hands change the token as stored, writes nothing
// when change fails, and returns change's error as it is.
func testUpdateChange(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("changing", apitoken.Custom, "api::a.a.find")
	create(t, s, tok)

	refused := errors.New("refused")
	_, err := s.Update(ctx, tok.ID, func(got *apitoken.Token) error {
		equal(t, tok, got)
		got.Name, got.Type, got.Permissions = "half-way", apitoken.FullAccess, nil
		return refused
	})
	assert.ErrorIs(t, err, refused)
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	equal(t, tok, got)
}

// testUpdateAtomic: each of many concurrent updates reads the token and
// adds a mark to its description; every mark must be there at the end, as
// no update may come between another's read and its write.
func testUpdateAtomic(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("contended", apitoken.ReadOnly)
	tok.Description = ""
	create(t, s, tok)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
				t.Description += fmt.Sprintf("[%d]", i)
				return nil
			})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	for i := range n {
		assert.Contains(t, got.Description, fmt.Sprintf("[%d]", i), "update %d was lost", i)
	}
}

// testMoveKey: MoveKey replaces the current key's hash only while it is the
// one given, and leaves the rest of the token alone.
func testMoveKey(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("moving", apitoken.ReadOnly)
	if !l.has(NoSaltID) {
		tok.SaltID = "old-salt"
	}
	old := create(t, s, tok)
	moved := newHash(t)

	assert.ErrorIs(t, s.MoveKey(ctx, tok.ID, newHash(t), moved, "new-salt"), apitoken.ErrNotFound,
		"a hash that is not the current one")
	_, err := s.GetByHash(ctx, old)
	require.NoError(t, err, "a refused move changes nothing")

	require.NoError(t, s.MoveKey(ctx, tok.ID, old, moved, "new-salt"))
	_, err = s.GetByHash(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old hash is gone")
	got, err := s.GetByHash(ctx, moved)
	require.NoError(t, err)
	equal(t, tok, got) // update time too
	if !l.has(NoSaltID) {
		assert.Equal(t, "new-salt", got.SaltID)
	}
	assert.ErrorIs(t, s.MoveKey(ctx, tok.ID, old, newHash(t), "new-salt"), apitoken.ErrNotFound,
		"a second move from the same hash")

	if l.has(NoPreviousKey) {
		return
	}
	// A previous key is never moved, and a move keeps it.
	current := newHash(t)
	until := base.Add(time.Hour)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: current, UpdatedAt: base, PreviousValidUntil: until}))
	assert.ErrorIs(t, s.MoveKey(ctx, tok.ID, moved, newHash(t), "new-salt"), apitoken.ErrNotFound,
		"the previous key's hash")
	again := newHash(t)
	require.NoError(t, s.MoveKey(ctx, tok.ID, current, again, "new-salt"))
	got, err = s.GetByHash(ctx, moved)
	require.NoError(t, err, "the previous key still works after a move of the current one")
	timePtrEqual(t, "previous key expiry", &until, got.ExpiresAt)
	_, err = s.GetByHash(ctx, again)
	require.NoError(t, err)
}

func testSetKey(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoSaltID)
	ctx := context.Background()
	tok := newToken("rotating", apitoken.Custom, "api::a.a.find")
	tok.EncryptedKey, tok.SaltID = "v1:00:11:22", "salt-a"
	old := create(t, s, tok)
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "v1:00:11:22", got.EncryptedKey, "Create keeps the encrypted key")
	assert.Equal(t, "salt-a", got.SaltID)

	fresh := newHash(t)
	later := base.Add(2 * time.Hour)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fresh, EncryptedKey: "v1:33:44:55", SaltID: "salt-b", UpdatedAt: later}))

	_, err = s.GetByHash(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old hash is gone at once")
	got, err = s.GetByHash(ctx, fresh)
	require.NoError(t, err)
	want := tok.Clone()
	want.UpdatedAt = later
	equal(t, want, got)
	assert.Equal(t, "v1:33:44:55", got.EncryptedKey)
	assert.Equal(t, "salt-b", got.SaltID)

	// Update leaves the key alone.
	got.Description = "edited"
	_, err = s.Update(ctx, tok.ID, replace(got))
	require.NoError(t, err)
	got, err = s.GetByHash(ctx, fresh)
	require.NoError(t, err)
	assert.Equal(t, "v1:33:44:55", got.EncryptedKey)
	assert.Equal(t, "salt-b", got.SaltID)
	assert.Equal(t, "edited", got.Description)
}

func testSetKeyGrace(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("graceful", apitoken.ReadOnly) // expires base+30d
	first := create(t, s, tok)
	second := newHash(t)
	until := base.Add(24 * time.Hour)
	if l.has(NoPreviousKey) {
		err := s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: second, UpdatedAt: base, PreviousValidUntil: until})
		require.ErrorIs(t, err, errors.ErrUnsupported)
		_, err = s.GetByHash(ctx, first)
		require.NoError(t, err, "a refused SetKey changes nothing")
		t.Skip("the store keeps no previous key")
	}
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: second, UpdatedAt: base, PreviousValidUntil: until}))

	got, err := s.GetByHash(ctx, second)
	require.NoError(t, err)
	timePtrEqual(t, "new key expiry", tok.ExpiresAt, got.ExpiresAt)
	got, err = s.GetByHash(ctx, first)
	require.NoError(t, err, "the previous key works during the overlap")
	assert.Equal(t, tok.ID, got.ID)
	timePtrEqual(t, "previous key expiry", &until, got.ExpiresAt)

	// A second regeneration drops the first key, even inside its overlap.
	third := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: third, UpdatedAt: base, PreviousValidUntil: until}))
	_, err = s.GetByHash(ctx, first)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "only one previous key is kept")
	_, err = s.GetByHash(ctx, second)
	require.NoError(t, err)

	// A later previous deadline than the token's own expiry does not extend it.
	late := tok.ExpiresAt.Add(time.Hour)
	fourth := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fourth, UpdatedAt: base, PreviousValidUntil: late}))
	got, err = s.GetByHash(ctx, third)
	require.NoError(t, err)
	timePtrEqual(t, "capped by the token's expiry", tok.ExpiresAt, got.ExpiresAt)

	// An immediate regeneration ends the overlap; delete removes both keys.
	fifth := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fifth, UpdatedAt: base}))
	for _, h := range []apitoken.Hash{third, fourth} {
		_, err = s.GetByHash(ctx, h)
		assert.ErrorIs(t, err, apitoken.ErrNotFound)
	}
	sixth := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: sixth, UpdatedAt: base, PreviousValidUntil: until}))
	require.NoError(t, s.Delete(ctx, tok.ID))
	for _, h := range []apitoken.Hash{fifth, sixth} {
		_, err = s.GetByHash(ctx, h)
		assert.ErrorIs(t, err, apitoken.ErrNotFound, "delete removes the previous key too")
	}
}

// testKeyHint: the hint of a token's key is kept by Create, replaced by
// SetKey, and left alone by Update and MoveKey.
func testKeyHint(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoKeyHint)
	ctx := context.Background()
	tok := newToken("hinted", apitoken.ReadOnly)
	tok.KeyHint = "apitoken_…Ab12"
	h := create(t, s, tok)
	hint := func(want, what string) {
		t.Helper()
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got.KeyHint, what+": Get")
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, want, list[0].KeyHint, what+": List")
	}
	hint("apitoken_…Ab12", "Create keeps the hint")
	got, err := s.GetByHash(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, "apitoken_…Ab12", got.KeyHint, "GetByHash")

	_, err = s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
		t.Description = "edited"
		t.KeyHint = "…zzzz" // not Update's to change
		return nil
	})
	require.NoError(t, err)
	hint("apitoken_…Ab12", "Update leaves the hint alone")

	fresh := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fresh, KeyHint: "…9f3c", UpdatedAt: base}))
	hint("…9f3c", "SetKey replaces the hint")
	require.NoError(t, s.MoveKey(ctx, tok.ID, fresh, newHash(t), ""))
	hint("…9f3c", "MoveKey leaves the hint alone")
}

// testKindOwner: an admin token's kind and owner are kept by Create, found
// by every read, and left alone by Update, SetKey and MoveKey; a
// content-API token reads as KindContentAPI without an owner. A store
// with NoKind refuses the admin token, writing nothing of it.
func testKindOwner(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	owner := "alice@example.com"
	if l.has(NumericOwner) {
		owner = "42"
	}
	admin := newToken("admin", apitoken.Custom, "admin::api-tokens.read")
	admin.Kind, admin.Owner = apitoken.KindAdmin, owner
	content := newToken("content", apitoken.ReadOnly)
	content.Kind = apitoken.KindContentAPI
	if l.has(NoKind) {
		create(t, s, content)
		assert.ErrorIs(t, s.Create(ctx, admin, newHash(t)), errors.ErrUnsupported, "a store that cannot keep admin tokens says so")
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1, "nothing of the admin token was written")
		assert.Equal(t, apitoken.KindContentAPI, list[0].Kind)
		return
	}
	h := create(t, s, admin)
	create(t, s, content)
	check := func(what string) {
		t.Helper()
		got, err := s.Get(ctx, admin.ID)
		require.NoError(t, err)
		assert.Equal(t, apitoken.KindAdmin, got.Kind, what+": Get")
		assert.Equal(t, owner, got.Owner, what+": Get")
		assert.Equal(t, []string{"admin::api-tokens.read"}, got.Permissions, what+": an admin permission is kept as given")
		byHash, err := s.GetByHash(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, apitoken.KindAdmin, byHash.Kind, what+": GetByHash")
		assert.Equal(t, owner, byHash.Owner, what+": GetByHash")
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, apitoken.KindAdmin, list[0].Kind, what+": List")
		assert.Equal(t, owner, list[0].Owner, what+": List")
		assert.Equal(t, apitoken.KindContentAPI, list[1].Kind, what+": List, content")
		assert.Empty(t, list[1].Owner, what+": List, content")
	}
	check("Create")
	_, err := s.Update(ctx, admin.ID, func(t *apitoken.Token) error {
		t.Description = "edited"
		t.Kind, t.Owner = apitoken.KindContentAPI, "mallory" // not Update's to change
		return nil
	})
	require.NoError(t, err)
	check("Update")
	fresh := newHash(t)
	require.NoError(t, s.SetKey(ctx, admin.ID, apitoken.NewKey{Hash: fresh, UpdatedAt: base}))
	h = fresh
	check("SetKey")
	if !l.has(NoSaltID) {
		h = newHash(t)
		require.NoError(t, s.MoveKey(ctx, admin.ID, fresh, h, "s2"))
		check("MoveKey")
	}
}

// testPreviousKeyExpiresAt: Get and List say until when the previous key of
// a graceful regeneration works; Update keeps it, and a regeneration
// without overlap clears it.
func testPreviousKeyExpiresAt(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoPreviousKey)
	ctx := context.Background()
	tok := newToken("overlapping", apitoken.ReadOnly)
	tok.PreviousKeyExpiresAt = &base // Create ignores it: a new token has no previous key
	create(t, s, tok)
	until := base.Add(24 * time.Hour)
	previous := func(want *time.Time, what string) {
		t.Helper()
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		timePtrEqual(t, what+": Get", want, got.PreviousKeyExpiresAt)
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		timePtrEqual(t, what+": List", want, list[0].PreviousKeyExpiresAt)
	}
	previous(nil, "a new token")
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: newHash(t), UpdatedAt: base, PreviousValidUntil: until}))
	previous(&until, "after a graceful regeneration")
	_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
		t.Description = "edited"
		t.PreviousKeyExpiresAt = nil // not Update's to change
		return nil
	})
	require.NoError(t, err)
	previous(&until, "Update keeps it")
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: newHash(t), UpdatedAt: base}))
	previous(nil, "a regeneration without overlap ends it")
}

func testDelete(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("doomed", apitoken.Custom, "api::a.a.find")
	h := create(t, s, tok)
	keep := newToken("kept", apitoken.ReadOnly)
	create(t, s, keep)
	require.NoError(t, s.Delete(ctx, tok.ID))

	_, err := s.Get(ctx, tok.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	_, err = s.GetByHash(ctx, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	assert.ErrorIs(t, s.Delete(ctx, tok.ID), apitoken.ErrNotFound, "second delete")
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, keep.ID, list[0].ID)

	// The name and permissions went with it: a new token can take the name.
	again := newToken("doomed", apitoken.Custom, "api::a.a.find")
	create(t, s, again)
	got, err := s.Get(ctx, again.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"api::a.a.find"}, got.Permissions)
}

func testTouch(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("used", apitoken.ReadOnly)
	h := create(t, s, tok)
	touch := func(at time.Time) bool {
		t.Helper()
		wrote, err := s.Touch(ctx, tok.ID, at, at.Add(-time.Hour))
		require.NoError(t, err)
		got, err := s.GetByHash(ctx, h)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		return wrote
	}
	t1 := base.Add(time.Minute)
	assert.True(t, touch(t1), "first use is written")
	assert.False(t, touch(t1.Add(59*time.Minute)), "a use within the interval is not")
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.True(t, got.LastUsedAt.Equal(t1), "lastUsedAt stays at the first use: %v", got.LastUsedAt)
	t2 := t1.Add(time.Hour)
	assert.True(t, touch(t2), "a use a full interval later is written")
	got, err = s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.True(t, got.LastUsedAt.Equal(t2))
	assert.True(t, got.UpdatedAt.Equal(base), "a touch is not an update")

	// Many concurrent touches of one stale token write once.
	t3 := t2.Add(2 * time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	writes := 0
	for range 10 {
		wg.Go(func() {
			wrote, err := s.Touch(ctx, tok.ID, t3, t3.Add(-time.Hour))
			assert.NoError(t, err)
			if wrote {
				mu.Lock()
				writes++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, writes, "concurrent touches write once")
}

func testReturnsCopies(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("original", apitoken.Custom, "api::a.a.find")
	create(t, s, tok)
	tok.Name = "changed by caller"
	tok.Permissions[0] = "api::x.x.x"

	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "original", got.Name, "Create keeps a copy")
	got.Name = "changed again"
	got.Permissions[0] = "api::y.y.y"
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "original", list[0].Name, "Get returns a copy")
	assert.Equal(t, []string{"api::a.a.find"}, list[0].Permissions)
}

func testCancelled(t *testing.T, s apitoken.Store, l limits) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tok := newToken("never", apitoken.ReadOnly)
	err := s.Create(ctx, tok, newHash(t))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "Create: %v", err)
	_, err = s.Get(ctx, tok.ID)
	assert.ErrorIs(t, err, context.Canceled, "Get")
	_, err = s.List(ctx)
	assert.ErrorIs(t, err, context.Canceled, "List")

	list, err := s.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list, "a cancelled create leaves nothing")
}

// testPeek holds a Peeker's answers to GetByHash's, before and after a
// delete: it must never answer with a token the store no longer holds.
// Stores that are not Peekers pass.
func testPeek(t *testing.T, s apitoken.Store, l limits) {
	p, ok := s.(apitoken.Peeker)
	if !ok {
		return
	}
	ctx := context.Background()
	tok := newToken("peek", apitoken.ReadOnly)
	h := create(t, s, tok)
	unknown := newHash(t)
	_, err := s.GetByHash(ctx, h) // a cache fills here
	require.NoError(t, err)
	_, err = s.GetByHash(ctx, unknown)
	require.ErrorIs(t, err, apitoken.ErrNotFound)

	if got, found, ok := p.Peek(h); ok {
		require.True(t, found, "Peek says unknown, GetByHash found it")
		equal(t, tok, got)
	}
	if _, found, ok := p.Peek(unknown); ok {
		assert.False(t, found, "Peek found what GetByHash did not")
	}
	require.NoError(t, s.Delete(ctx, tok.ID))
	if _, found, ok := p.Peek(h); ok {
		assert.False(t, found, "Peek answers with a deleted token")
	}
}

// Forwards fails t for each optional capability that the Service uses and
// inner has but wrapper, a Store wrapping inner (such as a cache), hides:
// apitoken.BatchToucher (without it lastUsedAt is written one token at a
// time), QuotaSpender (no quotas) and NoticeClaimer (no expiry events).
func Forwards(t *testing.T, inner, wrapper apitoken.Store) {
	t.Helper()
	forwards[apitoken.BatchToucher](t, inner, wrapper, "BatchToucher")
	forwards[apitoken.QuotaSpender](t, inner, wrapper, "QuotaSpender")
	forwards[apitoken.NoticeClaimer](t, inner, wrapper, "NoticeClaimer")
}

// forwards fails t if inner is a T and wrapper is not.
func forwards[T any](t *testing.T, inner, wrapper apitoken.Store, name string) {
	t.Helper()
	if _, ok := inner.(T); ok {
		_, ok := wrapper.(T)
		assert.True(t, ok, "%T hides the %s of %T", wrapper, name, inner)
	}
}
