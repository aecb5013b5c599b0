package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveContent runs one request against the REST handlers of a fresh
// articles collection, without tokens: authorization is the end-to-end
// test's business.
func serveContent(t *testing.T, c *collection, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	find, findOne, create, update, remove := restHandlers(c)
	mux := http.NewServeMux()
	mux.Handle("GET /api/articles", find)
	mux.Handle("GET /api/articles/{id}", findOne)
	mux.Handle("POST /api/articles", create)
	mux.Handle("PUT /api/articles/{id}", update)
	mux.Handle("DELETE /api/articles/{id}", remove)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	mux.ServeHTTP(w, r)
	return w
}

func articles() *collection {
	return newCollection(field{"title", true, 255}, field{"body", false, 64 << 10})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	c := articles()
	for range 30 {
		c.create(map[string]string{"title": "t", "body": ""})
	}
	tests := []struct {
		query                  string
		status, n, page, count int
	}{
		{"", 200, 25, 1, 2},
		{"?pagination[page]=2", 200, 5, 2, 2},
		{"?pagination[page]=3", 200, 0, 3, 2},
		{"?pagination[pageSize]=10&pagination[page]=3", 200, 10, 3, 3},
		{"?pagination[pageSize]=0", 400, 0, 0, 0},
		{"?pagination[pageSize]=101", 400, 0, 0, 0},
		{"?pagination[page]=-1", 400, 0, 0, 0},
		{"?pagination[page]=99999999999999999999", 400, 0, 0, 0},
	}
	for _, tt := range tests {
		w := serveContent(t, c, "GET", "/api/articles"+strings.ReplaceAll(strings.ReplaceAll(tt.query, "[", "%5B"), "]", "%5D"), "")
		if !assert.Equal(t, tt.status, w.Code, "%s: %s", tt.query, w.Body) || tt.status != 200 {
			continue
		}
		var v struct {
			Data []map[string]any
			Meta struct {
				Pagination struct{ Page, PageSize, PageCount, Total int }
			}
		}
		json.Unmarshal(w.Body.Bytes(), &v)
		assert.Len(t, v.Data, tt.n, "%s: documents", tt.query)
		assert.Equal(t, tt.page, v.Meta.Pagination.Page, "%s: meta %+v", tt.query, v.Meta.Pagination)
		assert.Equal(t, tt.count, v.Meta.Pagination.PageCount, "%s: meta %+v", tt.query, v.Meta.Pagination)
		assert.Equal(t, 30, v.Meta.Pagination.Total, "%s: meta %+v", tt.query, v.Meta.Pagination)
	}
}

func TestContentValidation(t *testing.T) {
	t.Parallel()
	c := articles()
	d, _ := c.create(map[string]string{"title": "t", "body": "b"})
	tests := []struct {
		method, path, body string
		status             int
		message            string
	}{
		{"POST", "/api/articles", ``, 400, `Missing \"data\" payload`},
		{"POST", "/api/articles", `{}`, 400, `Missing \"data\" payload`},
		{"POST", "/api/articles", `{"data":null}`, 400, `Missing \"data\" payload`},
		{"POST", "/api/articles", `{"data":"x"}`, 400, `Missing \"data\" payload`},
		{"POST", "/api/articles", `{"data":[1]}`, 400, `Missing \"data\" payload`},
		{"POST", "/api/articles", `{"data":{}}`, 400, "title must be defined."},
		{"POST", "/api/articles", `{"data":{"title":""}}`, 400, "title must be defined."},
		{"POST", "/api/articles", `{"data":{"title":7}}`, 400, "title must be a `string` type"},
		{"POST", "/api/articles", `{"data":{"title":"x","id":5}}`, 400, "Invalid key id"},
		{"POST", "/api/articles", `{"data":{"title":"` + strings.Repeat("é", 256) + `"}}`, 400, "at most 255 characters"},
		{"POST", "/api/articles", `{"data":{"title":"x"}} trailing`, 400, "Invalid JSON"},
		{"POST", "/api/articles", `[`, 400, "Invalid JSON"},
		{"POST", "/api/articles", `{"data":{"title":"<script>alert(1)</script>"}}`, 201, ""},
		{"PUT", "/api/articles/" + d.DocumentID, `{"data":{"body":null}}`, 200, ""},
		{"PUT", "/api/articles/" + d.DocumentID, `{"data":{"title":null}}`, 400, "title must be defined."},
		{"PUT", "/api/articles/" + d.DocumentID, `{"title":"x"}`, 400, `Missing \"data\" payload`},
	}
	for _, tt := range tests {
		w := serveContent(t, c, tt.method, tt.path, tt.body)
		assert.Equal(t, tt.status, w.Code, "%s %s %.40s: %s", tt.method, tt.path, tt.body, w.Body)
		assert.Contains(t, w.Body.String(), tt.message, "%s %s %.40s", tt.method, tt.path, tt.body)
		assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"), "%s %s %.40s", tt.method, tt.path, tt.body)
	}
	// A body that is not JSON by its Content-Type has no "data", as in
	// Strapi, whatever it holds; creates nothing.
	_, _, create, _, _ := restHandlers(c)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		r := httptest.NewRequest("POST", "/api/articles", strings.NewReader(`{"data":{"title":"by `+ct+`"}}`))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		create.ServeHTTP(w, r)
		assert.Equal(t, http.StatusBadRequest, w.Code, "%q", ct)
		assert.Contains(t, w.Body.String(), `Missing \"data\" payload`, "%q", ct)
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.api+json"} {
		r := httptest.NewRequest("POST", "/api/articles", strings.NewReader(`{"data":{"title":"by json"}}`))
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		create.ServeHTTP(w, r)
		assert.Equal(t, http.StatusCreated, w.Code, "%q", ct)
	}
	// JSON escaping keeps markup inert.
	w := serveContent(t, c, "GET", "/api/articles", "")
	assert.NotContains(t, w.Body.String(), "<script>", "markup is not escaped")
}

func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	assert.Error(t, run(context.Background(), []string{"-nope"}, env, &out, &errb), "unknown flag accepted")
	assert.ErrorContains(t, run(context.Background(), []string{"-db", "redis://x/0"}, env, &out, &errb), "unknown database scheme", "redis URL")
	assert.Error(t, run(context.Background(), []string{"extra"}, env, &out, &errb), "stray argument accepted")
}

// TestContentBytesBounded: a collection holds at most maxContentBytes of
// values, counted in bytes (a body of 65,536 four-byte characters is 256
// KiB); a refused create or update changes nothing, and a delete frees
// its bytes.
func TestContentBytesBounded(t *testing.T) {
	t.Parallel()
	c := articles()
	wide := strings.Repeat("\U0001D11E", 64<<10)
	body := `{"data":{"title":"wide","body":"` + wide + `"}}`
	var ids []string
	for {
		w := serveContent(t, c, "POST", "/api/articles", body)
		if w.Code != http.StatusCreated {
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Contains(t, w.Body.String(), "MiB of content per collection")
			break
		}
		var v struct{ Data struct{ DocumentID string } }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
		ids = append(ids, v.Data.DocumentID)
	}
	assert.Len(t, ids, maxContentBytes/(len(wide)+4), "bodies of 256 KiB that fit")
	c.mu.RLock()
	held := c.bytes
	c.mu.RUnlock()
	assert.LessOrEqual(t, held, maxContentBytes)

	// Growing a document past the cap is refused, and changes nothing.
	small, err := c.create(map[string]string{"title": "s", "body": ""})
	if err == nil {
		w := serveContent(t, c, "PUT", "/api/articles/"+small.DocumentID, body)
		assert.Equal(t, http.StatusBadRequest, w.Code, "%.200s", w.Body)
		d, _ := c.get(small.DocumentID)
		assert.Empty(t, d.Attrs["body"], "a refused update changed the document")
	}
	// Shrinking one is always allowed, and a delete frees its bytes.
	w := serveContent(t, c, "PUT", "/api/articles/"+ids[0], `{"data":{"body":"short"}}`)
	assert.Equal(t, http.StatusOK, w.Code)
	w = serveContent(t, c, "DELETE", "/api/articles/"+ids[1], "")
	assert.Equal(t, http.StatusNoContent, w.Code)
	w = serveContent(t, c, "POST", "/api/articles", body)
	assert.Equal(t, http.StatusCreated, w.Code, "after freeing 512 KiB: %.200s", w.Body)
}
