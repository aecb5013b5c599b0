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

// rig is the admin handler under /admin/ on a real HTTP server, whose
// Authorize takes Basic credentials (the document's basicAuth scheme) of
// one administrator with the permissions perms, and the validator of the
// document the handler serves.
type rig struct {
	t        *testing.T
	store    *downStore
	server   *httptest.Server
	perms    []string
	validate validator.Validator
	doc      map[string]any // the document, for the list of its operations
	seen     map[string]map[string]bool
}

const user, password = "admin@example.com", "secret-password"

func newRig(t *testing.T) *rig {
	r := &rig{t: t, store: &downStore{Store: memstore.New()}, perms: admin.Permissions, seen: map[string]map[string]bool{}}
	svc := apitokentest.New(t, apitoken.Config{Store: r.store, EncryptionKey: "openapitest-encryption-key"})
	svc.Actions().Register("api::article.article.find", "api::article.article.create")
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 4 << 10,
		Authorize: func(req *http.Request, perm string) error {
			u, p, ok := req.BasicAuth()
			switch {
			case !ok || u != user || p != password:
				return admin.ErrUnauthenticated
			case perm != "" && !slices.Contains(r.perms, perm):
				return admin.ErrForbidden
			}
			return nil
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	r.server = httptest.NewServer(mux)
	t.Cleanup(r.server.Close)

	res := r.send("GET", "/openapi.json", "", nil)
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

type result struct {
	status int
	header http.Header
	body   string
}

// send makes a request to the admin handler with the administrator's
// credentials, unless header sets Authorization ("" for none).
func (r *rig) send(method, path, body string, header map[string]string) result {
	r.t.Helper()
	req := r.request(method, path, body, header)
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	return result{res.StatusCode, res.Header, string(raw)}
}

func (r *rig) request(method, path, body string, header map[string]string) *http.Request {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.server.URL+"/admin"+path, rd)
	require.NoError(r.t, err)
	req.SetBasicAuth(user, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

// call is one request of the test: op is the document's operationId that
// should answer it, and badRequest says that the document itself refuses
// the request (the handler refuses more than a schema can say, such as a
// key given twice or an unknown id).
type call struct {
	op, method, path, body string
	header                 map[string]string
	status                 int
	badRequest             bool
}

// do sends c, checks its status, and validates the request and the
// response against the document.
func (r *rig) do(c call) result {
	r.t.Helper()
	res := r.send(c.method, c.path, c.body, c.header)
	name := fmt.Sprintf("%s %s %s", c.op, c.method, c.path)
	require.Equal(r.t, c.status, res.status, "%s: %s", name, res.body)

	req := r.request(c.method, c.path, c.body, c.header)
	ok, errs := r.validate.ValidateHttpRequest(req)
	if c.badRequest {
		assert.False(r.t, ok, "%s: the document should refuse the request", name)
	} else {
		assert.True(r.t, ok, "%s: request: %s", name, describe(errs))
	}
	req = r.request(c.method, c.path, c.body, c.header)
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
	none := map[string]string{"Authorization": ""}
	big := `{"name":"` + strings.Repeat("a", 5<<10) + `"}`

	// The screen, the document, who I am, the actions.
	r.do(call{op: "getScreen", method: "GET", path: "/", status: 200})
	r.do(call{op: "getScreenSettings", method: "GET", path: "/settings/api-tokens", status: 200})
	r.do(call{op: "getOpenAPI", method: "GET", path: "/openapi.json", status: 200})
	r.do(call{op: "getMe", method: "GET", path: "/me", status: 200})
	r.do(call{op: "getContentApiPermissions", method: "GET", path: "/content-api/permissions", status: 200})

	// Create: each type, and refusals.
	var custom, reader struct {
		apitoken.Token
		AccessKey string `json:"accessKey"`
	}
	res := r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201,
		body: `{"name":"ci","description":"the CI","type":"custom","lifespan":604800000,"permissions":["api::article.article.create"]}`})
	data(t, res, &custom)
	assert.NotEmpty(t, custom.AccessKey)
	etag := res.header.Get("ETag")
	res = r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201, body: `{"name":"reader","lifespan":null}`})
	data(t, res, &reader)
	r.do(call{op: "createToken", method: "POST", path: "/api-tokens", status: 201, body: `{"name":"admin","type":"full-access"}`})
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

	// Every route without credentials, and with too few permissions.
	for _, c := range []call{
		{op: "getScreen", method: "GET", path: "/"},
		{op: "getScreenSettings", method: "GET", path: "/settings/api-tokens"},
		{op: "getOpenAPI", method: "GET", path: "/openapi.json"},
		{op: "getMe", method: "GET", path: "/me"},
		{op: "getContentApiPermissions", method: "GET", path: "/content-api/permissions"},
		{op: "listTokens", method: "GET", path: "/api-tokens"},
		{op: "getToken", method: "GET", path: "/api-tokens/" + custom.ID},
		{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, body: `{"name":"x"}`},
		{op: "deleteToken", method: "DELETE", path: "/api-tokens/" + custom.ID},
		{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate"},
		{op: "revealKey", method: "GET", path: "/api-tokens/" + custom.ID + "/access-key"},
	} {
		c.status, c.header, c.badRequest = 401, none, true
		r.do(c)
		if c.op == "getOpenAPI" || c.op == "getMe" || c.op == "getContentApiPermissions" {
			continue // any administrator may
		}
		r.perms = []string{}
		c.status, c.header, c.badRequest = 403, nil, false
		r.do(c)
		r.perms = admin.Permissions
	}

	// The store is down: 503 from every route that asks it.
	r.store.down.Store(true)
	for _, c := range []call{
		{op: "listTokens", method: "GET", path: "/api-tokens"},
		{op: "createToken", method: "POST", path: "/api-tokens", body: `{"name":"down"}`},
		{op: "getToken", method: "GET", path: "/api-tokens/" + custom.ID},
		{op: "updateToken", method: "PUT", path: "/api-tokens/" + custom.ID, body: `{"name":"x"}`},
		{op: "deleteToken", method: "DELETE", path: "/api-tokens/" + custom.ID},
		{op: "regenerateToken", method: "POST", path: "/api-tokens/" + custom.ID + "/regenerate"},
		{op: "revealKey", method: "GET", path: "/api-tokens/" + custom.ID + "/access-key"},
	} {
		c.status = 503
		r.do(c)
	}
	r.store.down.Store(false)

	// Every documented answer was given by some call.
	for op, statuses := range r.operations() {
		for _, s := range statuses {
			assert.True(t, r.seen[op][s], "%s: no call got its documented %s", op, s)
		}
	}
}
