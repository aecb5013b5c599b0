package apitoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// api is a real HTTP server with the five routes of an article collection and
// a route that declares no action, each counting the requests it served.
type api struct {
	*httptest.Server
	svc   *apitoken.Service
	calls atomic.Int64
}

func newAPI(t *testing.T, svc *apitoken.Service) *api {
	t.Helper()
	a := &api{svc: svc}
	ok := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.calls.Add(1)
			tok, found := apitoken.FromContext(r.Context())
			if !found {
				http.Error(w, "no token in context", http.StatusInternalServerError)
				return
			}
			w.Header().Set("X-Token-Name", tok.Name)
			w.WriteHeader(status)
		})
	}
	mux := http.NewServeMux()
	svc.HandleCollection(mux, "/api/articles", "api::article.article", apitoken.Collection{
		Find: ok(200), FindOne: ok(200), Create: ok(201), Update: ok(200), Delete: ok(204),
	})
	mux.Handle("POST /api/maintenance", svc.Require()(ok(200)))
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

type response struct {
	status    int
	challenge string
	message   string
}

func (a *api) do(t *testing.T, method, path string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(`{"data":{}}`))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := response{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate")}
	if res.StatusCode >= 400 && len(body) > 0 {
		var e struct {
			Data  any `json:"data"`
			Error struct {
				Status  int    `json:"status"`
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &e), "error body: %s", body)
		assert.Nil(t, e.Data)
		assert.Equal(t, res.StatusCode, e.Error.Status)
		r.message = e.Error.Message
	}
	return r
}

func bearer(v string) http.Header { return http.Header{"Authorization": {v}} }

func TestHeaderForms(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	a := newAPI(t, svc)
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "reader"})

	accepted := []string{
		"Bearer " + key,
		"bearer " + key,
		"BEARER " + key,
		"bEaReR " + key,
		"Bearer     " + key,
		"Bearer \t " + key,
		"  Bearer " + key + "  ",
	}
	for _, h := range accepted {
		r := a.do(t, "GET", "/api/articles", bearer(h))
		assert.Equal(t, 200, r.status, "%q", h)
	}

	invalid := map[string]http.Header{
		"no header":          nil,
		"empty":              bearer(""),
		"scheme only":        bearer("Bearer"),
		"scheme and space":   bearer("Bearer "),
		"basic":              bearer("Basic " + key),
		"key without scheme": bearer(key),
		"extra part":         bearer("Bearer " + key + " extra"),
		"other scheme":       bearer("Token " + key),
		"upper-case key":     bearer("Bearer " + strings.ToUpper(key)),
		"truncated key":      bearer("Bearer " + key[:255]),
		"extended key":       bearer("Bearer " + key + "0"),
		"unknown key":        bearer("Bearer " + strings.Repeat("0", 256)),
		"huge key":           bearer("Bearer " + strings.Repeat("a", 100_000)),
		"X-API-Key":          {"X-Api-Key": {key}},
		"cookie":             {"Cookie": {"access_token=" + key}},
	}
	for name, h := range invalid {
		r := a.do(t, "GET", "/api/articles", h)
		assert.Equal(t, 401, r.status, name)
		assert.Equal(t, "Missing or invalid credentials", r.message, name)
		assert.True(t, strings.HasPrefix(r.challenge, `Bearer realm="api"`), "%s: %q", name, r.challenge)
	}
	r := a.do(t, "GET", "/api/articles?access_token="+key, nil)
	assert.Equal(t, 401, r.status, "query string keys are ignored")
	assert.Equal(t, `Bearer realm="api"`, a.do(t, "GET", "/api/articles", nil).challenge,
		"no credentials: a bare challenge (RFC 6750 3.1)")
	assert.Equal(t, `Bearer realm="api", error="invalid_token"`, a.do(t, "GET", "/api/articles", bearer("Bearer nope")).challenge)

	r = a.do(t, "GET", "/api/articles", http.Header{"Authorization": {"Bearer " + key, "Bearer " + key}})
	assert.Equal(t, 400, r.status, "two Authorization headers")
	assert.Equal(t, `Bearer realm="api", error="invalid_request"`, r.challenge)
	assert.Zero(t, a.calls.Load()-int64(len(accepted)), "refused requests never reach the handler")
}

// The matrix observed on a real Strapi server, plus a route without action.
func TestTypesAndActions(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	a := newAPI(t, svc)
	_, readOnly := mustCreate(t, svc, apitoken.CreateParams{Name: "ro", Type: apitoken.ReadOnly})
	_, full := mustCreate(t, svc, apitoken.CreateParams{Name: "full", Type: apitoken.FullAccess})
	_, custom := mustCreate(t, svc, apitoken.CreateParams{Name: "custom", Type: apitoken.Custom,
		Permissions: []string{"api::article.article.find", "api::article.article.create"}})

	routes := []struct{ method, path string }{
		{"GET", "/api/articles"}, {"GET", "/api/articles/1"}, {"POST", "/api/articles"},
		{"PUT", "/api/articles/1"}, {"DELETE", "/api/articles/1"}, {"POST", "/api/maintenance"},
	}
	want := map[string][]int{
		readOnly: {200, 200, 403, 403, 403, 403},
		full:     {200, 200, 201, 200, 204, 200},
		custom:   {200, 403, 201, 403, 403, 403},
	}
	names := map[string]string{readOnly: "read-only", full: "full-access", custom: "custom"}
	for key, statuses := range want {
		for i, rt := range routes {
			before := a.calls.Load()
			r := a.do(t, rt.method, rt.path, bearer("Bearer "+key))
			assert.Equal(t, statuses[i], r.status, "%s %s %s", names[key], rt.method, rt.path)
			if r.status == 403 {
				assert.Equal(t, "Forbidden", r.message)
				assert.Equal(t, `Bearer realm="api", error="insufficient_scope"`, r.challenge)
				assert.Equal(t, before, a.calls.Load(), "a refused request never reaches the handler")
			}
		}
	}
	assert.ElementsMatch(t, []string{
		"api::article.article.create", "api::article.article.delete", "api::article.article.find",
		"api::article.article.findOne", "api::article.article.update",
	}, svc.Actions().Actions(), "HandleCollection registers its actions")
}

func TestAllows(t *testing.T) {
	tests := []struct {
		tok     apitoken.Token
		actions []string
		want    bool
	}{
		{apitoken.Token{Type: apitoken.ReadOnly}, []string{"api::a.a.find"}, true},
		{apitoken.Token{Type: apitoken.ReadOnly}, []string{"plugin::upload.content-api.findOne"}, true},
		{apitoken.Token{Type: apitoken.ReadOnly}, []string{"api::a.a.find", "api::a.a.create"}, false},
		{apitoken.Token{Type: apitoken.ReadOnly}, []string{"api::a.a.refind"}, false},
		{apitoken.Token{Type: apitoken.ReadOnly}, nil, false},
		{apitoken.Token{Type: apitoken.FullAccess}, nil, true},
		{apitoken.Token{Type: apitoken.FullAccess}, []string{"api::a.a.delete"}, true},
		{apitoken.Token{Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}}, []string{"api::a.a.find"}, true},
		{apitoken.Token{Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}}, []string{"api::a.a.findOne"}, false},
		{apitoken.Token{Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}}, []string{"api::a.a.fin"}, false},
		{apitoken.Token{Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}}, nil, false},
		{apitoken.Token{Type: "admin"}, []string{"api::a.a.find"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.tok.Allows(tt.actions...), "%s %v", tt.tok.Type, tt.actions)
	}
}

func TestExpired(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, store := newService(t, apitoken.Config{Clock: clk})
	a := newAPI(t, svc)
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "week", Type: apitoken.FullAccess, Lifespan: apitoken.Days7})
	require.NotNil(t, tok.ExpiresAt)
	assert.Equal(t, clk.Now().Add(7*24*time.Hour), *tok.ExpiresAt)

	clk.Add(7*24*time.Hour - time.Millisecond)
	assert.Equal(t, 200, a.do(t, "GET", "/api/articles", bearer("Bearer "+key)).status, "just before expiry")
	require.NoError(t, svc.Flush(context.Background()))
	clk.Add(2 * time.Hour)
	for _, rt := range [][2]string{{"GET", "/api/articles"}, {"DELETE", "/api/articles/1"}} {
		r := a.do(t, rt[0], rt[1], bearer("Bearer "+key))
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "Token expired", r.message)
		assert.Equal(t, `Bearer realm="api", error="invalid_token"`, r.challenge)
	}
	require.NoError(t, svc.Flush(context.Background()))
	got, err := store.Get(context.Background(), tok.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, got.LastUsedAt.Before(*tok.ExpiresAt), "an expired key never records use")
}

func TestLastUsed(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, store := newService(t, apitoken.Config{Clock: clk})
	a := newAPI(t, svc)
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "reader"})
	ctx := context.Background()
	lastUsed := func() *time.Time {
		t.Helper()
		require.NoError(t, svc.Flush(ctx))
		got, err := store.Get(ctx, tok.ID)
		require.NoError(t, err)
		return got.LastUsedAt
	}
	assert.Nil(t, lastUsed(), "never used")

	first := clk.Now()
	assert.Equal(t, 403, a.do(t, "POST", "/api/articles", bearer("Bearer "+key)).status)
	require.NotNil(t, lastUsed(), "a use refused with 403 still counts, as in Strapi")
	assert.True(t, first.Equal(*lastUsed()))

	clk.Add(59 * time.Minute)
	a.do(t, "GET", "/api/articles", bearer("Bearer "+key))
	assert.True(t, first.Equal(*lastUsed()), "within the hour nothing is written")

	clk.Add(time.Minute)
	second := clk.Now()
	a.do(t, "GET", "/api/articles", bearer("Bearer "+key))
	assert.True(t, second.Equal(*lastUsed()), "an hour later the use is recorded")
}

func TestTouchInterval(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, store := newService(t, apitoken.Config{Clock: clk, TouchInterval: time.Minute})
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "reader"})
	ctx := context.Background()
	for range 3 {
		_, err := svc.Verify(ctx, key)
		require.NoError(t, err)
		clk.Add(time.Minute)
	}
	require.NoError(t, svc.Close(ctx))
	got, err := store.Get(ctx, tok.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, clk.Now().Add(-time.Minute).Equal(*got.LastUsedAt), "Close flushes the last use: %v", got.LastUsedAt)
}

func TestStoreDownFailsClosed(t *testing.T) {
	store := &outageStore{Store: memstore.New()}
	store.down.Store(true)
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt})
	require.NoError(t, err)
	defer svc.Close(context.Background())
	a := newAPI(t, svc)
	r := a.do(t, "GET", "/api/articles", bearer("Bearer "+strings.Repeat("a", 256)))
	assert.Equal(t, 503, r.status)
	assert.Empty(t, r.challenge, "could not check is not invalid")
	assert.Zero(t, a.calls.Load())
	_, err = svc.Verify(context.Background(), strapiKey)
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)
}

// stallingStore is a memstore whose lookups hang until their context ends,
// as with a database that stopped answering.
type stallingStore struct{ *memstore.Store }

func (stallingStore) GetByHash(ctx context.Context, _ apitoken.Hash) (*apitoken.Token, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestLookupTimeout(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: stallingStore{memstore.New()}, Salt: testSalt, LookupTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer svc.Close(context.Background())
	a := newAPI(t, svc)
	assert.Equal(t, 503, a.do(t, "GET", "/api/articles", bearer("Bearer "+strings.Repeat("a", 256))).status,
		"a hung store turns the request away")
	assert.Zero(t, a.calls.Load())
}

func TestErrorHandler(t *testing.T) {
	var got error
	svc, _ := newService(t, apitoken.Config{
		Realm: "content",
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(apitoken.StatusCode(err))
		},
	})
	a := newAPI(t, svc)
	assert.Equal(t, 401, a.do(t, "GET", "/api/articles", bearer("Bearer x")).status)
	assert.ErrorIs(t, got, apitoken.ErrInvalidKey)

	_, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: testSalt, Realm: `a"b`})
	assert.Error(t, err, "a realm that would break the header is refused")
}

// TestDescribeError: one table answers every error of the package, wrapped
// or not, for the middleware and the admin API alike.
func TestDescribeError(t *testing.T) {
	verr := &apitoken.ValidationError{Errors: []apitoken.FieldError{{Path: []string{"name"}, Message: "name is required"}}}
	for _, tc := range []struct {
		err  error
		want apitoken.HTTPError
	}{
		{apitoken.ErrNoCredentials, apitoken.HTTPError{401, "UnauthorizedError", "Missing or invalid credentials"}},
		{apitoken.ErrMalformedHeader, apitoken.HTTPError{401, "UnauthorizedError", "Missing or invalid credentials"}},
		{apitoken.ErrInvalidKey, apitoken.HTTPError{401, "UnauthorizedError", "Missing or invalid credentials"}},
		{apitoken.ErrExpired, apitoken.HTTPError{401, "UnauthorizedError", "Token expired"}},
		{apitoken.ErrMultipleHeaders, apitoken.HTTPError{400, "ApplicationError", "Only one Authorization header is allowed"}},
		{apitoken.ErrForbidden, apitoken.HTTPError{403, "ForbiddenError", "Forbidden"}},
		{apitoken.ErrTooManyFailures, apitoken.HTTPError{429, "RateLimitError", "Too many failed authentication attempts"}},
		{fmt.Errorf("store: %w", apitoken.ErrUnavailable), apitoken.HTTPError{503, "ServiceUnavailableError", "Token store unavailable"}},
		{fmt.Errorf("get: %w", apitoken.ErrNotFound), apitoken.HTTPError{404, "NotFoundError", "API Token not found"}},
		{apitoken.ErrStale, apitoken.HTTPError{412, "PreconditionFailedError", "The token was changed since it was read; reload it and try again"}},
		{apitoken.ErrNotRecoverable, apitoken.HTTPError{400, "ApplicationError", "This key cannot be shown again"}},
		{fmt.Errorf("create: %w", verr), apitoken.HTTPError{400, "ValidationError", "name is required"}},
		{errors.New("other"), apitoken.HTTPError{500, "InternalServerError", "Internal Server Error"}},
	} {
		assert.Equal(t, tc.want, apitoken.DescribeError(tc.err), "%v", tc.err)
		assert.Equal(t, tc.want.Status, apitoken.StatusCode(tc.err), "%v", tc.err)
	}
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		in   string
		key  string
		want error
	}{
		{"Bearer abc", "abc", nil},
		{"bearer\tabc", "abc", nil},
		{" \t bearer  abc \r\n", "abc", nil},
		{"", "", apitoken.ErrNoCredentials},
		{"   ", "", apitoken.ErrNoCredentials},
		{"Bearer", "", apitoken.ErrMalformedHeader},
		{"Bearer  ", "", apitoken.ErrMalformedHeader},
		{"Bearerabc", "", apitoken.ErrMalformedHeader},
		{"Bearer a b", "", apitoken.ErrMalformedHeader},
		{"Basic abc", "", apitoken.ErrMalformedHeader},
		{"abc", "", apitoken.ErrMalformedHeader},
	}
	for _, tt := range tests {
		key, err := apitoken.ParseBearer(tt.in)
		assert.Equal(t, tt.key, key, "%q", tt.in)
		assert.ErrorIs(t, err, tt.want, "%q", tt.in)
		if tt.want == nil {
			assert.NoError(t, err)
		}
	}
}

func TestCan(t *testing.T) {
	ctx := context.Background()
	assert.ErrorIs(t, apitoken.Can(ctx, "api::a.a.find"), apitoken.ErrNoCredentials)
	ro := apitoken.NewContext(ctx, &apitoken.Token{Type: apitoken.ReadOnly})
	assert.NoError(t, apitoken.Can(ro, "api::a.a.find"))
	assert.ErrorIs(t, apitoken.Can(ro, "api::a.a.create"), apitoken.ErrForbidden)
	assert.Equal(t, 403, apitoken.StatusCode(apitoken.Can(ro, "api::a.a.create")), "same answer as the middleware")
}

type ctxKey struct{}

// TestRequestContext checks the request the guarded handler gets: its
// context carries the token and everything of the original context,
// including its cancellation, and the caller's request is left as it was.
func TestRequestContext(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ctx"})
	var inner *http.Request
	h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = r
		got, ok := apitoken.FromContext(r.Context())
		require.True(t, ok)
		assert.Equal(t, tok.ID, got.ID)
		assert.Equal(t, "outer", r.Context().Value(ctxKey{}), "values of the original context")
		child, cancel := context.WithCancel(r.Context())
		defer cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Error("the original context's cancellation did not reach a child")
		}
		assert.ErrorIs(t, context.Cause(child), errClientGone)
	}))
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, "outer"))
	cancel(errClientGone)
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/articles?x=1", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, 200, w.Code)
	require.NotNil(t, inner)
	assert.NotSame(t, req, inner)
	assert.Equal(t, req.URL, inner.URL)
	assert.Equal(t, "x=1", inner.URL.RawQuery)
	_, ok := apitoken.FromContext(req.Context())
	assert.False(t, ok, "the caller's request is not changed")
}

var errClientGone = errors.New("client gone")
