package apitoken_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestAttack19bGoneOwnerKeyEscapesFailureLimit: the key of an admin token
// whose owner no longer exists is a dead key, refused as unknown (401), as
// an expired key is. The failure limit must not let a limited client
// through with it: FailureLimit passes only keys "this Service knows to be
// valid", and verify forgets an expired key from the memo for exactly this
// reason ("an expired key must not pass it for ever"). But the memo learned
// the admin key while its owner existed, and authenticateAdmin refuses it
// after verify, without forgetting it. So a limited client holding a
// retired administrator's token (a former employee's CI secret) escapes
// the limit for ever: every request is checked, costs a store lookup and a
// call to the host's directory (OwnerPermissions, perhaps LDAP), and
// records one more failure that changes nothing.
//
// Should: 429 without asking the directory. Does: 401, and every request
// asks the directory.
func TestAttack19bGoneOwnerKeyEscapesFailureLimit(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, o := newAdminService(t, apitoken.Config{Clock: clk,
		FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 3}})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	srv := adminServer(t, svc)

	status, body := call(t, srv, "GET", "/admin/api-tokens", key)
	require.Equal(t, 200, status, "the key works while its owner exists; the memo learns it: %s", body)
	o.set("alice") // alice leaves: her tokens go with her

	garbage := strings.Repeat("a", 256)
	for range 3 {
		status, _ = call(t, srv, "GET", "/admin/api-tokens", garbage)
		require.Equal(t, 401, status)
	}
	status, _ = call(t, srv, "GET", "/admin/api-tokens", garbage)
	require.Equal(t, 429, status, "the client is now limited")

	o.mu.Lock()
	before := o.calls
	o.mu.Unlock()
	statuses := map[int]int{}
	for range 20 {
		status, _ = call(t, srv, "GET", "/admin/api-tokens", key)
		statuses[status]++
	}
	o.mu.Lock()
	asked := o.calls - before
	o.mu.Unlock()
	// The Service learns that the owner is gone from the first request
	// after (the directory is not watched), and forgets the key then.
	assert.Equal(t, map[int]int{401: 1, 429: 19}, statuses,
		"a retired owner's key is no key the Service knows to be valid: a limited client should get 429")
	assert.Equal(t, 1, asked, "a limited client reaches the host's directory once, not on every request")
}

// TestAttack19bClampOwnerUndoneByConcurrentUpdate: Service.Update asks the
// owner's permissions outside the store's transaction (the needCeiling
// retry) and then writes the grant checked against that answer, however
// old it has become. An administrator's loss of a permission, and the
// ClampOwner the README says to call then, can both land in that window:
// ClampOwner finds nothing to clamp (the token does not hold the
// permission yet), returns, and the update then writes the lost
// permission into the stored token. The host did everything the
// documentation asks, and the stored token (its list entry, its screen,
// its ETag) says it holds a permission its owner does not, which it gets
// back silently whenever the owner does.
//
// Should: once the update and ClampOwner have both returned, the stored
// token holds nothing beyond its owner's permissions (the update refused
// or clamped). Does: the stored token holds admin::api-tokens.delete.
func TestAttack19bClampOwnerUndoneByConcurrentUpdate(t *testing.T) {
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
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})

	mu.Lock()
	inFlight = func() {
		mu.Lock()
		perms["alice"] = []string{permRead} // alice loses delete
		mu.Unlock()
		_, err := svc.ClampOwner(ctx, "alice") // and the host clamps her tokens, as documented
		require.NoError(t, err)
	}
	mu.Unlock()
	_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Permissions: []string{permRead, permDelete}})

	got, gerr := svc.Get(ctx, tok.ID)
	require.NoError(t, gerr)
	t.Logf("update: err=%v; stored permissions %v", err, got.Permissions)
	assert.NotContains(t, got.Permissions, permDelete,
		"after ClampOwner returned, the stored token holds a permission its owner lost")
}

// TestAttack19bFullAccessAdminTokenIgnoresCeiling: the ceiling is applied
// by trimming the token's Permissions (within), and RequireAdmin then asks
// Token.Allows, which lets a FullAccess token do anything whatever its
// Permissions. The Service never makes a non-custom admin token, but it
// admits whatever the store returns, without checking that an admin token
// is custom: a row written by an importer, another service on the same
// database, or a store that reads admin rows from elsewhere (the README
// says strapistore will read Strapi's kind = 'admin' rows) opens every
// admin route, beyond its owner's permissions and even after the owner
// has lost them all. Fail closed: an admin token that is not custom is no
// admin token.
//
// Should: 401 (or 403): the owner holds only read. Does: 200 on a route
// needing delete.
func TestAttack19bFullAccessAdminTokenIgnoresCeiling(t *testing.T) {
	ctx := context.Background()
	svc, o := newAdminService(t, apitoken.Config{})
	o.set("alice", permRead)
	key := "f" + strings.Repeat("0", 255)
	tok := &apitoken.Token{ID: "row-1", Name: "imported", Type: apitoken.FullAccess, Kind: apitoken.KindAdmin, Owner: "alice",
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	tok.UpdatedAt = tok.CreatedAt
	hasher, err := apitoken.NewHasher(testSalt)
	require.NoError(t, err)
	require.NoError(t, svc.Store().Create(ctx, tok, hasher.Sum(key)))
	srv := adminServer(t, svc)

	status, body := call(t, srv, "DELETE", "/admin/api-tokens/x", key)
	assert.NotEqual(t, 200, status, "a full-access admin token passed a route its owner may not use: %s", body)
	o.set("alice", "nothing")
	status, body = call(t, srv, "DELETE", "/admin/api-tokens/x", key)
	assert.NotEqual(t, 200, status, "and still after its owner lost every permission: %s", body)
}
