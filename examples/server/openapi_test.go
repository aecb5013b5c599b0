package main

import (
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
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
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
	v, errs := validator.NewValidator(doc, vconfig.WithFormatAssertions())
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
// and the response against the document.
func (o *openAPIRig) check(op string, status int, badRequest bool, method, path, body string, headers ...string) response {
	t := o.t
	t.Helper()
	res := o.s.do(t, method, path, body, headers...)
	name := fmt.Sprintf("%s %s %s %v", op, method, path, headers)
	require.Equal(t, status, res.status, "%s: %s", name, res.body)

	req := func() *http.Request {
		req, err := http.NewRequest(method, o.s.url+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Add(k, v)
		}
		return req
	}
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
// validates every request and response against it.
func TestOpenAPI(t *testing.T) {
	env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}
	s := startServer(t, filepath.Join(t.TempDir(), "openapi.db"), env)
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
