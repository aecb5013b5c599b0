package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestGraphQLCapCountsEveryString: the response cap holds for strings no
// resolver of the store returns: an ID that deleteArticle echoes is charged
// to the budget, and introspection's descriptions are counted in the
// encoded answer. Under the cap, both are answered whole.
func TestGraphQLCapCountsEveryString(t *testing.T) {
	t.Parallel()
	s := newGQLServer(t)
	echo := func(n int, id string) (int, gqlResponse) {
		var q strings.Builder
		q.WriteString("mutation($i: ID!) {")
		for i := range n {
			fmt.Fprintf(&q, " d%d:deleteArticle(documentId:$i){documentId}", i)
		}
		q.WriteString(" }")
		body, _ := json.Marshal(map[string]any{"query": q.String(), "variables": map[string]any{"i": id}})
		r := apitokentest.NewRequest("POST", "/graphql", s.keys.FullAccess, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		var v gqlResponse
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "%.200s", w.Body)
		return w.Body.Len(), v
	}
	id := strings.Repeat("<", 64<<10) // 384 KiB as JSON writes it
	size, v := echo(6, id)
	assert.Equal(t, "RESPONSE_TOO_LARGE", v.code(), "6 echoes of 384 KiB: %d bytes", size)
	size, v = echo(5, id)
	require.Empty(t, v.Errors, "5 echoes fit")
	assert.Greater(t, size, 5*6*(64<<10))
	assert.Contains(t, string(v.Data["d4"]), strings.Repeat(`\u003c`, 64<<10))

	intro := func(types, descriptions int) (int, gqlResponse) {
		var q strings.Builder
		q.WriteString("{")
		for i := range types {
			fmt.Fprintf(&q, `t%d:__type(name:"__Type"){...F} `, i)
		}
		q.WriteString("} fragment F on __Type {")
		for i := range descriptions {
			fmt.Fprintf(&q, " d%d:description", i)
		}
		q.WriteString(" }")
		_, size, v := s.query(t, q.String())
		return size, v
	}
	size, v = intro(99, 99)
	assert.Equal(t, "RESPONSE_TOO_LARGE", v.code(), "%d bytes", size)
	size, v = intro(30, 99) // 1.6 MB
	assert.Empty(t, v.Errors)
	assert.Greater(t, size, 1<<20)
	assert.LessOrEqual(t, size, maxResponseBytes)
}
