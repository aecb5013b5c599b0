package apitoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

const (
	permRead   = "admin::api-tokens.read"
	permCreate = "admin::api-tokens.create"
	permDelete = "admin::api-tokens.delete"
)

// owners is a host's directory of administrators and their admin
// permissions, which tests change as a host's roles would.
type owners struct {
	mu    sync.Mutex
	perms map[string][]string
	err   error // the directory is down
	calls int
}

func (o *owners) set(owner string, perms ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if perms == nil {
		delete(o.perms, owner)
		return
	}
	o.perms[owner] = perms
}

func (o *owners) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.err = err
}

func (o *owners) permissions(_ context.Context, owner string) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.err != nil {
		return nil, o.err
	}
	p, ok := o.perms[owner]
	if !ok {
		return nil, apitoken.ErrNotFound
	}
	return slices.Clone(p), nil
}

func newAdminService(t *testing.T, cfg apitoken.Config) (*apitoken.Service, *owners) {
	t.Helper()
	o := &owners{perms: map[string][]string{"alice": {permRead, permCreate, permDelete}}}
	cfg.OwnerPermissions = o.permissions
	svc, _ := newService(t, cfg)
	return svc, o
}

// adminServer serves a content route and two admin routes over real HTTP;
// each answers the permissions of the token it was given.
func adminServer(t *testing.T, svc *apitoken.Service) *httptest.Server {
	t.Helper()
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := apitoken.FromContext(r.Context())
		if !ok {
			http.Error(w, "no token in context", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(tok.Permissions)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/articles", svc.Require("api::article.article.find")(echo))
	mux.Handle("GET /admin/api-tokens", svc.RequireAdmin(permRead)(echo))
	mux.Handle("DELETE /admin/api-tokens/{id}", svc.RequireAdmin(permDelete)(echo))
	mux.Handle("GET /admin/me", svc.RequireAdmin("")(echo))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call makes a request with key and returns the status and body.
func call(t *testing.T, srv *httptest.Server, method, path, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, strings.TrimSpace(string(b))
}

func TestAdminTokenCreate(t *testing.T) {
	t.Parallel()
	svc, _ := newAdminService(t, apitoken.Config{})
	ctx := context.Background()
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead, permDelete, permRead}})
	require.NoError(t, err)
	assert.Equal(t, apitoken.KindAdmin, tok.Kind)
	assert.Equal(t, "alice", tok.Owner)
	assert.Equal(t, apitoken.Custom, tok.Type, "an admin token is custom by default")
	assert.Equal(t, []string{permDelete, permRead}, tok.Permissions, "sorted, without repeats")
	assert.NotEmpty(t, key)
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, apitoken.KindAdmin, got.Kind)
	assert.Equal(t, "alice", got.Owner)
	assert.NotContains(t, got.String(), key)
	assert.Contains(t, got.String(), "Kind:admin")

	content, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "site"})
	assert.Equal(t, apitoken.KindContentAPI, content.Kind, "content-API is the default kind")
	assert.Empty(t, content.Owner)
}

func TestAdminTokenCreateRefused(t *testing.T) {
	t.Parallel()
	svc, o := newAdminService(t, apitoken.Config{})
	plain, _ := newService(t, apitoken.Config{}) // no OwnerPermissions
	tests := []struct {
		name       string
		svc        *apitoken.Service
		p          apitoken.CreateParams
		field, msg string
	}{
		{"no owner directory", plain, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice", Permissions: []string{permRead}},
			"kind", "issues no admin tokens"},
		{"no owner", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Permissions: []string{permRead}},
			"owner", "required"},
		{"unknown owner", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "mallory", Permissions: []string{permRead}},
			"owner", "no known administrator"},
		{"owner with a control character", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice\n", Permissions: []string{}},
			"owner", "control or invisible"},
		{"oversized owner", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: strings.Repeat("a", 256), Permissions: []string{}},
			"owner", "at most 255"},
		{"beyond the owner's", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice",
			Permissions: []string{permRead, "admin::users.delete"}}, "permissions", "beyond the owner's: admin::users.delete"},
		{"content-API action", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice",
			Permissions: []string{"api::article.article.find"}}, "permissions", "beyond the owner's"},
		{"full access", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice", Type: apitoken.FullAccess},
			"type", "must be custom"},
		{"no permissions list", svc, apitoken.CreateParams{Kind: apitoken.KindAdmin, Owner: "alice"},
			"permissions", "Missing permissions"},
		{"content token with an owner", svc, apitoken.CreateParams{Owner: "alice"}, "owner", "only admin tokens"},
		{"unknown kind", svc, apitoken.CreateParams{Kind: "root"}, "kind", "one of the following values"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name = "token " + string(rune('a'+i))
			_, key, err := tt.svc.Create(context.Background(), tt.p)
			var v *apitoken.ValidationError
			require.ErrorAs(t, err, &v)
			require.NotEmpty(t, v.Errors)
			assert.Equal(t, []string{tt.field}, v.Errors[0].Path, "%v", v.Errors)
			assert.Contains(t, v.Errors[0].Message, tt.msg)
			assert.Empty(t, key)
		})
	}
	list, err := svc.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list, "nothing refused was stored")

	o.fail(errors.New("directory down"))
	_, _, err = svc.Create(context.Background(), apitoken.CreateParams{Name: "x", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	assert.ErrorIs(t, err, apitoken.ErrUnavailable, "a directory that cannot tell refuses the grant")
	assert.Equal(t, http.StatusServiceUnavailable, apitoken.StatusCode(err))
}

// TestAdminTokenKinds: admin tokens open admin routes only, content-API
// tokens content routes only, in every way a key is checked.
func TestAdminTokenKinds(t *testing.T) {
	t.Parallel()
	svc, _ := newAdminService(t, apitoken.Config{})
	srv := adminServer(t, svc)
	_, adminKey := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	_, fullKey := mustCreate(t, svc, apitoken.CreateParams{Name: "site", Type: apitoken.FullAccess})

	status, body := call(t, srv, "GET", "/api/articles", adminKey)
	assert.Equal(t, http.StatusUnauthorized, status, "an admin token on the content API")
	assert.Contains(t, body, "Missing or invalid credentials")
	for _, path := range []string{"/admin/api-tokens", "/admin/me"} {
		status, body = call(t, srv, "GET", path, fullKey)
		assert.Equal(t, http.StatusUnauthorized, status, "a full-access content token on %s", path)
		assert.Contains(t, body, "Missing or invalid credentials")
	}
	status, body = call(t, srv, "GET", "/admin/api-tokens", adminKey)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, `["admin::api-tokens.read"]`, body)
	status, _ = call(t, srv, "GET", "/admin/me", adminKey)
	assert.Equal(t, http.StatusOK, status, "a route needing no permission")
	status, body = call(t, srv, "DELETE", "/admin/api-tokens/x", adminKey)
	assert.Equal(t, http.StatusForbidden, status, body)
	status, _ = call(t, srv, "GET", "/api/articles", fullKey)
	assert.Equal(t, http.StatusOK, status)

	_, err := svc.Verify(context.Background(), adminKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "Verify is the content API's")
	_, err = svc.CheckAuthorization(context.Background(), "", []string{"Bearer " + adminKey})
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "CheckAuthorization is the content API's")
	_, err = svc.Lookup(context.Background(), adminKey)
	assert.NoError(t, err, "a leaked admin key can be found to be revoked")
}

// TestAdminTokenOwnerLosesPermission: the owner's ceiling applies on every
// use, at once, and ClampOwner writes it into the stored tokens.
func TestAdminTokenOwnerLosesPermission(t *testing.T) {
	t.Parallel()
	svc, o := newAdminService(t, apitoken.Config{})
	srv := adminServer(t, svc)
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead, permDelete}})
	other, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "other", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	status, _ := call(t, srv, "DELETE", "/admin/api-tokens/x", key)
	require.Equal(t, http.StatusOK, status)

	o.set("alice", permRead, permCreate)
	status, _ = call(t, srv, "DELETE", "/admin/api-tokens/x", key)
	assert.Equal(t, http.StatusForbidden, status, "the owner lost delete, so the token did at once")
	status, body := call(t, srv, "GET", "/admin/api-tokens", key)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `["admin::api-tokens.read"]`, body, "the context holds what is left")

	changed, err := svc.ClampOwner(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, changed, 1, "only the token that held more")
	assert.Equal(t, tok.ID, changed[0].ID)
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{permRead}, got.Permissions)
	unchanged, err := svc.Get(ctx, other.ID)
	require.NoError(t, err)
	assert.Equal(t, other.UpdatedAt, unchanged.UpdatedAt, "a token within the ceiling is not written")
	changed, err = svc.ClampOwner(ctx, "alice")
	require.NoError(t, err)
	assert.Empty(t, changed, "a second clamp has nothing to do")

	// An owner who regains a permission does not regain it in the token.
	o.set("alice", permRead, permCreate, permDelete)
	status, _ = call(t, srv, "DELETE", "/admin/api-tokens/x", key)
	assert.Equal(t, http.StatusForbidden, status)

	o.set("alice") // removed
	status, body = call(t, srv, "GET", "/admin/api-tokens", key)
	assert.Equal(t, http.StatusUnauthorized, status, "an owner gone takes the token along")
	assert.Contains(t, body, "Missing or invalid credentials")
	changed, err = svc.ClampOwner(ctx, "alice")
	require.NoError(t, err)
	assert.Len(t, changed, 2)
	for _, c := range changed {
		assert.Empty(t, c.Permissions)
	}
}

// TestAdminTokenFailsClosed: a directory that cannot tell the owner's
// permissions lets no admin request through.
func TestAdminTokenFailsClosed(t *testing.T) {
	t.Parallel()
	svc, o := newAdminService(t, apitoken.Config{})
	srv := adminServer(t, svc)
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	o.fail(errors.New("ldap: connection refused"))
	status, body := call(t, srv, "GET", "/admin/api-tokens", key)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.NotContains(t, body, "ldap", "the host's error stays in the log")
	_, err := svc.ClampOwner(context.Background(), "alice")
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)

	// A Service without a directory, on the same store, takes no admin
	// token at all.
	plain := apitokentest.New(t, apitoken.Config{Store: svc.Store(), Salt: testSalt})
	status, _ = call(t, adminServer(t, plain), "GET", "/admin/api-tokens", key)
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestAdminTokenUpdate(t *testing.T) {
	t.Parallel()
	svc, o := newAdminService(t, apitoken.Config{})
	ctx := context.Background()
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	perms := func(p ...string) apitoken.UpdateParams { return apitoken.UpdateParams{Permissions: p} }

	got, err := svc.Update(ctx, tok.ID, perms(permDelete, permRead))
	require.NoError(t, err)
	assert.Equal(t, []string{permDelete, permRead}, got.Permissions)
	assert.Equal(t, apitoken.KindAdmin, got.Kind, "Update keeps the kind")
	assert.Equal(t, "alice", got.Owner, "Update keeps the owner")

	_, err = svc.Update(ctx, tok.ID, perms(permRead, "admin::users.delete"))
	assert.ErrorContains(t, err, "beyond the owner's")
	full := apitoken.FullAccess
	_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: &full})
	assert.ErrorContains(t, err, "must be custom")

	// The owner lost delete: granting it again is refused, other edits are
	// not (use clamps what the token holds).
	o.set("alice", permRead)
	_, err = svc.Update(ctx, tok.ID, perms(permDelete))
	assert.ErrorContains(t, err, "beyond the owner's")
	name := "ci renamed"
	calls := o.calls
	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, calls, o.calls, "an edit that grants nothing does not ask the directory")
	assert.Equal(t, []string{permDelete, permRead}, got.Permissions)

	o.set("alice")
	_, err = svc.Update(ctx, tok.ID, perms(permRead))
	assert.ErrorContains(t, err, "no known administrator")
	o.set("alice", permRead)
	o.fail(errors.New("down"))
	_, err = svc.Update(ctx, tok.ID, perms(permRead))
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)
	got, err = svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{permDelete, permRead}, got.Permissions, "refused updates changed nothing")
}

// TestAdminTokenExpiry: an admin token expires, is audited and records its
// use as a content token does.
func TestAdminTokenExpiry(t *testing.T) {
	t.Parallel()
	clock := apitokentest.NewClock()
	svc, _ := newAdminService(t, apitoken.Config{Clock: clock})
	srv := adminServer(t, svc)
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}, Lifespan: apitoken.Days7})
	status, _ := call(t, srv, "GET", "/admin/api-tokens", key)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, svc.Flush(context.Background()))
	got, err := svc.Get(context.Background(), tok.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.LastUsedAt, "use is recorded")

	clock.Add(8 * 24 * time.Hour)
	status, body := call(t, srv, "GET", "/admin/api-tokens", key)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, body, "Token expired")
}

// TestAdminTokenWithoutOwner: an admin token stored without a valid owner
// (a row another program wrote) opens nothing and cannot be edited, only
// deleted.
func TestAdminTokenWithoutOwner(t *testing.T) {
	t.Parallel()
	svc, _ := newAdminService(t, apitoken.Config{})
	srv := adminServer(t, svc)
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{permRead}})
	orphan := tok.Clone()
	orphan.ID, orphan.Name, orphan.Owner = "orphan", "orphan", ""
	h, err := apitoken.NewHasher(testSalt)
	require.NoError(t, err)
	orphanKey := key[:len(key)-4] + "zzzz"
	require.NoError(t, svc.Store().Create(ctx, orphan, h.Sum(orphanKey)))

	status, _ := call(t, srv, "GET", "/admin/api-tokens", orphanKey)
	assert.Equal(t, http.StatusUnauthorized, status)
	_, err = svc.Update(ctx, "orphan", apitoken.UpdateParams{Permissions: []string{permRead}})
	assert.ErrorContains(t, err, "owner is a required field")
	name := "renamed"
	_, err = svc.Update(ctx, "orphan", apitoken.UpdateParams{Name: &name})
	assert.ErrorContains(t, err, "owner is a required field")
	_, err = svc.Delete(ctx, "orphan")
	assert.NoError(t, err)
}

// TestAdminTokenOddKind: a token of a kind the library does not know (a
// row another program wrote) opens neither API.
func TestAdminTokenOddKind(t *testing.T) {
	t.Parallel()
	svc, _ := newAdminService(t, apitoken.Config{})
	srv := adminServer(t, svc)
	h, err := apitoken.NewHasher(testSalt)
	require.NoError(t, err)
	for i, kind := range []apitoken.Kind{"Admin", "admin ", "root", "content-API"} {
		tok := &apitoken.Token{ID: fmt.Sprint("odd", i), Name: fmt.Sprint("odd ", i), Type: apitoken.FullAccess, Kind: kind, Owner: "alice",
			CreatedAt: svc.Now(), UpdatedAt: svc.Now()}
		key := fmt.Sprintf("%0256x", i+1)
		require.NoError(t, svc.Store().Create(context.Background(), tok, h.Sum(key)))
		for _, path := range []string{"/api/articles", "/admin/me"} {
			status, _ := call(t, srv, "GET", path, key)
			assert.Equal(t, http.StatusUnauthorized, status, "kind %q on %s", kind, path)
		}
	}
}

// TestKindJSON: a token without a kind is written as a content-API token's.
func TestKindJSON(t *testing.T) {
	t.Parallel()
	for kind, want := range map[apitoken.Kind]string{"": `"kind":"content-api"`, apitoken.KindAdmin: `"kind":"admin"`} {
		b, err := json.Marshal(&apitoken.Token{Kind: kind})
		require.NoError(t, err)
		assert.Contains(t, string(b), want)
	}
}
