package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
)

const (
	adminEmail    = "admin@test.example"
	adminPassword = "correct horse battery staple"
)

// testServer is the demo server running on a random port.
type testServer struct {
	url    string
	stop   func()
	logs   *testenv.Buffer
	stdout *testenv.Buffer
}

// testDurations are Strapi's lifespans and one of a millisecond, so that the
// test can make an expired token through the admin API.
var testDurations = append([]apitoken.Duration{apitoken.Duration(time.Millisecond)}, apitoken.DefaultDurations...)

// startServer starts the demo server on db with env as its environment, and
// stops it when the test ends (or when stop is called). options change its
// config.
func startServer(t *testing.T, db string, env map[string]string, options ...func(*config)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{logs: &testenv.Buffer{}, stdout: &testenv.Buffer{}}
	cfg := config{
		db:         db,
		getenv:     func(k string) string { return env[k] },
		stdout:     s.stdout,
		log:        slog.New(slog.NewTextHandler(s.logs, nil)),
		durations:  testDurations,
		bcryptCost: bcrypt.MinCost,
	}
	for _, o := range options {
		o(&cfg)
	}
	a, err := newApp(ctx, cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "serve")
			case <-time.After(20 * time.Second):
				assert.Fail(t, "the server did not stop")
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), "body is not JSON: %q", r.body)
	return v
}

// do sends a request with the given headers ("Authorization: …" etc.).
func (s *testServer) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Add(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

func bearer(key string) string { return "Authorization: Bearer " + key }

// createToken creates a token through the admin API with Basic auth and
// returns its id and key.
func (s *testServer) createToken(t *testing.T, body string) (id, key string) {
	t.Helper()
	r := s.admin(t, "POST", "/admin/api-tokens", body)
	require.Equal(t, http.StatusCreated, r.status, "POST /admin/api-tokens %s: %s", body, r.body)
	var v struct {
		Data struct {
			ID        any    `json:"id"`
			AccessKey string `json:"accessKey"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), "create response %s", r.body)
	require.NotEmpty(t, v.Data.AccessKey, "create response %s", r.body)
	return fmt.Sprint(v.Data.ID), v.Data.AccessKey
}

// tokens are the keys the end-to-end test uses.
type tokens struct {
	readOnly, fullAccess, custom, expired, cli string
}

func TestEndToEnd(t *testing.T) {
	t.Setenv("API_TOKEN_SALT", "") // the CLI, run in-process, must use the salt file as the server does
	t.Setenv("APITOKEN_DB", "")
	db := filepath.Join(t.TempDir(), "e2e.db")
	env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}
	s := startServer(t, db, env)
	assert.Contains(t, s.logs.String(), "GENERATED A NEW API TOKEN SALT", "no salt warning at first start")

	var k tokens
	var roID string
	roID, k.readOnly = s.createToken(t, `{"name":"read-only","type":"read-only","lifespan":null}`)
	_, k.fullAccess = s.createToken(t, `{"name":"full-access","type":"full-access","lifespan":2592000000}`)
	_, k.custom = s.createToken(t, `{"name":"custom","type":"custom","permissions":["api::article.article.find","api::article.article.create"]}`)
	_, k.expired = s.createToken(t, `{"name":"expired","type":"full-access","lifespan":1}`)
	time.Sleep(5 * time.Millisecond)

	// A token made by another process on the same database and salt (as
	// the CLI does), while the server runs.
	k.cli = createOutside(t, db, "from-cli")

	t.Run("REST", func(t *testing.T) { testREST(t, s, k) })
	t.Run("authorization before anything", func(t *testing.T) { testAuthorizationFirst(t, s, k) })
	t.Run("headers", func(t *testing.T) { testHeaders(t, s, k) })
	t.Run("GraphQL", func(t *testing.T) { testGraphQL(t, s, k) })
	t.Run("admin", func(t *testing.T) { testAdmin(t, s, k) })
	t.Run("CLI token", func(t *testing.T) {
		r := s.do(t, "GET", "/api/articles", "", bearer(k.cli))
		assert.Equal(t, 200, r.status, "CLI token: %s", r.body)
		r = s.do(t, "DELETE", "/api/articles/x", "", bearer(k.cli))
		assert.Equal(t, 403, r.status, "CLI read-only token DELETE")
	})

	// Restart on the same database and salt file: every token still works,
	// and the lastUsedAt recorded before the stop was written.
	s.stop()
	s = startServer(t, db, env)
	assert.NotContains(t, s.logs.String(), "GENERATED", "a new salt was generated at restart")
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"read-only", k.readOnly, 200}, {"full-access", k.fullAccess, 200}, {"custom", k.custom, 200},
		{"cli", k.cli, 200}, {"expired", k.expired, 401},
	} {
		r := s.do(t, "GET", "/api/articles", "", bearer(tc.key))
		assert.Equal(t, tc.want, r.status, "after restart, %s token: %s", tc.name, r.body)
	}
	r := s.admin(t, "GET", "/admin/api-tokens/"+roID, "")
	var got struct {
		Data apitoken.Token `json:"data"`
	}
	json.Unmarshal([]byte(r.body), &got)
	assert.NotNil(t, got.Data.LastUsedAt, "lastUsedAt of the read-only token was not written by the shutdown: %s", r.body)
	t.Run("REST after restart", func(t *testing.T) { testREST(t, s, k) })
}

// admin sends a request to the admin API with Basic auth.
func (s *testServer) admin(t *testing.T, method, path, body string) response {
	t.Helper()
	return s.do(t, method, path, body, "Authorization: Basic "+basic(adminEmail, adminPassword))
}

// testREST walks the token types × the five routes, with the statuses
// observed on Strapi 5.54.
func testREST(t *testing.T, s *testServer, k tokens) {
	const (
		find = iota
		findOne
		create
		update
		del
	)
	rows := []struct {
		name    string
		headers []string
		want    [5]int
		message string
	}{
		{"read-only", []string{bearer(k.readOnly)}, [5]int{200, 200, 403, 403, 403}, "Forbidden"},
		{"full-access", []string{bearer(k.fullAccess)}, [5]int{200, 200, 201, 200, 204}, ""},
		{"custom find+create", []string{bearer(k.custom)}, [5]int{200, 403, 201, 403, 403}, "Forbidden"},
		{"expired", []string{bearer(k.expired)}, [5]int{401, 401, 401, 401, 401}, "Token expired"},
		{"unknown", []string{bearer(strings.Repeat("0", 256))}, [5]int{401, 401, 401, 401, 401}, "Missing or invalid credentials"},
		{"none", nil, [5]int{401, 401, 401, 401, 401}, "Missing or invalid credentials"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			doc := s.newArticle(t, k)
			before := s.do(t, "GET", "/api/articles/"+doc, "", bearer(k.fullAccess)).body
			count := s.count(t, k)
			got := [5]response{
				s.do(t, "GET", "/api/articles", "", row.headers...),
				s.do(t, "GET", "/api/articles/"+doc, "", row.headers...),
				s.do(t, "POST", "/api/articles", `{"data":{"title":"new","body":"b"}}`, row.headers...),
				s.do(t, "PUT", "/api/articles/"+doc, `{"data":{"title":"changed"}}`, row.headers...),
				s.do(t, "DELETE", "/api/articles/"+doc, "", row.headers...),
			}
			for i, r := range got {
				assert.Equal(t, row.want[i], r.status, "route %d: %s", i, r.body)
				if r.status >= 400 {
					e, _ := r.json(t)["error"].(map[string]any)
					assert.Equal(t, row.message, e["message"], "route %d: error %v", i, e)
					assert.Equal(t, float64(r.status), e["status"], "route %d: error %v", i, e)
				}
			}
			if got[find].status == 200 {
				v := got[find].json(t)
				_, ok := v["meta"].(map[string]any)["pagination"]
				assert.True(t, ok, "find: no meta.pagination: %s", got[find].body)
			}
			if got[create].status == 201 {
				data := got[create].json(t)["data"].(map[string]any)
				assert.Equal(t, "new", data["title"], "create returned %s", got[create].body)
				assert.NotEqual(t, "", data["documentId"], "create returned %s", got[create].body)
			}
			if got[del].status == 204 {
				assert.Empty(t, got[del].body, "delete: 204 with a body")
			}
			// A refused write leaves the data as it was.
			after := s.do(t, "GET", "/api/articles/"+doc, "", bearer(k.fullAccess))
			switch {
			case row.want[update] != 200 && row.want[del] != 204:
				assert.Equal(t, before, after.body, "refused writes changed the document")
			case row.want[del] == 204:
				assert.Equal(t, 404, after.status, "after delete")
			}
			if row.want[create] != 201 {
				assert.Equal(t, count, s.count(t, k), "a refused create added a document")
			}
		})
	}
}

func (s *testServer) newArticle(t *testing.T, k tokens) string {
	t.Helper()
	r := s.do(t, "POST", "/api/articles", `{"data":{"title":"target","body":"untouched"}}`, bearer(k.fullAccess))
	require.Equal(t, 201, r.status, "creating an article: %s", r.body)
	return r.json(t)["data"].(map[string]any)["documentId"].(string)
}

func (s *testServer) count(t *testing.T, k tokens) float64 {
	t.Helper()
	v := s.do(t, "GET", "/api/articles", "", bearer(k.fullAccess)).json(t)
	return v["meta"].(map[string]any)["pagination"].(map[string]any)["total"].(float64)
}

func testAuthorizationFirst(t *testing.T, s *testServer, k tokens) {
	tests := []struct {
		name, method, path, body, key string
		want                          int
	}{
		{"read-only DELETE of a missing document", "DELETE", "/api/articles/nosuchdocument", "", k.readOnly, 403},
		{"read-only POST without data", "POST", "/api/articles", `{"title":"x"}`, k.readOnly, 403},
		{"full-access POST without data", "POST", "/api/articles", `{"title":"x"}`, k.fullAccess, 400},
		{"full-access POST with unknown attribute", "POST", "/api/articles", `{"data":{"title":"x","admin":true}}`, k.fullAccess, 400},
		{"full-access POST of bad JSON", "POST", "/api/articles", `{"data":`, k.fullAccess, 400},
		{"full-access GET of a missing document", "GET", "/api/articles/nosuchdocument", "", k.fullAccess, 404},
		{"full-access PUT of a missing document", "PUT", "/api/articles/nosuchdocument", `{"data":{"title":"x"}}`, k.fullAccess, 404},
		{"full-access DELETE of a missing document", "DELETE", "/api/articles/nosuchdocument", "", k.fullAccess, 204},
		{"custom on categories", "GET", "/api/categories", "", k.custom, 403},
		{"read-only on categories", "GET", "/api/categories", "", k.readOnly, 200},
		{"oversized body", "POST", "/api/articles", `{"data":{"title":"` + strings.Repeat("x", 2<<20) + `"}}`, k.fullAccess, 413},
	}
	for _, tt := range tests {
		r := s.do(t, tt.method, tt.path, tt.body, bearer(tt.key))
		assert.Equal(t, tt.want, r.status, "%s: %.200s", tt.name, r.body)
		if tt.want == 400 || tt.want == 404 {
			v := r.json(t)
			assert.IsType(t, map[string]any{}, v["error"], "%s: body %s is not Strapi's error", tt.name, r.body)
			assert.Nil(t, v["data"], "%s: body %s is not Strapi's error", tt.name, r.body)
		}
	}
	r := s.do(t, "POST", "/api/articles", `{"title":"x"}`, bearer(k.fullAccess))
	assert.Contains(t, r.body, `"name":"ValidationError"`, "missing data wrapper")
	assert.Contains(t, r.body, `Missing \"data\" payload`, "missing data wrapper")
}

func testHeaders(t *testing.T, s *testServer, k tokens) {
	refused := [][]string{
		{"Authorization: Bearer"},
		{"Authorization: Basic " + basic("a", "b")},
		{"Authorization: " + k.readOnly},
		{"Authorization: Bearer " + k.readOnly + " extra"},
		{"X-API-Key: " + k.readOnly},
		{"Authorization: Bearer " + strings.ToUpper(k.readOnly)},
		{"Authorization: Bearer " + k.readOnly[:len(k.readOnly)-1]},
		{"Authorization: Bearer " + k.readOnly + "0"},
	}
	for _, h := range refused {
		r := s.do(t, "GET", "/api/articles", "", h...)
		assert.Equal(t, 401, r.status, "%.60s: %s", h[0], r.body)
		assert.Contains(t, r.body, "Missing or invalid credentials", "%.60s", h[0])
	}
	r := s.do(t, "GET", "/api/articles?access_token="+k.readOnly, "")
	assert.Equal(t, 401, r.status, "key in the query string")
	for _, h := range []string{"Authorization: bEaReR   " + k.readOnly, "Authorization: Bearer\t" + k.readOnly, "Authorization:   bearer " + k.readOnly + "  "} {
		r := s.do(t, "GET", "/api/articles", "", h)
		assert.Equal(t, 200, r.status, "%q", h[:30])
	}
}

// gql posts a GraphQL query and returns the status and the decoded body.
func (s *testServer) gql(t *testing.T, key, query string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	r := s.do(t, "POST", "/graphql", string(body), bearer(key))
	return r.status, r.json(t)
}

func testGraphQL(t *testing.T, s *testServer, k tokens) {
	doc := s.newArticle(t, k)
	queries := map[string]string{
		"articles":      `{ articles { documentId title } }`,
		"article":       `{ article(documentId: "` + doc + `") { title body } }`,
		"createArticle": `mutation { createArticle(data: {title: "via GraphQL"}) { documentId title } }`,
		"updateArticle": `mutation { updateArticle(documentId: "` + doc + `", data: {body: "updated"}) { body } }`,
		"deleteArticle": `mutation { deleteArticle(documentId: "nosuchdocument") { documentId } }`,
	}
	allowed := map[string]map[string]bool{
		"read-only":   {"articles": true, "article": true},
		"full-access": {"articles": true, "article": true, "createArticle": true, "updateArticle": true, "deleteArticle": true},
		"custom":      {"articles": true, "createArticle": true},
	}
	keys := map[string]string{"read-only": k.readOnly, "full-access": k.fullAccess, "custom": k.custom}
	for typ, fields := range allowed {
		for field, q := range queries {
			status, v := s.gql(t, keys[typ], q)
			if !assert.Equal(t, 200, status, "%s %s: HTTP status", typ, field) {
				continue
			}
			data, _ := v["data"].(map[string]any)
			errs, _ := v["errors"].([]any)
			if fields[field] {
				assert.Empty(t, errs, "%s %s: refused: %v", typ, field, v)
				assert.NotNil(t, data[field], "%s %s: refused: %v", typ, field, v)
				continue
			}
			assert.NotNil(t, data, "%s %s: want data.%s null: %v", typ, field, field, v)
			assert.Nil(t, data[field], "%s %s: want data.%s null: %v", typ, field, field, v)
			if !assert.Len(t, errs, 1, "%s %s: want one error: %v", typ, field, v) {
				continue
			}
			e := errs[0].(map[string]any)
			ext, _ := e["extensions"].(map[string]any)
			assert.Equal(t, "Forbidden access", e["message"], "%s %s: error %v", typ, field, e)
			assert.Equal(t, "FORBIDDEN", ext["code"], "%s %s: error %v", typ, field, e)
		}
	}
	// A refused mutation next to an allowed query: the query answers.
	_, v := s.gql(t, k.readOnly, `mutation { deleteArticle(documentId: "`+doc+`") { documentId } }`)
	assert.Nil(t, v["data"].(map[string]any)["deleteArticle"], "read-only deleteArticle: %v", v)
	assert.Equal(t, 200, s.do(t, "GET", "/api/articles/"+doc, "", bearer(k.readOnly)).status,
		"a refused deleteArticle deleted the document")

	for name, tc := range map[string]struct{ key, msg string }{
		"expired": {k.expired, "Token expired"},
		"unknown": {strings.Repeat("f", 256), "Missing or invalid credentials"},
		"none":    {"", "Missing or invalid credentials"},
	} {
		var headers []string
		if tc.key != "" {
			headers = append(headers, bearer(tc.key))
		}
		r := s.do(t, "POST", "/graphql", `{"query":"{ articles { title } }"}`, headers...)
		assert.Equal(t, 401, r.status, "GraphQL with %s token: %s", name, r.body)
		assert.Contains(t, r.body, tc.msg, "GraphQL with %s token", name)
		assert.Contains(t, r.body, `"name":"UnauthorizedError"`, "GraphQL with %s token", name)
	}
	r := s.do(t, "POST", "/graphql", `{"query":"{ articles { title } }`, bearer(k.readOnly))
	assert.Equal(t, 400, r.status, "malformed GraphQL body")
	deep := "{ articles { title } }" + strings.Repeat(" ", 20<<10)
	status, v := s.gql(t, k.readOnly, deep)
	assert.Equal(t, 200, status, "oversized query: %v", v)
	assert.NotNil(t, v["errors"], "oversized query: %v", v)
	r = s.do(t, "POST", "/graphql", strings.Repeat("x", 2<<20), bearer(k.readOnly))
	assert.Contains(t, []int{413, 400}, r.status, "oversized GraphQL body")
}

func testAdmin(t *testing.T, s *testServer, k tokens) {
	// API tokens never open the admin API.
	for _, key := range []string{k.fullAccess, k.readOnly} {
		r := s.do(t, "GET", "/admin/api-tokens", "", bearer(key))
		assert.Equal(t, 401, r.status, "API token on the admin API: %s", r.body)
	}
	r := s.do(t, "GET", "/admin/api-tokens", "", "Authorization: Basic "+basic(adminEmail, "wrong"))
	assert.Equal(t, 401, r.status, "wrong Basic password")
	r = s.do(t, "GET", "/admin/api-tokens", "")
	assert.Equal(t, 401, r.status, "no credentials: %s", r.body)
	assert.Contains(t, r.body, "UnauthorizedError", "no credentials")
	r = s.do(t, "GET", "/admin/", "", "Accept: text/html")
	assert.Equal(t, 303, r.status, "browser without a session")
	assert.Equal(t, "/admin/login", r.header.Get("Location"), "browser without a session")
	r = s.admin(t, "GET", "/admin/api-tokens", "")
	assert.Equal(t, 200, r.status, "list with Basic auth: %s", r.body)
	assert.NotContains(t, r.body, "accessKey", "list with Basic auth")
	r = s.admin(t, "GET", "/admin/content-api/permissions", "")
	assert.Equal(t, 200, r.status, "permissions: %s", r.body)
	assert.Contains(t, r.body, "api::article", "permissions")

	// The login form gives a session cookie that opens the admin API.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"email": {adminEmail}, "password": {"wrong"}}
	res, err := client.PostForm(s.url+"/admin/login", form)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 401, res.StatusCode, "wrong password")
	assert.Empty(t, jar.Cookies(mustURL(s.url+"/admin/")), "wrong password: cookies")
	form.Set("password", adminPassword)
	res, err = client.PostForm(s.url+"/admin/login", form)
	require.NoError(t, err)
	res.Body.Close()
	cookie := res.Header.Get("Set-Cookie")
	assert.Equal(t, 303, res.StatusCode, "login")
	assert.Contains(t, cookie, "HttpOnly", "login: Set-Cookie")
	assert.Contains(t, cookie, "SameSite=Strict", "login: Set-Cookie")
	get := func() int {
		res, err := client.Get(s.url + "/admin/api-tokens")
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, 200, get(), "with a session cookie")
	// Another site's form cannot use the session.
	req, _ := http.NewRequest("POST", s.url+"/admin/api-tokens", strings.NewReader(`{"name":"csrf"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = client.Do(req)
	if assert.NoError(t, err, "cross-site POST") {
		res.Body.Close()
		assert.Equal(t, 403, res.StatusCode, "cross-site POST")
	}
	res, err = client.PostForm(s.url+"/admin/logout", nil)
	require.NoError(t, err)
	res.Body.Close()
	// The server forgets the session: the old cookie no longer works.
	session, _, _ := strings.Cut(cookie, ";")
	r = s.do(t, "GET", "/admin/api-tokens", "", "Cookie: "+session)
	assert.Equal(t, 401, r.status, "old session cookie after logout")
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
