package openapitest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-apitoken/apitoken/admin"
)

// route is one call of an operation, and the admin permission that
// Authorize asks for it ("" for any administrator).
type route struct {
	call
	perm string
}

// routes returns a call of every operation, on the content-API token
// contentID and the admin token adminID.
func routes(contentID, adminID string) []route {
	ct, at := "/api-tokens/"+contentID, "/admin-tokens/"+adminID
	return []route{
		{call{op: "getScreen", method: "GET", path: "/"}, admin.PermAccess},
		{call{op: "getScreenSettings", method: "GET", path: "/settings/api-tokens"}, admin.PermAccess},
		{call{op: "getScreenAdminTokens", method: "GET", path: "/settings/admin-tokens"}, admin.PermAdminTokensAccess},
		{call{op: "getOpenAPI", method: "GET", path: "/openapi.json"}, ""},
		{call{op: "getMe", method: "GET", path: "/me"}, ""},
		{call{op: "getContentApiPermissions", method: "GET", path: "/content-api/permissions"}, ""},

		{call{op: "listTokens", method: "GET", path: "/api-tokens"}, admin.PermRead},
		{call{op: "createToken", method: "POST", path: "/api-tokens", body: `{"name":"refused"}`}, admin.PermCreate},
		{call{op: "getToken", method: "GET", path: ct}, admin.PermRead},
		{call{op: "updateToken", method: "PUT", path: ct, body: `{"name":"x"}`}, admin.PermUpdate},
		{call{op: "deleteToken", method: "DELETE", path: ct}, admin.PermDelete},
		{call{op: "regenerateToken", method: "POST", path: ct + "/regenerate"}, admin.PermRegenerate},
		{call{op: "revealKey", method: "GET", path: ct + "/access-key"}, admin.PermRead},

		{call{op: "listAdminTokens", method: "GET", path: "/admin-tokens"}, admin.PermAdminTokensRead},
		{call{op: "createAdminToken", method: "POST", path: "/admin-tokens", body: `{"name":"refused","permissions":[]}`},
			admin.PermAdminTokensCreate},
		{call{op: "getAdminToken", method: "GET", path: at}, admin.PermAdminTokensRead},
		{call{op: "updateAdminToken", method: "PUT", path: at, body: `{"name":"x"}`}, admin.PermAdminTokensUpdate},
		{call{op: "deleteAdminToken", method: "DELETE", path: at}, admin.PermAdminTokensDelete},
		{call{op: "regenerateAdminToken", method: "POST", path: at + "/regenerate"}, admin.PermAdminTokensRegenerate},
		{call{op: "revealAdminKey", method: "GET", path: at + "/access-key"}, admin.PermAdminTokensRead},
	}
}

// static are the operations that answer while neither the store nor the
// directory of administrators can, when an administrator calls them in
// person (getMe without what the administrator may grant).
var static = map[string]bool{"getScreen": true, "getScreenSettings": true, "getScreenAdminTokens": true, "getOpenAPI": true,
	"getContentApiPermissions": true, "getMe": true}

// refusals drives every route through the refusals that any route gives:
// no credentials, too few permissions, a refused admin token, and the
// store down. None of them changes a token.
func refusals(t *testing.T, r *rig, contentID string, k keys) {
	all := routes(contentID, k.id)
	for _, rt := range all {
		c := rt.call
		c.status, c.header, c.badRequest = 401, none, true
		r.do(c)
		if rt.perm == "" {
			continue // any administrator may
		}
		r.grant(user, []string{})
		c.status, c.header, c.badRequest = 403, nil, false
		r.do(c)
		r.grant(user, admin.Permissions)
	}

	// Admin tokens refused, with the middleware's answers.
	for _, rt := range all {
		c := rt.call
		c.bearer, c.twice, c.status = k.all, true, 400 // and the Basic credentials
		res := r.do(c)
		assert.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_request"`, c.op)
		c.bearer, c.twice, c.status = k.content, false, 401
		res = r.do(c)
		assert.Contains(t, res.header.Get("WWW-Authenticate"), `error="invalid_token"`, "%s: a content-API key", c.op)
		c.bearer, c.status = k.fenced, 403
		res = r.do(c)
		assert.Contains(t, res.body, "not allowed from this address", c.op)
		if rt.perm != "" && rt.perm != admin.PermRead {
			c.bearer = k.narrow
			res = r.do(c)
			assert.Contains(t, res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`, "%s: a permission the token lacks", c.op)
		}
		c.bearer, c.status = k.spent, 429
		res = r.do(c)
		assert.NotEmpty(t, res.header.Get("Retry-After"), c.op)
	}

	// The store is down, and the directory of administrators with it: 503
	// from every route that asks them, and from every admin token.
	r.store.down.Store(true)
	for _, rt := range all {
		c := rt.call
		c.status = 503
		if static[c.op] {
			c.status = 200
		}
		r.do(c)
		c.bearer, c.status = k.all, 503
		r.do(c)
	}
	r.store.down.Store(false)
}
