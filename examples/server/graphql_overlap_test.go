package main

import (
	"context"
	"strings"
	"testing"

	"github.com/graph-gophers/graphql-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOverlapPairs(t *testing.T) {
	t.Parallel()
	m := testCostModel(t, maxPageSize)
	for _, tt := range []struct {
		name, query string
		pairs       int64
	}{
		{"distinct fields", `{ articles { title body } article(documentId: "x") { title } }`, 0},
		{"same key twice", `{ articles { title } articles { body } }`, 1 + 1},
		{"subselections compared in pairs", `{ articles { title body } articles { title body createdAt } }`, 1 + 2*3},
		{"three of one key", `{ a: __typename a: __typename a: __typename }`, 3},
		{"spreads", `fragment F on Query { __typename } { ...F ...F ...F x: __typename }`, 3 + 3},
		{"inline fragments", `{ ... { __typename } ... on Query { __typename } }`, 1},
		{"in a fragment", `fragment F on Article { title title } { articles { ...F } }`, 1},
		{"the review's query", "{" + strings.Repeat("...F", 1000) + "} fragment F on Query { __typename }", 1000 * 999 / 2},
	} {
		c, err := m.cost(tt.query)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.pairs, c.pairs, tt.name)
	}
}

// TestOverlapLibraryLimit: what the count lets through, the library's own
// limit bounds: 400 spreads (79,800 pairs) go to the library directly.
func TestOverlapLibraryLimit(t *testing.T) {
	t.Parallel()
	schema, err := graphql.ParseSchema(articleSchema, &resolver{}, graphql.OverlapValidationLimit(libraryOverlapPairs))
	require.NoError(t, err)
	q := "{" + strings.Repeat("...F", 400) + "} fragment F on Query { __typename }"
	resp := schema.Exec(context.Background(), q, "", nil)
	require.NotEmpty(t, resp.Errors)
	assert.Contains(t, resp.Errors[0].Message, "Overlapping field validation aborted")

	q = "{" + strings.Repeat("...F", 100) + "} fragment F on Query { __typename }" // 4,950 pairs
	c, err := testCostModel(t, maxPageSize).cost(q)
	require.NoError(t, err)
	assert.LessOrEqual(t, c.pairs, int64(maxOverlapPairs))
	assert.Empty(t, schema.Exec(context.Background(), q, "", nil).Errors, "a query within the count passes the library")
}
