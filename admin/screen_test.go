package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestPageUnderAnyPrefix mounts the handler deeper than /admin/: the page's
// asset links are relative, so they resolve under whatever prefix the host
// chose, and the assets come with the same security headers.
func TestPageUnderAnyPrefix(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: salt})
	require.NoError(t, err)
	h, err := admin.New(admin.Config{Service: svc, Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/internal/console/", http.StripPrefix("/internal/console", h))
	srv := newServer(t, mux)

	for _, tt := range []struct{ path, base string }{
		{"/internal/console/", "./"},
		{"/internal/console/settings/api-tokens", "../"},
	} {
		res, body := fetch(t, srv.URL+tt.path)
		require.Equal(t, 200, res.StatusCode, tt.path)
		assert.Contains(t, body, `<html lang="en" data-base="`+tt.base+`">`, tt.path)
		for _, asset := range []string{`href="` + tt.base + `static/app.css"`, `src="` + tt.base + `static/app.js"`} {
			assert.Contains(t, body, asset, tt.path)
		}
		assert.NotContains(t, body, `href="/`, "no absolute links")
		assert.NotContains(t, body, `src="/`, "no absolute links")
		assert.NotRegexp(t, `<script>|<style|style="|\son[a-z]+=`, body, "nothing inline for the CSP to refuse")
	}

	for asset, ctype := range map[string]string{"app.js": "text/javascript", "app.css": "text/css"} {
		res, body := fetch(t, srv.URL+"/internal/console/settings/../static/"+asset)
		require.Equal(t, 200, res.StatusCode, asset)
		assert.Contains(t, res.Header.Get("Content-Type"), ctype)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
		assert.NotContains(t, body, "http://", "no external requests")
		assert.NotContains(t, body, "https://", "no external requests")
	}
	res, _ := fetch(t, srv.URL+"/internal/console/static/")
	assert.Equal(t, 404, res.StatusCode, "no directory listing")
}

// TestScriptWritesText keeps the one rule that stops markup in a token's
// name or description from running: the script never parses strings as HTML.
func TestScriptWritesText(t *testing.T) {
	url := newEnv(t, apitoken.Config{}).server.URL + "/admin/static/"
	var js string
	for _, name := range []string{"app.js", "ui.js", "format.js", "list.js", "form.js", "perms.js", "keys.js", "policy.js", "kind.js", "adminperms.js"} {
		res, body := fetch(t, url+name)
		require.Equal(t, 200, res.StatusCode, name)
		assert.Contains(t, res.Header.Get("Content-Type"), "text/javascript", name)
		js += body
	}
	for _, sink := range []string{"innerHTML", "outerHTML =", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'"} {
		assert.NotContains(t, js, sink)
	}
	assert.NotRegexp(t, `from\s+['"](/|https?:)`, js, "modules import each other relatively")
	for _, store := range []string{"localStorage", "sessionStorage", "document.cookie"} {
		assert.NotContains(t, js, store, "a key must live in one variable only")
	}
}

func TestPageHeadersFull(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	r := e.do("GET", "/settings/api-tokens", "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'", r.header.Get("Content-Security-Policy"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	api := e.do("GET", "/api-tokens", "")
	assert.Equal(t, "no-store", api.header.Get("Cache-Control"), "API answers are never cached")
	assert.Equal(t, "nosniff", api.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", api.header.Get("Referrer-Policy"))
	fail := e.do("GET", "/api-tokens/nope", "")
	assert.Equal(t, "no-store", fail.header.Get("Cache-Control"), "nor are errors")
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/api-tokens/missing", ""},
		{"PUT", "/api-tokens/missing", `{"description":"x"}`},
		{"DELETE", "/api-tokens/missing", ""},
		{"POST", "/api-tokens/missing/regenerate", ""},
	} {
		r := e.do(rt.method, rt.path, rt.body)
		require.Equal(t, 404, r.status, "%s %s: %s", rt.method, rt.path, r.raw)
		assert.JSONEq(t, `{"data":null,"error":{"status":404,"name":"NotFoundError","message":"API Token not found","details":{}}}`, r.raw)
	}
}

// TestErrorBody pins Strapi's error shape byte for byte.
func TestErrorBody(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	e.create(`{"name":"dup"}`)
	r := e.do("POST", "/api-tokens", `{"name":"dup"}`)
	assert.JSONEq(t, `{"data":null,"error":{"status":400,"name":"ValidationError","message":"Name already taken",`+
		`"details":{"errors":[{"path":["name"],"message":"Name already taken","name":"ValidationError"}]}}}`, r.raw)
	e.perms = nil
	r = e.do("GET", "/api-tokens", "")
	assert.JSONEq(t, `{"data":null,"error":{"status":401,"name":"UnauthorizedError","message":"Missing or invalid credentials","details":{}}}`, r.raw)
	e.perms = []string{}
	r = e.do("GET", "/api-tokens", "")
	assert.JSONEq(t, `{"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Forbidden","details":{}}}`, r.raw)
}

func TestMoreValidationErrors(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	e.create(`{"name":"taken"}`)
	id := e.create(`{"name":"mine","lifespan":604800000}`).ID
	tests := []struct {
		name, method, path, body string
		field, message           string
	}{
		{"long description", "POST", "/api-tokens", `{"name":"d","description":"` + strings.Repeat("d", 1001) + `"}`, "description", "description must be at most 1000 characters"},
		{"control character", "POST", "/api-tokens", `{"name":"a\u0007b"}`, "name", "name must not contain control characters"},
		{"blank name", "POST", "/api-tokens", `{"name":"   "}`, "name", "name is a required field"},
		{"null body", "POST", "/api-tokens", `null`, "name", "name is a required field"},
		{"lifespan as string", "POST", "/api-tokens", `{"name":"s","lifespan":"604800000"}`, "lifespan", "lifespan must be null or a positive number of milliseconds"},
		{"permission not a string", "POST", "/api-tokens", `{"name":"p","type":"custom","permissions":[1]}`, "permissions", "permissions must be of type string"},
		{"update to taken name", "PUT", "/api-tokens/" + id, `{"name":"taken"}`, "name", "Name already taken"},
		{"update to empty name", "PUT", "/api-tokens/" + id, `{"name":""}`, "name", "name is a required field"},
		{"update bad type", "PUT", "/api-tokens/" + id, `{"type":"admin"}`, "type", "type must be one of the following values: read-only, full-access, custom"},
		{"update to custom without permissions", "PUT", "/api-tokens/" + id, `{"type":"custom"}`, "permissions", "Missing permissions attribute for custom token"},
		{"update permissions of read-only", "PUT", "/api-tokens/" + id, `{"permissions":["api::article.article.find"]}`, "permissions", "Non-custom tokens should not reference permissions"},
		{"update unknown action", "PUT", "/api-tokens/" + id, `{"type":"custom","permissions":["api::nope.nope.find"]}`, "permissions", "Unknown permissions provided: api::nope.nope.find"},
		{"update lifespan not offered", "PUT", "/api-tokens/" + id, `{"lifespan":86400000}`, "lifespan", "lifespan must be one of the following values: 604800000, 2592000000, 7776000000, null"},
		{"update name wrong type", "PUT", "/api-tokens/" + id, `{"name":["x"]}`, "name", "name must be of type string"},
		{"update trailing data", "PUT", "/api-tokens/" + id, `{"name":"x"}{}`, "", "unexpected data after the JSON object"},
		{"regenerate unknown field", "POST", "/api-tokens/" + id + "/regenerate", `{"now":true}`, "now", "now is not a known field"},
		{"regenerate wrong type", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":"1d"}`, "overlap", "overlap must be of type number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			require.Equal(t, 400, r.status, r.raw)
			assert.Equal(t, "ValidationError", r.Error.Name)
			assert.Equal(t, tt.message, r.Error.Message)
			require.NotEmpty(t, r.Error.Details.Errors, r.raw)
			want := []string{}
			if tt.field != "" {
				want = []string{tt.field}
			}
			assert.Equal(t, want, r.Error.Details.Errors[0].Path)
		})
	}
	got, err := e.svc.Get(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "mine", got.Name, "refused updates changed nothing")
	assert.Equal(t, apitoken.Days7, got.Lifespan)
}

// TestOversizedBodyEverywhere: every route that reads a body stops at the
// limit, which Config.MaxBodyBytes sets.
func TestOversizedBodyEverywhere(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: salt})
	require.NoError(t, err)
	h, err := admin.New(admin.Config{Service: svc, MaxBodyBytes: 100, Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	tok, _, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "x"})
	require.NoError(t, err)
	big := `{"description":"` + strings.Repeat("x", 200) + `"}`
	for _, rt := range [][2]string{{"POST", "/api-tokens"}, {"PUT", "/api-tokens/" + tok.ID}, {"POST", "/api-tokens/" + tok.ID + "/regenerate"}} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(rt[0], rt[1], strings.NewReader(big))
		h.ServeHTTP(w, req)
		assert.Equal(t, 413, w.Code, "%s %s", rt[0], rt[1])
		assert.JSONEq(t, `{"data":null,"error":{"status":413,"name":"PayloadTooLargeError","message":"request body is larger than 100 bytes","details":{}}}`, w.Body.String())
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/api-tokens", strings.NewReader(`{"name":"fits"}`)))
	assert.Equal(t, 201, w.Code, "a body under the limit passes")
}

// faultyStore is memstore with a switch that makes every call fail with err.
type faultyStore struct {
	apitoken.Store
	err atomic.Pointer[error]
}

func (s *faultyStore) fail() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *faultyStore) Create(ctx context.Context, t *apitoken.Token, h apitoken.Hash) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Create(ctx, t, h)
}

func (s *faultyStore) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, id)
}

func (s *faultyStore) List(ctx context.Context) ([]*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.List(ctx)
}

func (s *faultyStore) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Update(ctx, id, change)
}

func (s *faultyStore) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.SetKey(ctx, id, k)
}

// TestStoreErrors: a failing store gives 503 with a generic message, as the
// content API does; the cause is logged, the key never.
func TestStoreErrors(t *testing.T) {
	var logs testenv.Buffer
	store := &faultyStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	tok, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "x"})
	require.NoError(t, err)

	serve := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w
	}
	dbErr := errors.New("pq: connection refused to 10.0.0.7:5432 (password=hunter2)")
	store.err.Store(&dbErr)
	for _, rt := range [][3]string{
		{"GET", "/api-tokens", ""},
		{"GET", "/api-tokens/" + tok.ID, ""},
		{"POST", "/api-tokens", `{"name":"y"}`},
		{"PUT", "/api-tokens/" + tok.ID, `{"description":"d"}`},
		{"POST", "/api-tokens/" + tok.ID + "/regenerate", ""},
		{"DELETE", "/api-tokens/" + tok.ID, ""},
	} {
		w := serve(rt[0], rt[1], rt[2])
		assert.Equal(t, 503, w.Code, "%s %s", rt[0], rt[1])
		assert.JSONEq(t, `{"data":null,"error":{"status":503,"name":"ServiceUnavailableError","message":"Token store unavailable","details":{}}}`, w.Body.String())
	}
	assert.Contains(t, logs.String(), "connection refused", "the cause is logged for the operator")

	unavailable := fmt.Errorf("store: %w", apitoken.ErrUnavailable)
	store.err.Store(&unavailable)
	w := serve("GET", "/api-tokens", "")
	assert.Equal(t, 503, w.Code)
	assert.Contains(t, w.Body.String(), `"name":"ServiceUnavailableError"`)

	hasher, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), key)
	assert.NotContains(t, logs.String(), hasher.Sum(key).Hex())
}

func TestAuthorizeOtherError(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: salt})
	require.NoError(t, err)
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), Authorize: func(r *http.Request, perm string) error {
		switch perm {
		case admin.PermRead:
			return fmt.Errorf("session store: %w", admin.ErrUnauthenticated)
		case admin.PermCreate:
			return errors.New("session store down")
		}
		return nil
	}})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api-tokens", nil))
	assert.Equal(t, 401, w.Code, "wrapped sentinels count")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/api-tokens", strings.NewReader(`{"name":"x"}`)))
	assert.Equal(t, 500, w.Code, "an authorizer that fails refuses")
	list, err := svc.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestNewRequiresConfig(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: salt})
	require.NoError(t, err)
	_, err = admin.New(admin.Config{Service: svc})
	assert.Error(t, err, "no Authorize")
	_, err = admin.New(admin.Config{Authorize: func(*http.Request, string) error { return nil }})
	assert.Error(t, err, "no Service")
}

func fetch(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}
