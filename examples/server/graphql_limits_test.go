package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/graph-gophers/graphql-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// testCostModel is the server's cost model with lists of n articles.
func testCostModel(t *testing.T, n int64) *costModel {
	t.Helper()
	schema, err := graphql.ParseSchema(articleSchema, nil)
	require.NoError(t, err)
	m := newCostModel(schema)
	intro := m.listLen
	m.listLen = func(typeName, field string) int64 {
		if typeName == "Query" && field == "articles" {
			return n
		}
		return intro(typeName, field)
	}
	return m
}

func TestQueryCost(t *testing.T) {
	t.Parallel()
	m := testCostModel(t, maxPageSize)
	chain := "fragment F0 on Article { title t: title }"
	for i := 1; i < 60; i++ {
		chain += fmt.Sprintf(" fragment F%d on Article { ...F%d ...F%d }", i, i-1, i-1)
	}
	tests := []struct {
		name, query string
		values      int64
	}{
		{"list", `{ articles { title } }`, 1 + 100},
		{"two aliases", `{ a: articles { title } b: articles { title body } }`, 101 + 201},
		{"fragment", `fragment F on Article { title body } { articles { ...F } }`, 1 + 200},
		{"fragment spread twice", `fragment F on Article { title } { articles { ...F ...F } }`, 1 + 200},
		{"inline fragment", `{ articles { ... on Article { title } ... { body } } }`, 1 + 200},
		{"one document", `{ article(documentId: "x") { title body } }`, 3},
		{"typename", `{ __typename articles { __typename } }`, 2 + 100},
		{"mutation", `mutation M($t: String = "x") @x { createArticle(data: {title: $t, body: "(}"}) { documentId } }`, 2},
		{"largest operation", `query A { articles { title } } query B { article(documentId: "x") { title } }`, 101},
		{"the issue's fragment attack", fragmentQuery(650, 100), 650 * (1 + 100*100)},
		{"the issue's alias attack", aliasQuery(200, "body"), 200 * 101},
		{"escaped quote in a string", `{ article(documentId: "a\")}") { title } }`, 2},
		{"block string", `{ article(documentId: """x") { "y""") { title } }`, 2},
		{"block strings end at the first three quotes", `{ article(documentId: """x\""") { title } b: articles { title } }`, 2 + 101},
		{"comment", "{ articles { title # } body\n body } }", 1 + 200},
		{"comment ends at CR", "{ articles { title # x\r body } }", 1 + 200},
		{"commas", `{ articles { title, body, } }`, 1 + 200},
		{"spread with spaces", `fragment F on Article { title } { articles { . . . F } }`, 1 + 100},
		{"fragment cycle counts nothing", `fragment A on Article { ...B } fragment B on Article { ...A title } { articles { ...A } }`, 1 + 100},
		{"unknown fields count once", `{ nope { a b } articles { nope } }`, 1 + 1 + 100},
		{"exponential fragments saturate", chain + ` { articles { ...F59 } }`, costLimit},
		{"description", `"d" query { articles { title } }`, 101},
		{"no operation", ``, 0},
	}
	for _, tt := range tests {
		c, err := m.cost(tt.query)
		if assert.NoError(t, err, tt.name) {
			assert.Equal(t, tt.values, c.values, tt.name)
		}
	}

	for _, q := range []string{
		`{`, `{ }`, `{ articles { } }`, `{ a: }`, `{ article(documentId: "x) { title } }`,
		`{ article(documentId: """x) { title } }`, `{ article(documentId: ["x") { title } }`,
		`{ tïtle }`, `{ articles { title } } }`, `query ( { a }`, `fragment F { a }`, `{ a(b: .5) }`,
		"{ article(documentId: \"x\ny\") { title } }", strings.Repeat("{ a ", 100) + strings.Repeat("}", 100),
	} {
		_, err := m.cost(q)
		assert.ErrorIs(t, err, errSyntax, "%.60q", q)
	}

	c, err := m.cost(`{ __schema { types { name fields { name type { name } } } } }`)
	require.NoError(t, err)
	assert.Less(t, c.values, int64(maxQueryCost), "introspection of the types and fields")
	n := introspectionListLen(m.schema)
	assert.GreaterOrEqual(t, n, int64(18), "the schema has 18 types")
	assert.Less(t, n, int64(40))

	long := strings.Repeat("k", 8000)
	c, err = m.cost(`{ articles { ` + long + `: title } }`)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, c.bytes, int64(100*8000), "keys count at every element")
}

// gqlServer is the GraphQL handler on a collection, authenticated by a
// memstore Service.
type gqlServer struct {
	h        http.Handler
	articles *collection
	keys     apitokentest.Keys
}

func newGQLServer(t *testing.T) *gqlServer {
	t.Helper()
	svc := apitokentest.New(t, apitoken.Config{})
	s := &gqlServer{articles: articles()}
	seed(s.articles, newCollection(field{"name", true, 255}))
	h, err := graphqlHandler(svc, "api::article.article", s.articles)
	require.NoError(t, err)
	s.h = svc.Authenticated(h)
	s.keys = apitokentest.Mint(t, svc)
	return s
}

// query posts query with the read-only key and returns the status, the
// size of the body and the body decoded.
func (s *gqlServer) query(t *testing.T, query string) (int, int, gqlResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	r := apitokentest.NewRequest("POST", "/graphql", s.keys.ReadOnly, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	var v gqlResponse
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "%.200s", w.Body)
	return w.Code, w.Body.Len(), v
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (v gqlResponse) code() string {
	if len(v.Errors) == 0 {
		return ""
	}
	c, _ := v.Errors[0].Extensions["code"].(string)
	return c
}

func TestGraphQLCostLimit(t *testing.T) {
	t.Parallel()
	s := newGQLServer(t)
	for name, q := range map[string]string{
		"650 aliases spreading a 100-field fragment": fragmentQuery(650, 100),
		"200 aliases of the list":                    aliasQuery(200, "body"),
		"long keys repeated in every element":        `fragment F on Article { ` + strings.Repeat("k", 8000) + `: title } { a: articles { ...F } b: articles { ...F } c: articles { ...F } d: articles { ...F } e: articles { ...F } f: articles { ...F } }`,
	} {
		status, size, v := s.query(t, q)
		assert.Equal(t, http.StatusOK, status, name)
		assert.Equal(t, "GRAPHQL_VALIDATION_FAILED", v.code(), "%s: %+v", name, v)
		assert.Nil(t, v.Data, name)
		assert.Less(t, size, 1000, name)
		if assert.NotEmpty(t, v.Errors, name) {
			assert.Contains(t, v.Errors[0].Message, "limit", name)
		}
	}
	status, _, v := s.query(t, `{ articles { title`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "GRAPHQL_PARSE_FAILED", v.code(), "%+v", v)

	// Ordinary queries are answered.
	for _, q := range []string{
		`{ articles { documentId title body createdAt updatedAt publishedAt } }`,
		`{ a: articles { title } b: articles { body } __typename }`,
		`fragment F on Article { title body } { articles { ...F } }`,
		`{ __schema { types { name } } }`,
	} {
		status, _, v := s.query(t, q)
		assert.Equal(t, http.StatusOK, status, q)
		assert.Empty(t, v.Errors, q)
		assert.NotEmpty(t, v.Data, q)
	}
}

func TestGraphQLResponseCap(t *testing.T) {
	t.Parallel()
	s := newGQLServer(t)
	body := strings.Repeat("x", 64<<10)
	for i := range 18 {
		_, err := s.articles.create(map[string]string{"title": fmt.Sprint("big ", i), "body": body})
		require.NoError(t, err)
	}
	// 20 aliases of 18 bodies of 64 KB: 23.6 MB, within the cost limit.
	status, size, v := s.query(t, aliasQuery(20, "body"))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "RESPONSE_TOO_LARGE", v.code(), "%+v", v.Errors)
	assert.Nil(t, v.Data)
	assert.Less(t, size, 1000)

	// Under the cap, the answer comes whole.
	status, size, v = s.query(t, `{ articles { documentId title body createdAt } }`)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, v.Errors)
	assert.Len(t, v.Data, 1)
	assert.Greater(t, size, 18*(64<<10))
	assert.LessOrEqual(t, size, maxResponseBytes)

	// Markup counts as JSON writes it, six bytes a character: 6 bodies of
	// 64 KB of "<" are 2.4 MB.
	s = newGQLServer(t)
	for range 6 {
		s.articles.create(map[string]string{"title": "markup", "body": strings.Repeat("<", 64<<10)})
	}
	_, _, v = s.query(t, aliasQuery(1, "body"))
	assert.Equal(t, "RESPONSE_TOO_LARGE", v.code(), "%+v", v.Errors)
}

// FuzzQueryCost checks the cost against what the library answers: for every
// query it runs without error, the cost parses it and counts at least the
// values of the answer, and its byte bound covers the answer without its
// strings.
func FuzzQueryCost(f *testing.F) {
	for _, q := range []string{
		`{ articles { title } }`, `fragment F on Article { title body } { a: articles { ...F } b: articles { ...F ...F } }`,
		`{ articles { ... on Article { title } ... { body } } }`, `{ article(documentId: "x") { title } __typename }`,
		`{ article(documentId: """x\""") { title } b: articles { title } }`, "{ articles { title # } body\n body } }",
		`{ __schema { types { name } } }`, `query Q($id: ID! = "(") { article(documentId: $id) { title } }`,
		`{ a: __typename b: articles { c: __typename d: documentId } }`,
	} {
		f.Add(q)
	}
	res := &resolver{uid: "api::article.article", articles: articles()}
	seed(res.articles, newCollection())
	schema, err := graphql.ParseSchema(articleSchema, res, graphql.MaxDepth(maxQueryDepth), graphql.MaxQueryLength(maxQueryLength))
	require.NoError(f, err)
	m := newCostModel(schema)
	intro := m.listLen
	m.listLen = func(typeName, field string) int64 {
		if typeName == "Query" && field == "articles" {
			return 2 // seeded
		}
		return intro(typeName, field)
	}
	ctx := apitoken.NewContext(f.Context(), &apitoken.Token{Type: apitoken.FullAccess})
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > maxQueryLength || strings.Contains(q, "mutation") {
			return
		}
		c, err := m.cost(q)
		if err == nil && (c.values > maxQueryCost || c.bytes > maxResponseBytes) {
			return // refused before the library sees it
		}
		resp := schema.Exec(ctx, q, "", nil)
		if len(resp.Errors) > 0 || resp.Data == nil {
			return
		}
		require.NoError(t, err, "the library runs %q", q)
		var data any
		require.NoError(t, json.Unmarshal(resp.Data, &data))
		values, strs := countValues(data)
		assert.GreaterOrEqual(t, c.values, values, "%q answered %s", q, resp.Data)
		assert.GreaterOrEqual(t, c.bytes, int64(len(resp.Data))-strs, "%q answered %s", q, resp.Data)
	})
}

// countValues returns how many object members v holds, at any depth, and
// the encoded size of its string values.
func countValues(v any) (n, strs int64) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			a, b := countValues(e)
			n, strs = n+1+a, strs+b
		}
	case []any:
		for _, e := range v {
			a, b := countValues(e)
			n, strs = n+a, strs+b
		}
	case string:
		b, _ := json.Marshal(v)
		strs = int64(len(b))
	}
	return n, strs
}
