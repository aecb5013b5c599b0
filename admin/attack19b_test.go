package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestAttack19bNonOwnerWidensAdminToken: PUT /admin-tokens/{id} checks a
// grant against the token's owner's permissions only, never against those
// of the administrator making it, and is not limited to the owner as
// regenerate and reveal are. So bob, who holds admin::admin-tokens.update
// but not admin::api-tokens.delete, can give alice's CI token
// admin::api-tokens.delete: a permission bob does not hold and alice did
// not grant. Whoever holds that token (the CI system, which bob may well
// reach, or whoever it leaked to) now deletes content tokens. The same PUT
// lets bob lift the token's address allowlist or make it unlimited.
//
// Should: refused (403 or 400), as an administrator cannot grant what they
// lack, and the token still cannot delete. Does: 200, and the token
// deletes a content token.
func TestAttack19bNonOwnerWidensAdminToken(t *testing.T) {
	a := newAdminEnv(t, apitoken.Config{})
	require.NotContains(t, a.admins["bob"], admin.PermDelete, "bob cannot delete API tokens")
	c := a.createAdmin("alice", `{"name":"ci","permissions":["admin::api-tokens.read"]}`)
	site := a.as("alice", "POST", "/api-tokens", `{"name":"site"}`)
	require.Equal(t, 201, site.status, site.raw)
	var s created
	require.NoError(t, json.Unmarshal(site.Data, &s))

	r := a.as("bob", "PUT", "/admin-tokens/"+c.ID, `{"permissions":["admin::api-tokens.read","admin::api-tokens.delete"]}`)
	assert.Contains(t, []int{400, 403}, r.status, "bob granted a permission he does not hold to alice's token: %s", r.raw)

	r = a.with(c.AccessKey, "DELETE", "/api-tokens/"+s.ID, "")
	assert.Equal(t, 403, r.status, "alice's token, widened by bob, deletes a content token: %s", r.raw)
}

// TestAttack19bHungDirectoryHoldsAdminTokenRequest: admin.Config.Timeout
// "bounds each request's work, so that a hung database answers 503 instead
// of holding the administrator", and apitoken.Config.LookupTimeout bounds
// the key lookup. A request with an admin token also asks the host's
// directory (OwnerPermissions) for the owner's permissions, in
// RequireAdmin, which the handler runs before its timeout starts, with the
// request's own context and no bound at all. A directory that hangs (an
// LDAP server that accepts and never answers) then holds every admin-token
// request, and its goroutine and connection, for as long as the client
// waits: a person's request to the same handler, whose directory calls run
// inside the timeout, gets its answer (/me without the grantable
// permissions).
//
// Should: 503 within about Timeout. Does: no answer until the client gives
// up.
func TestAttack19bHungDirectoryHoldsAdminTokenRequest(t *testing.T) {
	var hang atomic.Bool
	directory := func(ctx context.Context, owner string) ([]string, error) {
		if hang.Load() {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return admin.Permissions, nil
	}
	logger := slog.New(slog.DiscardHandler)
	svc := apitokentest.New(t, apitoken.Config{Salt: salt, Logger: logger, OwnerPermissions: directory,
		LookupTimeout: 100 * time.Millisecond})
	h, err := admin.New(admin.Config{Service: svc, Logger: logger, Timeout: 100 * time.Millisecond,
		Owner:     func(r *http.Request) string { return r.Header.Get("X-Admin") },
		Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	a := &env{t: t, svc: svc, server: newServer(t, mux)}
	_, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{admin.PermRead}})
	require.NoError(t, err)
	require.Equal(t, 200, a.do("GET", "/api-tokens", "", "Authorization", "Bearer "+key).status)

	hang.Store(true)
	r := a.do("GET", "/me", "", "X-Admin", "alice")
	assert.Equal(t, 200, r.status, "a person's /me is bounded by Timeout, and answers without what cannot be asked: %s", r.raw)
	assert.Contains(t, r.raw, `"adminPermissions":[]`)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", a.server.URL+"/admin/api-tokens", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if !assert.NoError(t, err, "the admin-token request got no answer while the directory hung") {
		return
	}
	res.Body.Close()
	assert.Equal(t, 503, res.StatusCode)
}
