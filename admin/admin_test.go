package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

const salt = "admin-test-salt-0123456789"

// env is an admin handler mounted under /admin/ on a real HTTP server, with
// an administrator whose permissions the test sets. The handler logs to
// cfg.Logger, as the Service does; by default nowhere.
type env struct {
	t      testing.TB
	svc    *apitoken.Service
	server *httptest.Server
	perms  []string // nil: not signed in
}

func newEnv(t testing.TB, cfg apitoken.Config) *env {
	t.Helper()
	cfg.Salt = salt
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	svc := apitokentest.New(t, cfg)
	e := &env{t: t, svc: svc, perms: admin.Permissions}
	h, err := admin.New(admin.Config{Service: svc, Logger: cfg.Logger, Authorize: func(r *http.Request, perm string) error {
		switch {
		case e.perms == nil:
			return admin.ErrUnauthenticated
		case perm != "" && !slices.Contains(e.perms, perm):
			return admin.ErrForbidden
		}
		return nil
	}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	svc.HandleCollection(mux, "/api/articles", "api::article.article", apitoken.Collection{
		Find:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		Create: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }),
	})
	e.server = newServer(t, mux)
	return e
}

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

type reply struct {
	status int
	header http.Header
	raw    string
	Data   json.RawMessage `json:"data"`
	Error  *struct {
		Status  int    `json:"status"`
		Name    string `json:"name"`
		Message string `json:"message"`
		Details struct {
			Errors []apitoken.FieldError `json:"errors"`
		} `json:"details"`
	} `json:"error"`
}

func (e *env) do(method, path, body string, header ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.server.URL+"/admin"+path, strings.NewReader(body))
	require.NoError(e.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(e.t, json.Unmarshal(raw, &r), "%s", raw)
	}
	return r
}

type created struct {
	apitoken.Token
	AccessKey string `json:"accessKey"`
}

func (e *env) create(body string) created {
	e.t.Helper()
	r := e.do("POST", "/api-tokens", body)
	require.Equal(e.t, 201, r.status, r.raw)
	var c created
	require.NoError(e.t, json.Unmarshal(r.Data, &c))
	return c
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	c := e.create(`{"name":"ci","description":"deploys","type":"custom","lifespan":604800000,"permissions":["api::article.article.find"]}`)
	assert.Regexp(t, `^[0-9a-f]{256}$`, c.AccessKey)
	assert.Equal(t, "ci", c.Name)
	assert.Equal(t, apitoken.Days7, c.Lifespan)
	require.NotNil(t, c.ExpiresAt)

	r := e.do("GET", "/api-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.NotContains(t, r.raw, "accessKey", "the key is shown only once")

	// Editing the description keeps the expiry; a lifespan restarts it.
	r = e.do("PUT", "/api-tokens/"+c.ID, `{"description":"edited"}`)
	require.Equal(t, 200, r.status, r.raw)
	var got apitoken.Token
	require.NoError(t, json.Unmarshal(r.Data, &got))
	assert.Equal(t, "edited", got.Description)
	assert.True(t, c.ExpiresAt.Equal(*got.ExpiresAt))
	r = e.do("PUT", "/api-tokens/"+c.ID, `{"lifespan":null}`)
	require.Equal(t, 200, r.status, r.raw)
	require.NoError(t, json.Unmarshal(r.Data, &got))
	assert.Nil(t, got.ExpiresAt, "null lifespan: unlimited")
	r = e.do("PUT", "/api-tokens/"+c.ID, `{"type":"read-only"}`)
	require.Equal(t, 200, r.status, r.raw)
	assert.Contains(t, r.raw, `"permissions":[]`, "Strapi writes an empty list")

	r = e.do("POST", "/api-tokens/"+c.ID+"/regenerate", "")
	require.Equal(t, 201, r.status, r.raw)
	var regen struct{ ID, AccessKey string }
	require.NoError(t, json.Unmarshal(r.Data, &regen))
	assert.Equal(t, c.ID, regen.ID)
	_, err := e.svc.Verify(context.Background(), c.AccessKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the old key died")

	r = e.do("POST", "/api-tokens/"+c.ID+"/regenerate", `{"overlap":86400000}`)
	require.Equal(t, 201, r.status, r.raw)
	_, err = e.svc.Verify(context.Background(), regen.AccessKey)
	assert.NoError(t, err, "with an overlap the previous key keeps working")

	r = e.do("DELETE", "/api-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.raw, `"name":"ci"`, "delete answers the deleted token")
	assert.Equal(t, 404, e.do("GET", "/api-tokens/"+c.ID, "").status)
	r = e.do("DELETE", "/api-tokens/"+c.ID, "")
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "NotFoundError", r.Error.Name)
}

func TestListHidesSecrets(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	var keys []string
	for _, n := range []string{"b", "a", "c"} {
		keys = append(keys, e.create(`{"name":"`+n+`"}`).AccessKey)
	}
	r := e.do("GET", "/api-tokens", "")
	require.Equal(t, 200, r.status)
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal(r.Data, &list))
	require.Len(t, list, 3)
	assert.Equal(t, []string{"a", "b", "c"}, []string{list[0].Name, list[1].Name, list[2].Name})
	h, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	for _, k := range keys {
		assert.NotContains(t, r.raw, k)
		assert.NotContains(t, r.raw, h.Sum(k).Hex())
	}
	assert.NotContains(t, r.raw, "accessKey")
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	id := e.create(`{"name":"x"}`).ID
	routes := []struct{ method, path, body, perm string }{
		{"GET", "/", "", admin.PermAccess},
		{"GET", "/settings/api-tokens", "", admin.PermAccess},
		{"GET", "/api-tokens", "", admin.PermRead},
		{"GET", "/api-tokens/" + id, "", admin.PermRead},
		{"POST", "/api-tokens", `{"name":"new"}`, admin.PermCreate},
		{"PUT", "/api-tokens/" + id, `{"description":"d"}`, admin.PermUpdate},
		{"POST", "/api-tokens/" + id + "/regenerate", "", admin.PermRegenerate},
		{"DELETE", "/api-tokens/" + id, "", admin.PermDelete},
		{"GET", "/content-api/permissions", "", ""},
		{"GET", "/me", "", ""},
	}
	for _, rt := range routes {
		e.perms = nil
		r := e.do(rt.method, rt.path, rt.body)
		assert.Equal(t, 401, r.status, "%s %s without an admin", rt.method, rt.path)
		if r.Error != nil {
			assert.Equal(t, "UnauthorizedError", r.Error.Name)
		}
		if rt.perm == "" {
			continue
		}
		e.perms = slices.DeleteFunc(slices.Clone(admin.Permissions), func(p string) bool { return p == rt.perm })
		r = e.do(rt.method, rt.path, rt.body)
		assert.Equal(t, 403, r.status, "%s %s without %s", rt.method, rt.path, rt.perm)
		e.perms = []string{rt.perm}
		r = e.do(rt.method, rt.path, rt.body)
		assert.Less(t, r.status, 300, "%s %s with only %s: %s", rt.method, rt.path, rt.perm, r.raw)
	}
	_, err := e.svc.Get(context.Background(), id)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the permitted delete ran")

	e.perms = []string{admin.PermRead, admin.PermAccess}
	r := e.do("GET", "/me", "")
	assert.JSONEq(t, `{"permissions":["admin::api-tokens.access","admin::api-tokens.read"],"durations":[604800000,2592000000,7776000000,null],"canReveal":false,"adminTokens":false}`, string(r.Data))
}

// API tokens are for the content API, never the admin one.
func TestAPITokenIsNoAdmin(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	key := e.create(`{"name":"full","type":"full-access"}`).AccessKey
	e.perms = nil
	assert.Equal(t, 401, e.do("GET", "/api-tokens", "", "Authorization", "Bearer "+key).status)
}

func TestValidationErrors(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	e.svc.Actions().Register("api::article.article.find")
	id := e.create(`{"name":"taken"}`).ID
	tests := []struct {
		name, method, path, body string
		status                   int
		field, message           string
	}{
		{"taken name", "POST", "/api-tokens", `{"name":"taken"}`, 400, "name", "Name already taken"},
		{"no name", "POST", "/api-tokens", `{}`, 400, "name", "name is a required field"},
		{"long name", "POST", "/api-tokens", `{"name":"` + strings.Repeat("n", 101) + `"}`, 400, "name", "name must be at most 100 characters"},
		{"bad type", "POST", "/api-tokens", `{"name":"t","type":"root"}`, 400, "type", "type must be one of the following values: read-only, full-access, custom"},
		{"bad lifespan", "POST", "/api-tokens", `{"name":"l","lifespan":1000}`, 400, "lifespan", "lifespan must be one of the following values: 604800000, 2592000000, 7776000000, null"},
		{"negative lifespan", "POST", "/api-tokens", `{"name":"l","lifespan":-1}`, 400, "lifespan", "lifespan must be null or a positive number of milliseconds"},
		{"perms on read-only", "POST", "/api-tokens", `{"name":"p","permissions":["api::article.article.find"]}`, 400, "permissions", "Non-custom tokens should not reference permissions"},
		{"custom without perms", "POST", "/api-tokens", `{"name":"c","type":"custom"}`, 400, "permissions", "Missing permissions attribute for custom token"},
		{"unknown action", "POST", "/api-tokens", `{"name":"u","type":"custom","permissions":["api::x.x.x"]}`, 400, "permissions", "Unknown permissions provided: api::x.x.x"},
		{"unknown field", "POST", "/api-tokens", `{"name":"f","admin":true}`, 400, "admin", "admin is not a known field"},
		{"wrong type", "POST", "/api-tokens", `{"name":42}`, 400, "name", "name must be of type string"},
		{"wrong type in list", "POST", "/api-tokens", `{"name":"w","type":"custom","permissions":"api::article.article.find"}`, 400, "permissions", "permissions must be of type array"},
		{"malformed", "POST", "/api-tokens", `{"name":`, 400, "", "the JSON body ends too soon"},
		{"syntax", "POST", "/api-tokens", `{"name" "x"}`, 400, "", "malformed JSON at byte 9"},
		{"not an object", "POST", "/api-tokens", `["x"]`, 400, "", "the body must be a JSON object"},
		{"trailing data", "POST", "/api-tokens", `{"name":"t1"} {"name":"t2"}`, 400, "", "unexpected data after the JSON object"},
		{"trailing garbage", "POST", "/api-tokens", `{"name":"t1"}x`, 400, "", "unexpected data after the JSON object"},
		{"empty", "POST", "/api-tokens", ` `, 400, "", "the request needs a JSON body"},
		{"update lifespan", "PUT", "/api-tokens/" + id, `{"lifespan":"7d"}`, 400, "lifespan", "lifespan must be null or a number of milliseconds"},
		{"update unknown", "PUT", "/api-tokens/" + id, `{"id":"other"}`, 400, "id", "id is not a known field"},
		{"negative overlap", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":-1}`, 400, "overlap", "overlap must be between 0 and 30 days"},
		{"long overlap", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":2678400000}`, 400, "overlap", "overlap must be between 0 and 30 days"},
		{"huge overlap", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":9223372036854775807}`, 400, "overlap", "overlap must be between 0 and 30 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			require.Equal(t, tt.status, r.status, r.raw)
			require.NotNil(t, r.Error)
			assert.Equal(t, "ValidationError", r.Error.Name)
			assert.Equal(t, tt.message, r.Error.Message)
			require.Len(t, r.Error.Details.Errors, 1, r.raw)
			if tt.field == "" {
				assert.Empty(t, r.Error.Details.Errors[0].Path)
			} else {
				assert.Equal(t, []string{tt.field}, r.Error.Details.Errors[0].Path)
			}
		})
	}
	list, err := e.svc.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1, "refused requests stored nothing")
}

func TestOversizedBody(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	r := e.do("POST", "/api-tokens", `{"name":"big","description":"`+strings.Repeat("x", 70<<10)+`"}`)
	assert.Equal(t, 413, r.status)
	assert.Equal(t, "PayloadTooLargeError", r.Error.Name)
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	r := e.do("POST", "/api-tokens", `{"name":"forged"}`, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, 403, r.status, "a cross-site POST is refused")
	assert.JSONEq(t, `{"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Cross-origin request refused","details":{}}}`, r.raw)
	for _, method := range []string{"PUT", "DELETE"} { // any id: the refusal comes before routing
		assert.Equal(t, 403, e.do(method, "/api-tokens/x", `{}`, "Sec-Fetch-Site", "cross-site").status, method)
	}
	r = e.do("POST", "/api-tokens", `{"name":"forged"}`, "Origin", "https://evil.example")
	assert.Equal(t, 403, r.status, "a foreign Origin is refused")
	assert.Equal(t, 200, e.do("GET", "/api-tokens", "", "Sec-Fetch-Site", "cross-site").status, "safe methods pass")
	assert.Equal(t, 201, e.do("POST", "/api-tokens", `{"name":"same"}`, "Sec-Fetch-Site", "same-origin").status)
	list, err := e.svc.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestPageHeaders(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	r := e.do("GET", "/", "")
	require.Equal(t, 200, r.status)
	csp := r.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "script-src 'self'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
	assert.Contains(t, r.header.Get("Content-Type"), "text/html")
	assert.NotContains(t, r.raw, "<script>", "no inline script")
	assert.Equal(t, 404, e.do("GET", "/nope", "").status)
}

func TestNamesAreEscaped(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	const xss = `<img src=x onerror=alert(1)>`
	e.create(`{"name":"` + xss + `"}`)
	r := e.do("GET", "/api-tokens", "")
	assert.NotContains(t, r.raw, xss, "JSON escapes markup")
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal(r.Data, &list))
	assert.Equal(t, xss, list[0].Name, "and keeps the name exactly")
}

func TestContentAPIPermissions(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	r := e.do("GET", "/content-api/permissions", "")
	require.Equal(t, 200, r.status)
	assert.JSONEq(t, `{"api::article":{"controllers":{"article":["create","find"]}}}`, string(r.Data))
}

func TestReveal(t *testing.T) {
	e := newEnv(t, apitoken.Config{EncryptionKey: "admin-test-encryption-key"})
	c := e.create(`{"name":"recoverable"}`)
	r := e.do("GET", "/api-tokens/"+c.ID+"/access-key", "")
	require.Equal(t, 200, r.status, r.raw)
	assert.JSONEq(t, `{"accessKey":"`+c.AccessKey+`"}`, string(r.Data))
	e.perms = []string{admin.PermCreate}
	assert.Equal(t, 403, e.do("GET", "/api-tokens/"+c.ID+"/access-key", "").status, "reveal needs read")

	plain := newEnv(t, apitoken.Config{})
	c = plain.create(`{"name":"not recoverable"}`)
	r = plain.do("GET", "/api-tokens/"+c.ID+"/access-key", "")
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "This key cannot be shown again", r.Error.Message)
}

func TestStoreFailureIsNotLeaked(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	c := e.create(`{"name":"x"}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := e.svc.Get(ctx, c.ID)
	require.NoError(t, err)
	assert.NotContains(t, e.do("GET", "/api-tokens/"+c.ID, "").raw, c.AccessKey)
}
