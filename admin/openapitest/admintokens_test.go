package openapitest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// keys are user's admin tokens that the refusals use as bearer keys.
type keys struct {
	id      string // of an admin token that stays, for the paths that need one
	all     string // every admin permission
	narrow  string // admin::api-tokens.read only
	fenced  string // every admin permission, from 192.0.2.0/24 only
	spent   string // every admin permission, one request a day, made
	content string // a content-API token's, which the admin API refuses
}

// me is the data of getMe.
type me struct {
	Permissions      []string `json:"permissions"`
	AdminTokens      bool     `json:"adminTokens"`
	ID               string   `json:"id"`
	AdminPermissions []string `json:"adminPermissions"`
}

// adminTokens drives the routes of admin tokens: by their owner, by another
// administrator, and with an admin token. It returns the keys of user's
// admin tokens for refusals, and content's key, a content-API token's.
func adminTokens(t *testing.T, r *rig, content created) keys {
	k := keys{content: content.AccessKey}
	all, err := json.Marshal(admin.Permissions)
	require.NoError(t, err)

	// Who asks, and what they may grant.
	var m me
	data(t, r.do(call{op: "getMe", method: "GET", path: "/me", status: 200}), &m)
	assert.True(t, m.AdminTokens)
	assert.Equal(t, user, m.ID)
	assert.ElementsMatch(t, admin.Permissions, m.AdminPermissions)
	assert.ElementsMatch(t, admin.Permissions, m.Permissions)
	asOther := map[string]string{"Authorization": basic(other, otherPassword)}
	m = me{}
	data(t, r.do(call{op: "getMe", method: "GET", path: "/me", header: asOther, status: 200}), &m)
	assert.Equal(t, other, m.ID)
	assert.ElementsMatch(t, otherPerms, m.AdminPermissions)
	r.do(call{op: "getScreenAdminTokens", method: "GET", path: "/settings/admin-tokens", status: 200})

	// Create: owned by whoever asks, within their permissions; kind and
	// owner are no fields of a body.
	var deploy, ci created
	res := r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 201,
		body: `{"name":"deploy","description":"the deploy job","lifespan":604800000,"permissions":` + string(all) + `}`})
	data(t, res, &deploy)
	assert.Equal(t, apitoken.KindAdmin, deploy.Kind)
	assert.Equal(t, user, deploy.Owner)
	assert.NotEmpty(t, deploy.AccessKey)
	k.id, k.all = deploy.ID, deploy.AccessKey
	res = r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 201,
		body: `{"name":"release","type":"custom","permissions":["admin::api-tokens.read","admin::api-tokens.create"]}`})
	data(t, res, &ci)
	etag := res.header.Get("ETag")
	k.narrow = r.createAdmin(`{"name":"narrow","permissions":["admin::api-tokens.read"]}`)
	k.fenced = r.createAdmin(`{"name":"fenced","allowedIPs":["192.0.2.0/24"],"permissions":` + string(all) + `}`)
	k.spent = r.createAdmin(fmt.Sprintf(`{"name":"spent","rateLimit":{"requests":1,"window":%d},"permissions":%s}`, dayMS, all))
	res = r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 400, header: asOther,
		body: `{"name":"wide","permissions":["admin::api-tokens.delete"]}`})
	assert.Contains(t, res.body, "Permissions beyond the owner's: admin::api-tokens.delete")
	r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 400, body: `{"name":"release","permissions":[]}`}) // taken
	for _, body := range []string{
		`{"name":"x","permissions":[],"kind":"admin"}`,
		`{"name":"x","permissions":[],"owner":"` + other + `"}`,
		`{"name":"x","permissions":[],"type":"full-access"}`,
		`{"name":"x"}`, // an admin token is custom: it needs its permissions
		`{"name":"x","permissions":["api::article.article.find",7]}`,
	} {
		r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 400, body: body, badRequest: true})
	}
	r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 413, body: big, badRequest: true})
	r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 403, body: `{"name":"x","permissions":[]}`,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	res = r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", status: 403, bearer: k.all,
		body: `{"name":"child","permissions":[]}`})
	assert.Contains(t, res.body, "managed by administrators", "a token makes no tokens")

	// Read: the key only to its owner, in person.
	r.do(call{op: "listAdminTokens", method: "GET", path: "/admin-tokens", status: 200})
	r.do(call{op: "listAdminTokens", method: "GET", path: "/admin-tokens?page=1&pageSize=2&sort=name:asc&q=release&type=custom&status=active&idle=1d", status: 200})
	r.do(call{op: "listAdminTokens", method: "GET", path: "/admin-tokens?idle=90", status: 400, badRequest: true})
	res = r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/" + ci.ID, status: 200})
	assert.Contains(t, res.body, ci.AccessKey, "the owner sees the recoverable key")
	res = r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/" + ci.ID, header: asOther, status: 200})
	assert.NotContains(t, res.body, "accessKey", "another administrator does not")
	r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/" + content.ID, status: 404}) // each kind's routes, their own
	r.do(call{op: "getToken", method: "GET", path: "/api-tokens/" + ci.ID, status: 404})
	r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/no-such-id", status: 404})
	r.do(call{op: "revealAdminKey", method: "GET", path: "/admin-tokens/" + ci.ID + "/access-key", status: 200})
	res = r.do(call{op: "revealAdminKey", method: "GET", path: "/admin-tokens/" + ci.ID + "/access-key", header: asOther, status: 403})
	assert.NotContains(t, res.body, ci.AccessKey)
	r.do(call{op: "revealAdminKey", method: "GET", path: "/admin-tokens/no-such-id/access-key", status: 404})

	// Update: by the owner only, within the owner's permissions.
	res = r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 200,
		body:   `{"description":"the CI, weekly","permissions":["admin::api-tokens.read","admin::api-tokens.update"]}`,
		header: map[string]string{"If-Match": etag}})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 412, body: `{"description":"stale"}`,
		header: map[string]string{"If-Match": etag}})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 403, header: asOther,
		body: `{"lifespan":null,"rateLimit":{"requests":100,"window":60000}}`})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 200,
		body: `{"lifespan":null,"rateLimit":{"requests":100,"window":60000}}`})
	res = r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 400,
		body: `{"permissions":["admin::users.read"]}`})
	assert.Contains(t, res.body, "Permissions beyond the owner's: admin::users.read")
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 400, body: `{"owner":"` + other + `"}`,
		badRequest: true})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 400, body: `{"type":"read-only"}`,
		badRequest: true})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 400, body: `{"name":"x"}`,
		header: map[string]string{"If-Match": "not-a-tag"}})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, status: 413, body: big, badRequest: true})
	r.do(call{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/no-such-id", status: 404, body: `{"name":"x"}`})

	// Regenerate: by the owner only, in person.
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + ci.ID + "/regenerate", status: 201})
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + ci.ID + "/regenerate", status: 201,
		body: `{"overlap":60000}`})
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + ci.ID + "/regenerate", status: 403, header: asOther})
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + ci.ID + "/regenerate", status: 400,
		body: `{"overlap":-1}`, badRequest: true})
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + ci.ID + "/regenerate", status: 413,
		body: `{"overlap":` + strings.Repeat("1", 5<<10) + `}`, badRequest: true})
	r.do(call{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/no-such-id/regenerate", status: 404})

	// An admin token whose key cannot be shown again: issued by a Service
	// without an encryption key, on the same store.
	plain, _, err := apitokentest.New(t, apitoken.Config{Store: r.store, OwnerPermissions: r.ownerPermissions}).Create(
		context.Background(), apitoken.CreateParams{Name: "plain admin", Kind: apitoken.KindAdmin, Owner: user, Permissions: []string{}})
	require.NoError(t, err)
	r.do(call{op: "revealAdminKey", method: "GET", path: "/admin-tokens/" + plain.ID + "/access-key", status: 400})
	res = r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/" + plain.ID, status: 200})
	assert.NotContains(t, res.body, "accessKey")

	// With an admin token: every route within its permissions, admin
	// tokens read but never managed, and no admin token's key.
	m = me{}
	res = r.do(call{op: "getMe", method: "GET", path: "/me", bearer: k.narrow, status: 200})
	data(t, res, &m)
	assert.Equal(t, []string{admin.PermRead}, m.Permissions, "what the token may do")
	assert.Equal(t, user, m.ID)
	assert.Equal(t, []string{}, m.AdminPermissions, "a token grants nothing")
	res = r.do(call{op: "getMe", method: "GET", path: "/me", bearer: k.spent, status: 200})
	assert.NotEmpty(t, res.header.Get("RateLimit"), "the one request of the day")
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens", bearer: k.narrow, status: 200})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", bearer: k.all, body: `{"name":"made by deploy"}`, status: 201})
	r.do(call{op: "getScreenAdminTokens", method: "GET", path: "/settings/admin-tokens", bearer: k.all, status: 200})
	r.do(call{op: "listAdminTokens", method: "GET", path: "/admin-tokens", bearer: k.all, status: 200})
	res = r.do(call{op: "getAdminToken", method: "GET", path: "/admin-tokens/" + deploy.ID, bearer: k.all, status: 200})
	assert.NotContains(t, res.body, "accessKey", "not even its own key")
	for _, c := range []call{
		{op: "updateAdminToken", method: "PUT", path: "/admin-tokens/" + ci.ID, body: `{"description":"x"}`},
		{op: "deleteAdminToken", method: "DELETE", path: "/admin-tokens/" + ci.ID},
		{op: "regenerateAdminToken", method: "POST", path: "/admin-tokens/" + deploy.ID + "/regenerate"},
		{op: "revealAdminKey", method: "GET", path: "/admin-tokens/" + deploy.ID + "/access-key"},
	} {
		c.bearer, c.status = k.all, 403
		res = r.do(c)
		assert.NotContains(t, res.body, deploy.AccessKey)
	}

	// Delete.
	r.do(call{op: "deleteAdminToken", method: "DELETE", path: "/admin-tokens/" + ci.ID, status: 200})
	r.do(call{op: "deleteAdminToken", method: "DELETE", path: "/admin-tokens/" + ci.ID, status: 404})
	return k
}

// basic returns the Authorization value of Basic credentials.
func basic(name, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+pass))
}

// createAdmin creates an admin token of user and returns its key.
func (r *rig) createAdmin(body string) string {
	r.t.Helper()
	var c created
	data(r.t, r.do(call{op: "createAdminToken", method: "POST", path: "/admin-tokens", body: body, status: 201}), &c)
	return c.AccessKey
}
