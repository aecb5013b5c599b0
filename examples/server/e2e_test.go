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
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("the server did not stop")
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
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not JSON (%v): %q", err, r.body)
	}
	return v
}

// do sends a request with the given headers ("Authorization: …" etc.).
func (s *testServer) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
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
	if r.status != http.StatusCreated {
		t.Fatalf("POST /admin/api-tokens %s: %d %s", body, r.status, r.body)
	}
	var v struct {
		Data struct {
			ID        any    `json:"id"`
			AccessKey string `json:"accessKey"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Data.AccessKey == "" {
		t.Fatalf("create response %s: %v", r.body, err)
	}
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
	if !strings.Contains(s.logs.String(), "GENERATED A NEW API TOKEN SALT") {
		t.Errorf("no salt warning at first start:\n%s", s.logs)
	}

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
		if r := s.do(t, "GET", "/api/articles", "", bearer(k.cli)); r.status != 200 {
			t.Errorf("CLI token: %d %s", r.status, r.body)
		}
		if r := s.do(t, "DELETE", "/api/articles/x", "", bearer(k.cli)); r.status != 403 {
			t.Errorf("CLI read-only token DELETE: %d", r.status)
		}
	})

	// Restart on the same database and salt file: every token still works,
	// and the lastUsedAt recorded before the stop was written.
	s.stop()
	s = startServer(t, db, env)
	if strings.Contains(s.logs.String(), "GENERATED") {
		t.Errorf("a new salt was generated at restart:\n%s", s.logs)
	}
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"read-only", k.readOnly, 200}, {"full-access", k.fullAccess, 200}, {"custom", k.custom, 200},
		{"cli", k.cli, 200}, {"expired", k.expired, 401},
	} {
		if r := s.do(t, "GET", "/api/articles", "", bearer(tc.key)); r.status != tc.want {
			t.Errorf("after restart, %s token: %d, want %d: %s", tc.name, r.status, tc.want, r.body)
		}
	}
	r := s.admin(t, "GET", "/admin/api-tokens/"+roID, "")
	var got struct {
		Data apitoken.Token `json:"data"`
	}
	json.Unmarshal([]byte(r.body), &got)
	if got.Data.LastUsedAt == nil {
		t.Errorf("lastUsedAt of the read-only token was not written by the shutdown: %s", r.body)
	}
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
				if r.status != row.want[i] {
					t.Errorf("route %d: %d, want %d: %s", i, r.status, row.want[i], r.body)
				}
				if r.status >= 400 {
					e, _ := r.json(t)["error"].(map[string]any)
					if e["message"] != row.message || e["status"] != float64(r.status) {
						t.Errorf("route %d: error %v, want message %q", i, e, row.message)
					}
				}
			}
			if got[find].status == 200 {
				v := got[find].json(t)
				if _, ok := v["meta"].(map[string]any)["pagination"]; !ok {
					t.Errorf("find: no meta.pagination: %s", got[find].body)
				}
			}
			if got[create].status == 201 {
				data := got[create].json(t)["data"].(map[string]any)
				if data["title"] != "new" || data["documentId"] == "" {
					t.Errorf("create returned %s", got[create].body)
				}
			}
			if got[del].status == 204 && got[del].body != "" {
				t.Errorf("delete: 204 with a body %q", got[del].body)
			}
			// A refused write leaves the data as it was.
			after := s.do(t, "GET", "/api/articles/"+doc, "", bearer(k.fullAccess))
			switch {
			case row.want[update] != 200 && row.want[del] != 204 && after.body != before:
				t.Errorf("refused writes changed the document:\n%s\n%s", before, after.body)
			case row.want[del] == 204 && after.status != 404:
				t.Errorf("after delete: %d", after.status)
			}
			if row.want[create] != 201 && s.count(t, k) != count {
				t.Error("a refused create added a document")
			}
		})
	}
}

func (s *testServer) newArticle(t *testing.T, k tokens) string {
	t.Helper()
	r := s.do(t, "POST", "/api/articles", `{"data":{"title":"target","body":"untouched"}}`, bearer(k.fullAccess))
	if r.status != 201 {
		t.Fatalf("creating an article: %d %s", r.status, r.body)
	}
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
		if r.status != tt.want {
			t.Errorf("%s: %d, want %d: %.200s", tt.name, r.status, tt.want, r.body)
		}
		if tt.want == 400 || tt.want == 404 {
			if e, _ := r.json(t)["error"].(map[string]any); e == nil || r.json(t)["data"] != nil {
				t.Errorf("%s: body %s is not Strapi's error", tt.name, r.body)
			}
		}
	}
	r := s.do(t, "POST", "/api/articles", `{"title":"x"}`, bearer(k.fullAccess))
	if !strings.Contains(r.body, `"name":"ValidationError"`) || !strings.Contains(r.body, `Missing \"data\" payload`) {
		t.Errorf("missing data wrapper: %s", r.body)
	}
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
		if r.status != 401 || !strings.Contains(r.body, "Missing or invalid credentials") {
			t.Errorf("%.60s: %d %s", h[0], r.status, r.body)
		}
	}
	if r := s.do(t, "GET", "/api/articles?access_token="+k.readOnly, ""); r.status != 401 {
		t.Errorf("key in the query string: %d", r.status)
	}
	for _, h := range []string{"Authorization: bEaReR   " + k.readOnly, "Authorization: Bearer\t" + k.readOnly, "Authorization:   bearer " + k.readOnly + "  "} {
		if r := s.do(t, "GET", "/api/articles", "", h); r.status != 200 {
			t.Errorf("%q: %d", h[:30], r.status)
		}
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
			if status != 200 {
				t.Errorf("%s %s: HTTP %d", typ, field, status)
				continue
			}
			data, _ := v["data"].(map[string]any)
			errs, _ := v["errors"].([]any)
			if fields[field] {
				if len(errs) > 0 || data[field] == nil {
					t.Errorf("%s %s: refused: %v", typ, field, v)
				}
				continue
			}
			if len(errs) != 1 || data == nil || data[field] != nil {
				t.Errorf("%s %s: want one error and data.%s null: %v", typ, field, field, v)
				continue
			}
			e := errs[0].(map[string]any)
			ext, _ := e["extensions"].(map[string]any)
			if e["message"] != "Forbidden access" || ext["code"] != "FORBIDDEN" {
				t.Errorf("%s %s: error %v", typ, field, e)
			}
		}
	}
	// A refused mutation next to an allowed query: the query answers.
	_, v := s.gql(t, k.readOnly, `mutation { deleteArticle(documentId: "`+doc+`") { documentId } }`)
	if v["data"].(map[string]any)["deleteArticle"] != nil {
		t.Errorf("read-only deleteArticle: %v", v)
	}
	if s.do(t, "GET", "/api/articles/"+doc, "", bearer(k.readOnly)).status != 200 {
		t.Error("a refused deleteArticle deleted the document")
	}

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
		if r.status != 401 || !strings.Contains(r.body, tc.msg) || !strings.Contains(r.body, `"name":"UnauthorizedError"`) {
			t.Errorf("GraphQL with %s token: %d %s", name, r.status, r.body)
		}
	}
	if r := s.do(t, "POST", "/graphql", `{"query":"{ articles { title } }`, bearer(k.readOnly)); r.status != 400 {
		t.Errorf("malformed GraphQL body: %d", r.status)
	}
	deep := "{ articles { title } }" + strings.Repeat(" ", 20<<10)
	if status, v := s.gql(t, k.readOnly, deep); status != 200 || v["errors"] == nil {
		t.Errorf("oversized query: %d %v", status, v)
	}
	if r := s.do(t, "POST", "/graphql", strings.Repeat("x", 2<<20), bearer(k.readOnly)); r.status != 413 && r.status != 400 {
		t.Errorf("oversized GraphQL body: %d", r.status)
	}
}

func testAdmin(t *testing.T, s *testServer, k tokens) {
	// API tokens never open the admin API.
	for _, key := range []string{k.fullAccess, k.readOnly} {
		if r := s.do(t, "GET", "/admin/api-tokens", "", bearer(key)); r.status != 401 {
			t.Errorf("API token on the admin API: %d %s", r.status, r.body)
		}
	}
	if r := s.do(t, "GET", "/admin/api-tokens", "", "Authorization: Basic "+basic(adminEmail, "wrong")); r.status != 401 {
		t.Errorf("wrong Basic password: %d", r.status)
	}
	if r := s.do(t, "GET", "/admin/api-tokens", ""); r.status != 401 || !strings.Contains(r.body, "UnauthorizedError") {
		t.Errorf("no credentials: %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/admin/", "", "Accept: text/html"); r.status != 303 || r.header.Get("Location") != "/admin/login" {
		t.Errorf("browser without a session: %d %v", r.status, r.header.Get("Location"))
	}
	r := s.admin(t, "GET", "/admin/api-tokens", "")
	if r.status != 200 || strings.Contains(r.body, "accessKey") {
		t.Errorf("list with Basic auth: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "GET", "/admin/content-api/permissions", ""); r.status != 200 || !strings.Contains(r.body, "api::article") {
		t.Errorf("permissions: %d %s", r.status, r.body)
	}

	// The login form gives a session cookie that opens the admin API.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"email": {adminEmail}, "password": {"wrong"}}
	res, err := client.PostForm(s.url+"/admin/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || len(jar.Cookies(mustURL(s.url+"/admin/"))) != 0 {
		t.Errorf("wrong password: %d, cookies %v", res.StatusCode, jar.Cookies(mustURL(s.url+"/admin/")))
	}
	form.Set("password", adminPassword)
	res, err = client.PostForm(s.url+"/admin/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookie := res.Header.Get("Set-Cookie")
	if res.StatusCode != 303 || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Errorf("login: %d, Set-Cookie %q", res.StatusCode, cookie)
	}
	get := func() int {
		res, err := client.Get(s.url + "/admin/api-tokens")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(); code != 200 {
		t.Errorf("with a session cookie: %d", code)
	}
	// Another site's form cannot use the session.
	req, _ := http.NewRequest("POST", s.url+"/admin/api-tokens", strings.NewReader(`{"name":"csrf"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := client.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("cross-site POST: %v %v", res.StatusCode, err)
	}
	res, err = client.PostForm(s.url+"/admin/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The server forgets the session: the old cookie no longer works.
	session, _, _ := strings.Cut(cookie, ";")
	if r := s.do(t, "GET", "/admin/api-tokens", "", "Cookie: "+session); r.status != 401 {
		t.Errorf("old session cookie after logout: %d", r.status)
	}
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
