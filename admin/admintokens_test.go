package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// adminEnv is an admin handler serving admin tokens, with a directory of
// administrators and their permissions that the test changes. A person
// signs in with the X-Admin header; Authorize lets a person act within
// their permissions, and an admin token while its owner is not suspended.
type adminEnv struct {
	*env
	mu        sync.Mutex
	admins    map[string][]string
	suspended map[string]bool
}

func newAdminEnv(t *testing.T, cfg apitoken.Config) *adminEnv {
	t.Helper()
	a := &adminEnv{
		env: &env{t: t},
		admins: map[string][]string{
			"alice": admin.Permissions,
			"bob": {admin.PermAdminTokensAccess, admin.PermAdminTokensRead, admin.PermAdminTokensCreate, admin.PermAdminTokensUpdate,
				admin.PermAdminTokensRegenerate, admin.PermRead},
		},
		suspended: map[string]bool{},
	}
	cfg.Salt = salt
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.OwnerPermissions = func(_ context.Context, owner string) ([]string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		p, ok := a.admins[owner]
		if !ok {
			return nil, apitoken.ErrNotFound
		}
		return slices.Clone(p), nil
	}
	a.svc = apitokentest.New(t, cfg)
	h, err := admin.New(admin.Config{Service: a.svc, Logger: cfg.Logger,
		Owner: func(r *http.Request) string { return r.Header.Get("X-Admin") },
		Authorize: func(r *http.Request, perm string) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			if tok, ok := apitoken.FromContext(r.Context()); ok {
				if a.suspended[tok.Owner] {
					return admin.ErrForbidden
				}
				return nil
			}
			p, ok := a.admins[r.Header.Get("X-Admin")]
			switch {
			case !ok:
				return admin.ErrUnauthenticated
			case perm != "" && !slices.Contains(p, perm):
				return admin.ErrForbidden
			}
			return nil
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	a.svc.HandleCollection(mux, "/api/articles", "api::article.article", apitoken.Collection{
		Find: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
	})
	a.server = newServer(t, mux)
	return a
}

func (a *adminEnv) setAdmin(id string, perms ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if perms == nil {
		delete(a.admins, id)
	} else {
		a.admins[id] = perms
	}
}

// as makes a request as the administrator who.
func (a *adminEnv) as(who, method, path, body string) reply {
	a.t.Helper()
	return a.do(method, path, body, "X-Admin", who)
}

// with makes a request with a bearer key.
func (a *adminEnv) with(key, method, path, body string) reply {
	a.t.Helper()
	return a.do(method, path, body, "Authorization", "Bearer "+key)
}

func (a *adminEnv) createAdmin(who, body string) created {
	a.t.Helper()
	r := a.as(who, "POST", "/admin-tokens", body)
	require.Equal(a.t, 201, r.status, r.raw)
	var c created
	require.NoError(a.t, json.Unmarshal(r.Data, &c))
	return c
}

func ids(t *testing.T, r reply) []string {
	t.Helper()
	require.Equal(t, 200, r.status, r.raw)
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal(r.Data, &list))
	var out []string
	for _, tok := range list {
		out = append(out, tok.ID)
	}
	return out
}

func TestAdminTokens(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	c := a.createAdmin("alice", `{"name":"ci","permissions":["admin::api-tokens.read","admin::api-tokens.create"]}`)
	assert.Equal(t, apitoken.KindAdmin, c.Kind)
	assert.Equal(t, "alice", c.Owner, "the token belongs to whoever created it")
	assert.Equal(t, apitoken.Custom, c.Type)
	assert.Equal(t, []string{admin.PermCreate, admin.PermRead}, c.Permissions)
	require.NotEmpty(t, c.AccessKey)
	content := a.as("alice", "POST", "/api-tokens", `{"name":"site","type":"full-access"}`)
	require.Equal(t, 201, content.status, content.raw)
	var site created
	require.NoError(t, json.Unmarshal(content.Data, &site))
	assert.Equal(t, apitoken.KindContentAPI, site.Kind)

	// The admin token works on the admin API within its permissions, and
	// only there.
	r := a.with(c.AccessKey, "GET", "/api-tokens", "")
	assert.ElementsMatch(t, []string{site.ID}, ids(t, r), "lists hold their own kind only")
	r = a.with(c.AccessKey, "POST", "/api-tokens", `{"name":"made by ci"}`)
	assert.Equal(t, 201, r.status, r.raw)
	r = a.with(c.AccessKey, "DELETE", "/api-tokens/"+site.ID, "")
	assert.Equal(t, 403, r.status, "the token lacks delete: %s", r.raw)
	req, err := http.NewRequest("GET", a.server.URL+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.AccessKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 401, res.StatusCode, "an admin token on the content API")

	// A content-API token never opens the admin API, whatever its type.
	r = a.with(site.AccessKey, "GET", "/api-tokens", "")
	assert.Equal(t, 401, r.status, r.raw)
	assert.Equal(t, "Missing or invalid credentials", r.Error.Message)
	r = a.with(site.AccessKey, "GET", "/me", "")
	assert.Equal(t, 401, r.status, r.raw)

	// Each kind's routes know only their own tokens.
	assert.Equal(t, []string{c.ID}, ids(t, a.as("alice", "GET", "/admin-tokens", "")))
	for _, rt := range [][2]string{{"GET", ""}, {"PUT", ""}, {"DELETE", ""}, {"POST", "/regenerate"}, {"GET", "/access-key"}} {
		body := ""
		if rt[0] == "PUT" {
			body = `{"description":"x"}`
		}
		r = a.as("alice", rt[0], "/api-tokens/"+c.ID+rt[1], body)
		assert.Equal(t, 404, r.status, "%s /api-tokens/{admin token}%s: %s", rt[0], rt[1], r.raw)
		r = a.as("alice", rt[0], "/admin-tokens/"+site.ID+rt[1], body)
		assert.Equal(t, 404, r.status, "%s /admin-tokens/{content token}%s: %s", rt[0], rt[1], r.raw)
	}
	r = a.with(c.AccessKey, "GET", "/api-tokens", "")
	assert.Equal(t, 200, r.status, "the admin token survived: %s", r.raw)

	// Neither kind nor owner comes from a body.
	for _, body := range []string{`{"name":"x","kind":"admin"}`, `{"name":"x","owner":"bob"}`} {
		r = a.as("alice", "POST", "/api-tokens", body)
		assert.Equal(t, 400, r.status, "%s: %s", body, r.raw)
		r = a.as("bob", "POST", "/admin-tokens", body)
		assert.Equal(t, 400, r.status, "%s: %s", body, r.raw)
	}
}

func TestAdminTokenCeiling(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	r := a.as("bob", "POST", "/admin-tokens", `{"name":"wide","permissions":["admin::api-tokens.read","admin::api-tokens.delete"]}`)
	require.Equal(t, 400, r.status, r.raw)
	assert.Contains(t, r.raw, "beyond the owner's: admin::api-tokens.delete")

	c := a.createAdmin("bob", `{"name":"reader","permissions":["admin::api-tokens.read"]}`)
	r = a.as("bob", "PUT", "/admin-tokens/"+c.ID, `{"permissions":["admin::api-tokens.read","admin::api-tokens.create"]}`)
	assert.Equal(t, 400, r.status, "bob cannot grant what he lacks: %s", r.raw)
	r = a.as("alice", "PUT", "/admin-tokens/"+c.ID, `{"description":"mine now"}`)
	assert.Equal(t, 403, r.status, "nor can alice change bob's token at all: %s", r.raw)

	// Bob loses read: his token loses it on its next request, and
	// ClampOwner writes it down.
	require.Equal(t, 200, a.with(c.AccessKey, "GET", "/api-tokens", "").status)
	a.setAdmin("bob", admin.PermAdminTokensRead)
	r = a.with(c.AccessKey, "GET", "/api-tokens", "")
	assert.Equal(t, 403, r.status, r.raw)
	changed, err := a.svc.ClampOwner(context.Background(), "bob")
	require.NoError(t, err)
	require.Len(t, changed, 1)
	r = a.as("alice", "GET", "/admin-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.raw, `"permissions":[]`)

	// The host's Authorize still decides: a suspended owner's token is
	// refused though valid.
	d := a.createAdmin("alice", `{"name":"deploy","permissions":["admin::api-tokens.read"]}`)
	a.mu.Lock()
	a.suspended["alice"] = true
	a.mu.Unlock()
	assert.Equal(t, 403, a.with(d.AccessKey, "GET", "/api-tokens", "").status)
}

// TestAdminTokenOwnership: an admin token's key is its owner's alone, and
// admin tokens are managed by people, never with an admin token.
func TestAdminTokenOwnership(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{EncryptionKey: "admin-token-encryption-key-01"})
	c := a.createAdmin("alice", `{"name":"ci","permissions":["admin::admin-tokens.read","admin::admin-tokens.create","admin::admin-tokens.delete"]}`)

	r := a.as("alice", "GET", "/admin-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.raw, c.AccessKey, "the owner sees the recoverable key")
	r = a.as("bob", "GET", "/admin-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.NotContains(t, r.raw, "accessKey", "another administrator does not")
	r = a.as("bob", "GET", "/admin-tokens/"+c.ID+"/access-key", "")
	assert.Equal(t, 403, r.status, r.raw)
	assert.NotContains(t, r.raw, c.AccessKey)
	r = a.as("bob", "POST", "/admin-tokens/"+c.ID+"/regenerate", "")
	assert.Equal(t, 403, r.status, r.raw)
	assert.Equal(t, 200, a.with(c.AccessKey, "GET", "/admin-tokens", "").status, "the key still works")

	// With an admin token: reading yes, managing no, even within its
	// permissions.
	r = a.with(c.AccessKey, "GET", "/admin-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.NotContains(t, r.raw, "accessKey")
	r = a.with(c.AccessKey, "POST", "/admin-tokens", `{"name":"child","permissions":["admin::api-tokens.delete"]}`)
	assert.Equal(t, 403, r.status, r.raw)
	r = a.with(c.AccessKey, "DELETE", "/admin-tokens/"+c.ID, "")
	assert.Equal(t, 403, r.status, r.raw)
	assert.Equal(t, []string{c.ID}, ids(t, a.as("alice", "GET", "/admin-tokens", "")), "nothing was made or deleted")

	r = a.as("alice", "POST", "/admin-tokens/"+c.ID+"/regenerate", "")
	require.Equal(t, 201, r.status, r.raw)
	assert.Equal(t, 401, a.with(c.AccessKey, "GET", "/admin-tokens", "").status, "the old key died")
	r = a.as("bob", "DELETE", "/admin-tokens/"+c.ID, "")
	assert.Equal(t, 403, r.status, "bob lacks admin-tokens.delete: %s", r.raw)
	r = a.as("alice", "DELETE", "/admin-tokens/"+c.ID, "")
	assert.Equal(t, 200, r.status, r.raw)
}

func TestAdminTokenMe(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	r := a.as("bob", "GET", "/me", "")
	require.Equal(t, 200, r.status)
	var me struct {
		ID               string   `json:"id"`
		Permissions      []string `json:"permissions"`
		AdminTokens      bool     `json:"adminTokens"`
		AdminPermissions []string `json:"adminPermissions"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &me))
	assert.Equal(t, "bob", me.ID)
	assert.True(t, me.AdminTokens)
	assert.ElementsMatch(t, a.admins["bob"], me.AdminPermissions)
	assert.ElementsMatch(t, a.admins["bob"], me.Permissions)

	c := a.createAdmin("alice", `{"name":"ci","permissions":["admin::api-tokens.read"]}`)
	r = a.with(c.AccessKey, "GET", "/me", "")
	require.Equal(t, 200, r.status, r.raw)
	me.AdminPermissions = nil
	require.NoError(t, json.Unmarshal(r.Data, &me))
	assert.Equal(t, []string{admin.PermRead}, me.Permissions, "what the token may do, not all its owner may")
	assert.Equal(t, []string{}, me.AdminPermissions, "a token grants nothing")

	a.setAdmin("alice")
	assert.Equal(t, 401, a.with(c.AccessKey, "GET", "/me", "").status, "an owner removed takes the token along")
}

func TestAdminTokensOff(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{Salt: salt})
	_, err := admin.New(admin.Config{Service: svc, Authorize: func(*http.Request, string) error { return nil },
		Owner: func(*http.Request) string { return "alice" }})
	assert.ErrorContains(t, err, "OwnerPermissions", "Owner without the Service's directory is a mistake")

	e := newEnv(t, apitoken.Config{})
	r := e.do("GET", "/admin-tokens", "")
	assert.Equal(t, 404, r.status, "no admin-token routes without Owner")
	r = e.do("GET", "/settings/admin-tokens", "")
	assert.Equal(t, 404, r.status)
}

// TestKindless: a token stored without a kind (a row from before kinds) is
// a content-API token, and says so.
func TestKindless(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	h, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	now := a.svc.Now()
	old := &apitoken.Token{ID: "old", Name: "old", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, a.svc.Store().Create(context.Background(), old, h.Sum("0123456789abcdef0123456789abcdef")))
	for _, path := range []string{"/api-tokens", "/api-tokens/old"} {
		r := a.as("alice", "GET", path, "")
		require.Equal(t, 200, r.status, r.raw)
		assert.Contains(t, r.raw, `"kind":"content-api"`, path)
	}
	assert.Equal(t, 404, a.as("alice", "GET", "/admin-tokens/old", "").status)
}

// TestAdminTokenPage: Settings > Admin Tokens is the screen's page drawn for
// admin tokens (data-kind, its own title and columns, no type), behind
// admin-tokens.access; with admin tokens served, both pages carry the links
// between them, the current one marked; without, the API tokens page has
// none.
func TestAdminTokenPage(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	a.setAdmin("carol", admin.PermAccess, admin.PermRead)
	r := a.as("bob", "GET", "/settings/admin-tokens", "")
	require.Equal(t, 200, r.status, r.raw)
	assert.Contains(t, r.raw, `<html lang="en" data-base="../" data-kind="admin">`)
	assert.Contains(t, r.raw, `<title>Admin Tokens · Settings</title>`)
	assert.Contains(t, r.raw, `<a id="nav-api" class="kind-tab" href="../settings/api-tokens">`)
	assert.Contains(t, r.raw, `<a id="nav-admin" class="kind-tab" href="../settings/admin-tokens" aria-current="page">`)
	assert.Contains(t, r.raw, `class="col-owner"`)
	assert.NotContains(t, r.raw, `class="col-type"`, "admin tokens have no type")
	assert.Contains(t, r.raw, `id="permissions-kept"`)
	assert.NotRegexp(t, `<script>|<style|style="|\son[a-z]+=`, r.raw, "nothing inline for the CSP to refuse")
	assert.NotContains(t, r.raw, "API Token<", "no content-API wording left")
	assert.Equal(t, 403, a.as("carol", "GET", "/settings/admin-tokens", "").status, "admin-tokens.access guards it")

	r = a.as("carol", "GET", "/settings/api-tokens", "")
	require.Equal(t, 200, r.status, r.raw)
	assert.Contains(t, r.raw, `<html lang="en" data-base="../">`)
	assert.Contains(t, r.raw, `<title>API Tokens · Settings</title>`)
	assert.Contains(t, r.raw, `<a id="nav-api" class="kind-tab" href="../settings/api-tokens" aria-current="page">`)
	assert.Contains(t, r.raw, `class="col-type"`)
	assert.NotContains(t, r.raw, `class="col-owner"`)

	e := newEnv(t, apitoken.Config{})
	r = e.do("GET", "/settings/api-tokens", "")
	require.Equal(t, 200, r.status, r.raw)
	assert.NotContains(t, r.raw, "kind-nav", "no admin tokens, no link to them")
	assert.NotContains(t, r.raw, "admin-tokens")
}

// TestAdminTokenAudit: the audit events of changes name who made them, in
// person or with an admin token.
func TestAdminTokenAudit(t *testing.T) {
	var mu sync.Mutex
	var events []apitoken.Event
	a := newAdminEnv(t, apitoken.Config{OnEvent: func(_ context.Context, e apitoken.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}})
	last := func() apitoken.Event {
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, events)
		return events[len(events)-1]
	}
	c := a.createAdmin("alice", `{"name":"ci","permissions":["admin::api-tokens.create","admin::api-tokens.delete"]}`)
	e := last()
	assert.Equal(t, apitoken.EventCreated, e.Kind)
	assert.Equal(t, "alice", e.Actor, "in person")
	assert.Empty(t, e.ActorTokenID)

	r := a.with(c.AccessKey, "POST", "/api-tokens", `{"name":"made by ci"}`)
	require.Equal(t, 201, r.status, r.raw)
	e = last()
	assert.Equal(t, apitoken.EventCreated, e.Kind)
	assert.Equal(t, "made by ci", e.TokenName)
	assert.Equal(t, "alice", e.Actor, "the admin token's owner")
	assert.Equal(t, c.ID, e.ActorTokenID, "with her admin token")
	var made created
	require.NoError(t, json.Unmarshal(r.Data, &made))
	a.setAdmin("bob", admin.PermDelete)
	require.Equal(t, 200, a.as("bob", "DELETE", "/api-tokens/"+made.ID, "").status)
	e = last()
	assert.Equal(t, apitoken.EventDeleted, e.Kind)
	assert.Equal(t, "bob", e.Actor)
}
