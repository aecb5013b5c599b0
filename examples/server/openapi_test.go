package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/leak"
)

// openAPIRig checks requests to a demo server, and its answers, against
// the content API's OpenAPI document, which the server serves.
type openAPIRig struct {
	t        *testing.T
	s        *testServer
	validate validator.Validator
	statuses map[string][]string // documented statuses by operationId, "default" left out
	ok       map[string]bool     // operations that answered a 2xx
}

func newOpenAPIRig(t *testing.T, s *testServer) *openAPIRig {
	r := s.do(t, "GET", "/openapi.json", "")
	require.Equal(t, 200, r.status, "the document is served without a token")
	doc, err := libopenapi.NewDocument([]byte(r.body))
	require.NoError(t, err)
	// Text bodies are checked against their schemas too, and a declared
	// body that the validator cannot read fails instead of passing.
	v, errs := validator.NewValidator(doc, vconfig.WithFormatAssertions(),
		vconfig.WithBodyDecoder("text/plain", content.TextDecoder()), vconfig.WithRejectUnsupportedBodyContent())
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	require.True(t, ok, "the document is valid OpenAPI 3.1: %s", describeErrors(verrs))
	rig := &openAPIRig{t: t, s: s, validate: v, statuses: map[string][]string{}, ok: map[string]bool{}}
	var raw struct {
		Paths map[string]map[string]json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &raw))
	for _, item := range raw.Paths {
		for method, op := range item {
			if method == "parameters" {
				continue
			}
			var o struct {
				OperationID string `json:"operationId"`
				Responses   map[string]any
			}
			require.NoError(t, json.Unmarshal(op, &o))
			for s := range o.Responses {
				if s != "default" {
					rig.statuses[o.OperationID] = append(rig.statuses[o.OperationID], s)
				}
			}
		}
	}
	return rig
}

// check sends a request with headers ("Authorization: …"), expects status,
// and validates the request (which the document refuses when badRequest)
// and the response against the document. A body is application/json
// unless a "Content-Type: …" header says otherwise.
func (o *openAPIRig) check(op string, status int, badRequest bool, method, path, body string, headers ...string) response {
	t := o.t
	t.Helper()
	req := func() *http.Request {
		req, err := http.NewRequest(method, o.s.url+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			if http.CanonicalHeaderKey(k) == "Content-Type" {
				req.Header.Set(k, v)
			} else {
				req.Header.Add(k, v)
			}
		}
		return req
	}
	res := sendRequest(t, req())
	name := fmt.Sprintf("%s %s %s %v", op, method, path, headers)
	require.Equal(t, status, res.status, "%s: %s", name, res.body)

	ok, errs := o.validate.ValidateHttpRequest(req())
	if badRequest {
		assert.False(t, ok, "%s: the document should refuse the request", name)
	} else {
		assert.True(t, ok, "%s: request: %s", name, describeErrors(errs))
	}
	r := req()
	httpRes := &http.Response{StatusCode: res.status, Header: res.header, Body: io.NopCloser(strings.NewReader(res.body)), Request: r}
	ok, errs = o.validate.ValidateHttpResponse(r, httpRes)
	assert.True(t, ok, "%s: response %d %.300s: %s", name, res.status, res.body, describeErrors(errs))
	assert.Contains(t, o.statuses[op], fmt.Sprint(res.status), "%s: the status is documented, not left to default", name)
	if res.status < 300 {
		o.ok[op] = true
	}
	return res
}

// sendRequest sends req, following no redirect.
func sendRequest(t *testing.T, req *http.Request) response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, res.Header, string(b)}
}

func describeErrors(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s at %s (%s)", s.Reason, s.FieldPath, s.KeywordLocation)
		}
	}
	return b.String()
}

// TestOpenAPI drives every operation of the content API's document on a
// running demo server, with each token type and the refusals, and
// validates every request and response against it. The server takes
// GitHub's secret scanning reports, so that every route is there.
func TestOpenAPI(t *testing.T) {
	env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}
	dir := t.TempDir()
	keyFile, github := githubKeySet(t, dir)
	db := filepath.Join(dir, "openapi.db")
	s := startServer(t, db, env, func(c *config) { c.githubKeys = keyFile })
	o := newOpenAPIRig(t, s)
	_, ro := s.createToken(t, `{"name":"read-only","type":"read-only"}`)
	_, full := s.createToken(t, `{"name":"full-access","type":"full-access"}`)
	_, custom := s.createToken(t, `{"name":"custom","type":"custom","permissions":["api::article.article.find","api::article.article.create"]}`)
	big := `{"data":{"title":"` + strings.Repeat("a", 1<<20) + `"}}`

	o.check("getOpenAPI", 200, false, "GET", "/openapi.json", "")
	for _, c := range []struct{ plural, tag, create, update string }{
		{"articles", "Article", `{"data":{"title":"Hello","body":"Read me"}}`, `{"data":{"body":"Changed"}}`},
		{"categories", "Category", `{"data":{"name":"News"}}`, `{"data":{"name":"Old news"}}`},
	} {
		path := "/api/" + c.plural
		o.check("find"+c.tag, 200, false, "GET", path, "", bearer(ro))
		o.check("find"+c.tag, 200, false, "GET", path+"?pagination%5Bpage%5D=2&pagination%5BpageSize%5D=1", "", bearer(full))
		o.check("find"+c.tag, 400, true, "GET", path+"?pagination%5BpageSize%5D=101", "", bearer(full))
		o.check("find"+c.tag, 401, true, "GET", path, "")
		o.check("find"+c.tag, 401, false, "GET", path, "", bearer(strings.Repeat("0", 256)))
		o.check("find"+c.tag, 401, true, "GET", path, "", "Authorization: Basic "+basic(adminEmail, adminPassword))
		o.check("find"+c.tag, 400, false, "GET", path, "", bearer(ro), bearer(ro))
		res := o.check("create"+c.tag, 201, false, "POST", path, c.create, bearer(full))
		var created struct{ Data struct{ DocumentID string } }
		require.NoError(t, json.Unmarshal([]byte(res.body), &created))
		id := created.Data.DocumentID
		o.check("create"+c.tag, 403, false, "POST", path, c.create, bearer(ro))
		o.check("create"+c.tag, 400, false, "POST", path, `{"data":{}}`, bearer(full)) // the required attribute is missing
		o.check("create"+c.tag, 400, true, "POST", path, `{"data":{"color":"red"}}`, bearer(full))
		o.check("create"+c.tag, 400, true, "POST", path, `{"data":`, bearer(full))
		o.check("create"+c.tag, 413, true, "POST", path, big, bearer(full))
		o.check("findOne"+c.tag, 200, false, "GET", path+"/"+id, "", bearer(ro))
		o.check("findOne"+c.tag, 404, false, "GET", path+"/no-such-document", "", bearer(ro))
		o.check("update"+c.tag, 200, false, "PUT", path+"/"+id, c.update, bearer(full))
		o.check("update"+c.tag, 403, false, "PUT", path+"/"+id, c.update, bearer(ro))
		o.check("update"+c.tag, 404, false, "PUT", path+"/no-such-document", c.update, bearer(full))
		o.check("update"+c.tag, 400, true, "PUT", path+"/"+id, `{"data":{"id":7}}`, bearer(full))
		o.check("delete"+c.tag, 403, false, "DELETE", path+"/"+id, "", bearer(ro))
		o.check("delete"+c.tag, 204, false, "DELETE", path+"/"+id, "", bearer(full))
		o.check("delete"+c.tag, 204, false, "DELETE", path+"/"+id, "", bearer(full)) // gone already: 204 too
	}
	o.check("findArticle", 200, false, "GET", "/api/articles", "", bearer(custom))
	o.check("findCategory", 403, false, "GET", "/api/categories", "", bearer(custom))

	o.check("readSelf", 200, false, "GET", "/api/tokens/self", "", bearer(ro))
	o.check("readSelf", 401, true, "GET", "/api/tokens/self", "")
	o.check("rotateSelf", 403, false, "POST", "/api/tokens/self/rotate", "", bearer(ro))
	o.check("rotateSelf", 400, true, "POST", "/api/tokens/self/rotate", `{"overlap":-1}`, bearer(full))
	res := o.check("rotateSelf", 200, false, "POST", "/api/tokens/self/rotate", `{"overlap":60000}`, bearer(full))
	assert.Contains(t, res.body, "accessKey")
	o.check("rotateSelf", 409, false, "POST", "/api/tokens/self/rotate", "", bearer(full))

	const query = `{"query":"{ articles { documentId title } }"}`
	o.check("graphql", 200, false, "POST", "/graphql", query, bearer(ro))
	res = o.check("graphql", 200, false, "POST", "/graphql", `{"query":"mutation { createArticle(data: {title: \"No\"}) { documentId } }"}`, bearer(ro))
	assert.Contains(t, res.body, "FORBIDDEN")
	o.check("graphql", 401, true, "POST", "/graphql", query)
	o.check("graphql", 400, true, "POST", "/graphql", `{"variables":{}}`, bearer(ro))
	o.check("graphql", 400, false, "POST", "/graphql", query, bearer(ro), bearer(ro))

	checkLeakedKeyReports(t, o)
	checkGitHubReports(t, o, github, db)

	// Past the failure limit: 429, unchecked. A server of its own, whose
	// limit the calls above would have used up.
	limited := startServer(t, filepath.Join(t.TempDir(), "limited.db"), env, func(c *config) {
		c.failureLimit = &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 2}
	})
	ol := newOpenAPIRig(t, limited)
	for range 2 {
		ol.check("findArticle", 401, false, "GET", "/api/articles", "", bearer(strings.Repeat("0", 256)))
	}
	res = ol.check("findArticle", 429, false, "GET", "/api/articles", "", bearer(strings.Repeat("0", 256)))
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	ol.check("graphql", 429, false, "POST", "/graphql", query, bearer(strings.Repeat("0", 256)))

	for op := range o.statuses {
		assert.True(t, o.ok[op], "%s: no call succeeded", op)
	}
}

// checkLeakedKeyReports reports keys to POST /api/revoke-leaked-key in
// each form and each malformed way, past the per-client limit, and checks
// that the reported keys stop working.
func checkLeakedKeyReports(t *testing.T, o *openAPIRig) {
	const route, text = "/api/revoke-leaked-key", "Content-Type: text/plain; charset=utf-8"
	var ids, keys [3]string
	for i := range ids {
		ids[i], keys[i] = o.s.createToken(t, fmt.Sprintf(`{"name":"leaked-%d","type":"read-only"}`, i))
		o.check("findArticle", 200, false, "GET", "/api/articles", "", bearer(keys[i]))
	}
	// Every report counts towards the client's limit, refused ones too.
	reports := []struct {
		status     int
		badRequest bool
		body       string
		headers    []string
	}{
		{202, false, keys[0], []string{text}},
		{202, false, `{"key":"` + keys[1] + `"}`, nil},
		{202, false, "  Bearer " + keys[2] + "\n", []string{text}},
		{202, false, `{"key":"` + strings.Repeat("0", 256) + `"}`, nil}, // issued nowhere: the same answer
		{400, true, "", nil},
		{400, true, `{"key":`, nil},
		{400, true, `{"key":7}`, nil},
		{400, true, `{"key":"two words"}`, nil},
		{400, true, "two words", []string{text}},
		{413, true, strings.Repeat("k", leak.DefaultRevokeMaxBody+1), []string{text}},
	}
	require.Len(t, reports, leak.DefaultRevokeBurst)
	for _, r := range reports {
		res := o.check("reportLeakedKey", r.status, r.badRequest, "POST", route, r.body, r.headers...)
		if r.status == 202 {
			assert.Equal(t, leak.Accepted, res.body)
		}
	}
	res := o.check("reportLeakedKey", 429, false, "POST", route, keys[0], text)
	assert.NotEmpty(t, res.header.Get("Retry-After"))

	// The tokens are deleted in the background: the admin API tells when.
	for _, id := range ids {
		for try := 0; ; try++ {
			r := o.s.admin(t, "GET", "/admin/api-tokens/"+id, "")
			if r.status == http.StatusNotFound {
				break
			}
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Less(t, try, 1000, "token %s is still there after a report of its key", id)
		}
	}
	for _, key := range keys {
		o.check("findArticle", 401, false, "GET", "/api/articles", "", bearer(key))
	}
	checkMethodNotAllowed(t, o.s, route)
}

// checkGitHubReports sends GitHub's secret scanning reports, signed with
// github, and the refusals, and checks that the reported keys stop
// working. db is the server's SQLite database, made to fail for a 503.
func checkGitHubReports(t *testing.T, o *openAPIRig, github *ecdsa.PrivateKey, db string) {
	const route, op = "/secret-scanning/github", "reportGitHubSecretScanning"
	report := func(keys ...string) string {
		matches := make([]leak.Match, len(keys))
		for i, k := range keys {
			matches[i] = leak.Match{Token: k, Type: "apitoken_demo_key", URL: "https://github.com/o/r/blob/main/.env", Source: "content"}
		}
		b, err := json.Marshal(matches)
		require.NoError(t, err)
		return string(b)
	}
	signed := func(status int, badRequest bool, body string) response {
		t.Helper()
		return o.check(op, status, badRequest, "POST", route, body, githubKeyID, githubSignature(t, github, body))
	}
	_, leaked := o.s.createToken(t, `{"name":"on-github","type":"read-only"}`)
	o.check("findArticle", 200, false, "GET", "/api/articles", "", bearer(leaked))
	unknown := "apitoken_" + strings.Repeat("0", 49)
	assertLabels(t, signed(200, false, report(leaked, unknown, leaked)), map[string]string{leaked: "true_positive", unknown: "false_positive"}, leaked, unknown, leaked)
	o.check("findArticle", 401, false, "GET", "/api/articles", "", bearer(leaked)) // deleted before the answer
	// Sent again: still a true positive, though its token is gone (the
	// handler remembers the keys it revoked).
	assertLabels(t, signed(200, false, report(leaked)), map[string]string{leaked: "true_positive"}, leaked)
	assertLabels(t, signed(200, false, "[]"), nil)

	body := report(unknown)
	o.check(op, 401, true, "POST", route, body)
	o.check(op, 401, true, "POST", route, body, githubKeyID)
	o.check(op, 401, false, "POST", route, body, "Github-Public-Key-Identifier: no-such-key", githubSignature(t, github, body))
	o.check(op, 401, false, "POST", route, body, githubKeyID, githubSignature(t, github, "[]")) // another body's
	o.check(op, 401, true, "POST", route, body, githubKeyID, "Github-Public-Key-Signature: not base64!")
	for _, notReport := range []string{`{"token":"` + unknown + `"}`, `[{"type":"apitoken_demo_key"}]`, `["` + unknown + `"]`, `[{"token":7}]`} {
		signed(400, true, notReport)
	}
	signed(413, false, report(strings.Repeat("a", leak.DefaultMaxReport)))

	// A store that fails: 503, and the key works until GitHub sends the
	// report again.
	_, again := o.s.createToken(t, `{"name":"sent-again","type":"read-only"}`)
	body = report(again)
	refuseDeletes(t, db, true)
	signed(503, false, body)
	o.check("findArticle", 200, false, "GET", "/api/articles", "", bearer(again))
	refuseDeletes(t, db, false)
	assertLabels(t, signed(200, false, body), map[string]string{again: "true_positive"}, again)
	o.check("findArticle", 401, false, "GET", "/api/articles", "", bearer(again))
	checkMethodNotAllowed(t, o.s, route)
}

// assertLabels checks GitHub's feedback: one element for each of keys, in
// order, naming it by its SHA-256, with the label of labels[key].
func assertLabels(t *testing.T, res response, labels map[string]string, keys ...string) {
	t.Helper()
	var feedback []struct {
		TokenHash string `json:"token_hash"`
		TokenType string `json:"token_type"`
		Label     string `json:"label"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.body), &feedback), res.body)
	require.Len(t, feedback, len(keys), res.body)
	for i, k := range keys {
		sum := sha256.Sum256([]byte(k))
		assert.Equal(t, hex.EncodeToString(sum[:]), feedback[i].TokenHash, "match %d", i)
		assert.Equal(t, "apitoken_demo_key", feedback[i].TokenType, "match %d", i)
		assert.Equal(t, labels[k], feedback[i].Label, "match %d", i)
	}
	for _, k := range keys {
		assert.NotContains(t, res.body, k, "the answer names keys by their hash")
	}
}

// checkMethodNotAllowed checks the answer to a GET of a POST-only route,
// which the document cannot hold: the demo's 405, with Strapi's error body.
func checkMethodNotAllowed(t *testing.T, s *testServer, path string) {
	t.Helper()
	r := s.do(t, "GET", path, "")
	require.Equal(t, http.StatusMethodNotAllowed, r.status, r.body)
	assert.Equal(t, "POST", r.header.Get("Allow"))
	assert.Equal(t, "MethodNotAllowedError", r.json(t)["error"].(map[string]any)["name"], r.body)
}

// refuseDeletes makes the demo's SQLite database refuse to delete a token,
// as a failing store would, or, with refuse false, lets it again.
func refuseDeletes(t *testing.T, db string, refuse bool) {
	t.Helper()
	ctx := context.Background()
	target, err := dbopen.Parse(db)
	require.NoError(t, err)
	sqlDB, err := dbopen.Open(ctx, target)
	require.NoError(t, err)
	defer sqlDB.Close()
	stmt := `DROP TRIGGER openapi_refuse_delete`
	if refuse {
		stmt = `CREATE TRIGGER openapi_refuse_delete BEFORE DELETE ON apitoken_tokens BEGIN SELECT RAISE(ABORT, 'the store is down'); END`
	}
	_, err = sqlDB.ExecContext(ctx, stmt)
	require.NoError(t, err)
}
