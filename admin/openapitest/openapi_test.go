package openapitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// downStore is a memstore that fails every call while down is set, as a
// store whose database is down.
type downStore struct {
	*memstore.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *downStore) fail() error {
	if s.down.Load() {
		return errDown
	}
	return nil
}

func (s *downStore) Create(ctx context.Context, t *apitoken.Token, h apitoken.Hash) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Create(ctx, t, h)
}

func (s *downStore) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, id)
}

func (s *downStore) List(ctx context.Context) ([]*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.List(ctx)
}

func (s *downStore) Update(ctx context.Context, id string, f func(*apitoken.Token) error) (*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Update(ctx, id, f)
}

func (s *downStore) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.SetKey(ctx, id, k)
}

func (s *downStore) Delete(ctx context.Context, id string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, id)
}

// rig is the admin handler under /admin/ on a real HTTP server, serving
// admin tokens, and the validator of the document the handler serves. Its
// Authorize takes Basic credentials (the document's basicAuth scheme) of two
// administrators, user and other, with the admin permissions of the host's
// directory (admins), which also says what their admin tokens may hold; a
// request with an admin token reaches Authorize only once RequireAdmin has
// checked the token, and is let through.
type rig struct {
	t        *testing.T
	store    *downStore
	server   *httptest.Server
	mu       sync.Mutex
	admins   map[string][]string // the host's directory of administrators; down with the store
	validate validator.Validator
	doc      map[string]any // the document, for the list of its operations
	seen     map[string]map[string]bool
}

// The administrators: user, who holds every admin permission, and other,
// who holds fewer and owns none of the test's admin tokens.
const (
	user, password       = "admin@example.com", "secret-password"
	other, otherPassword = "editor@example.com", "editor-password"
)

const (
	encryptionKey     = "openapitest-encryption-key"
	dayMS         int = 24 * 60 * 60 * 1000
)

var passwords = map[string]string{user: password, other: otherPassword}

// otherPerms are other's admin permissions: no api-tokens.delete, so that
// other cannot grant it.
var otherPerms = []string{admin.PermAccess, admin.PermRead, admin.PermAdminTokensAccess, admin.PermAdminTokensRead,
	admin.PermAdminTokensCreate, admin.PermAdminTokensUpdate, admin.PermAdminTokensRegenerate}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, store: &downStore{Store: memstore.New()}, seen: map[string]map[string]bool{},
		admins: map[string][]string{user: admin.Permissions, other: otherPerms}}
	svc := apitokentest.New(t, apitoken.Config{Store: r.store, EncryptionKey: encryptionKey, OwnerPermissions: r.ownerPermissions})
	svc.Actions().Register("api::article.article.find", "api::article.article.create")
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 4 << 10,
		Authorize: r.authorize,
		Owner: func(req *http.Request) string {
			id, _, _ := r.administrator(req)
			return id
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	r.server = httptest.NewServer(mux)
	t.Cleanup(r.server.Close)

	res := r.send(call{method: "GET", path: "/openapi.json"})
	require.Equal(t, 200, res.status, res.body)
	require.NoError(t, json.Unmarshal([]byte(res.body), &r.doc))
	doc, err := libopenapi.NewDocument([]byte(res.body))
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	require.True(t, ok, "the document is valid OpenAPI 3.1: %s", describe(verrs))
	r.validate = v
	return r
}

// administrator returns the administrator of req's Basic credentials and
// their permissions.
func (r *rig) administrator(req *http.Request) (id string, perms []string, ok bool) {
	u, p, ok := req.BasicAuth()
	if !ok || passwords[u] == "" || p != passwords[u] {
		return "", nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	perms, ok = r.admins[u]
	return u, perms, ok
}

// authorize is the handler's Config.Authorize.
func (r *rig) authorize(req *http.Request, perm string) error {
	if _, ok := apitoken.FromContext(req.Context()); ok {
		return nil // an admin token, which RequireAdmin allowed perm within its owner's
	}
	_, perms, ok := r.administrator(req)
	switch {
	case !ok:
		return admin.ErrUnauthenticated
	case perm != "" && !slices.Contains(perms, perm):
		return admin.ErrForbidden
	}
	return nil
}

// ownerPermissions is the Service's Config.OwnerPermissions: the directory,
// which fails while the store is down, as a host's database would.
func (r *rig) ownerPermissions(_ context.Context, owner string) ([]string, error) {
	if err := r.store.fail(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	perms, ok := r.admins[owner]
	if !ok {
		return nil, apitoken.ErrNotFound
	}
	return slices.Clone(perms), nil
}

// grant sets the admin permissions of the administrator who.
func (r *rig) grant(who string, perms []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.admins[who] = perms
}

type result struct {
	status int
	header http.Header
	body   string
}

// send makes the request of c.
func (r *rig) send(c call) result {
	r.t.Helper()
	res, err := http.DefaultClient.Do(r.request(c))
	require.NoError(r.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	return result{res.StatusCode, res.Header, string(raw)}
}

// request returns the request of c: with user's Basic credentials, unless
// c.header sets Authorization ("" for none) or c has a bearer key.
func (r *rig) request(c call) *http.Request {
	r.t.Helper()
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, r.server.URL+"/admin"+c.path, rd)
	require.NoError(r.t, err)
	req.SetBasicAuth(user, password)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	switch {
	case c.bearer != "" && c.twice:
		req.Header.Add("Authorization", "Bearer "+c.bearer)
	case c.bearer != "":
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	return req
}

// call is one request of the test: op is the document's operationId that
// should answer it, and badRequest says that the document itself refuses
// the request (the handler refuses more than a schema can say, such as a
// key given twice or an unknown id). bearer is an admin token's key (the
// adminToken scheme), sent instead of the Basic credentials, or with them
// when twice is set.
type call struct {
	op, method, path, body string
	header                 map[string]string
	bearer                 string
	twice                  bool
	status                 int
	badRequest             bool
}

// do sends c, checks its status, and validates the request and the
// response against the document.
func (r *rig) do(c call) result {
	r.t.Helper()
	res := r.send(c)
	name := fmt.Sprintf("%s %s %s", c.op, c.method, c.path)
	if c.bearer != "" {
		name += " (admin token)"
	}
	require.Equal(r.t, c.status, res.status, "%s: %s", name, res.body)

	req := r.request(c)
	ok, errs := r.validate.ValidateHttpRequest(req)
	if c.badRequest {
		assert.False(r.t, ok, "%s: the document should refuse the request", name)
	} else {
		assert.True(r.t, ok, "%s: request: %s", name, describe(errs))
	}
	req = r.request(c)
	resp := &http.Response{StatusCode: res.status, Header: res.header, Body: io.NopCloser(strings.NewReader(res.body)), Request: req}
	ok, errs = r.validate.ValidateHttpResponse(req, resp)
	assert.True(r.t, ok, "%s: response %d %s: %s", name, res.status, truncate(res.body), describe(errs))
	assert.Contains(r.t, r.operations()[c.op], fmt.Sprint(res.status), "%s: the status is documented, not left to default", name)
	if r.seen[c.op] == nil {
		r.seen[c.op] = map[string]bool{}
	}
	r.seen[c.op][fmt.Sprint(res.status)] = true
	return res
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s %+v", e.Message, e.Reason, *e)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s at %s (%s)", s.Reason, s.FieldPath, s.KeywordLocation)
		}
	}
	return b.String()
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// operations returns each operationId of the document with its documented
// statuses, "default" left out.
func (r *rig) operations() map[string][]string {
	ops := map[string][]string{}
	for _, item := range r.doc["paths"].(map[string]any) {
		for method, v := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			op := v.(map[string]any)
			var statuses []string
			for s := range op["responses"].(map[string]any) {
				if s != "default" {
					statuses = append(statuses, s)
				}
			}
			sort.Strings(statuses)
			ops[op["operationId"].(string)] = statuses
		}
	}
	return ops
}

func data(t *testing.T, res result, v any) {
	t.Helper()
	var body struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(res.body), &body), res.body)
	require.NoError(t, json.Unmarshal(body.Data, v), res.body)
}

// TestDocument drives every route of the admin API, each of its documented
// answers, and validates every request and response against the document
// the handler serves. A route, a field or an error that the handler and the
// document disagree on fails it, and so does a documented answer that no
// call here gets.
func TestDocument(t *testing.T) {
	r := newRig(t)
	content := contentTokens(t, r)
	bearers := adminTokens(t, r, content)
	refusals(t, r, content.ID, bearers)

	// Every documented answer was given by some call.
	for op, statuses := range r.operations() {
		for _, s := range statuses {
			assert.True(t, r.seen[op][s], "%s: no call got its documented %s", op, s)
		}
	}
}

// created is a token with its key, as create and regenerate answer.
type created struct {
	apitoken.Token
	AccessKey string `json:"accessKey"`
}

var (
	none = map[string]string{"Authorization": ""}
	big  = `{"name":"` + strings.Repeat("a", 5<<10) + `"}`
)

// contentTokens drives the routes of content-API tokens and the screen's,
// with Basic credentials, and returns a content-API token with its key.
func contentTokens(t *testing.T, r *rig) created {
	// The screen, the document, who I am, the actions.
	r.do(call{op: "getScreen", method: "GET", path: "/", status: 200})
	r.do(call{op: "getScreenSettings", method: "GET", path: "/settings/api-tokens", status: 200})
	r.do(call{op: "getOpenAPI", method: "GET", path: "/openapi.json", status: 200})
	r.do(call{op: "getMe", method: "GET", path: "/me", status: 200})
	r.do(call{op: "getContentApiPermissions", method: "GET", path: "/content-api/permissions", status: 200})

	// Create: each type, and refusals.
	var custom, reader created
	res := r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201,
		body: `{"name":"ci","description":"the CI","type":"custom","lifespan":604800000,"permissions":["api::article.article.create"]}`})
	data(t, res, &custom)
	assert.NotEmpty(t, custom.AccessKey)
	etag := res.header.Get("ETag")
	res = r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201, body: `{"name":"reader","lifespan":null}`})
	data(t, res, &reader)
	res = r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201, body: `{"name":"admin","type":"full-access"}`})
	var full created
	data(t, res, &full)
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"ci"}`}) // taken
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"x","type":"root"}`, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"x","Name":"y"}`, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"x","lifespan":"7d"}`, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"x","lifespan":1}`})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400,
		body: `{"name":"x","type":"custom","permissions":["api::unknown.unknown.find"]}`})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":"x","name":"y"}`})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 400, body: `{"name":`, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 413, body: big, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 401, body: `{"name":"x"}`, header: none, badRequest: true})
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 403, body: `{"name":"x"}`,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}}) // cross-origin protection

	// Read.
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens", status: 200})
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens?page=1&pageSize=10&sort=expiresAt:desc&q=ci&type=custom&status=active&idle=1d", status: 200})
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens?idle=90", status: 400, badRequest: true})
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens?idle=9999d", status: 400}) // of the form, out of range
	r.do(call{op: "listTokens", method: "GET", path: "/api-tokens?status=soon", status: 400, badRequest: true})
	r.do(call{op: "getToken", method: "GET", path: "/api-tokens/" + custom.ID, status: 200})
	r.do(call{op: "getToken", method: "GET", path: "/api-tokens/no-such-id", status: 404})
	r.do(call{op: "revealKey", method: "GET", path: "/api-tokens/" + custom.ID + "/access-key", status: 200})
	r.do(call{op: "revealKey", method: "GET", path: "/api-tokens/no-such-id/access-key", status: 404})

	// Update.
	res = r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 200,
		body:   `{"description":"the CI, weekly","permissions":["api::article.article.find","api::article.article.create"]}`,
		header: map[string]string{"If-Match": etag}})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 412, body: `{"description":"stale"}`,
		header: map[string]string{"If-Match": etag}})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 200, body: `{"lifespan":null,"type":"read-only"}`,
		header: map[string]string{"If-Match": res.header.Get("ETag")}})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 400, body: `{"If":"x"}`, badRequest: true})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 400, body: `{"name":""}`, badRequest: true})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 400, body: `{"name":"x"}`,
		header: map[string]string{"If-Match": "not-a-tag"}})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, status: 413, body: big, badRequest: true})
	r.do(call{op: "updateToken", method: "PUT", path: "/api-tokens/no-such-id", status: 404, body: `{"name":"x"}`})

	// Regenerate, with and without an overlap.
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate", status: 201})
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate", status: 201, body: `{"overlap":60000}`})
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate", status: 400,
		body: `{"overlap":-1}`, badRequest: true})
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate", status: 400,
		body: `{"overlap":99999999999}`, badRequest: true})
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate", status: 413,
		body: `{"overlap":` + strings.Repeat("1", 5<<10) + `}`, badRequest: true})
	r.do(call{op: "regenerateToken", method: "POST", path: "/api-tokens/no-such-id/regenerate", status: 404})

	// Delete.
	r.do(call{op: "deleteToken", method: "DELETE", path: "/api-tokens/" + reader.ID, status: 200})
	r.do(call{op: "deleteToken", method: "DELETE", path: "/api-tokens/" + reader.ID, status: 404})

	// A key that cannot be shown again: issued by a Service without an
	// encryption key, on the same store.
	plain, _, err := apitokentest.New(t, apitoken.Config{Store: r.store}).Create(context.Background(), apitoken.CreateParams{Name: "plain"})
	require.NoError(t, err)
	r.do(call{op: "revealKey", method: "GET", path: "/api-tokens/" + plain.ID + "/access-key", status: 400})

	return full
}
