package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestGetByHashPlan asks each engine how it would run GetByHash's query and
// fails on a scan of the tokens table: the query sits on every request.
// PostgreSQL is told to avoid sequential scans, so that on a test-sized
// table it shows whether the index can be used at all.
func TestGetByHashPlan(t *testing.T) {
	t.Parallel()
	explain := map[string]string{"sqlite": "EXPLAIN QUERY PLAN ", "postgres": "EXPLAIN ", "mysql": "EXPLAIN "}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			db := e.open(t)
			s, prefix := newStorePrefix(t, db, e.dialect)
			ctx := context.Background()
			tok := &apitoken.Token{ID: "00000000-0000-4000-8000-000000000001", Name: "planned", Type: apitoken.Custom,
				Permissions: []string{"api::a.a.find"}}
			require.NoError(t, s.Create(ctx, tok, apitoken.Hash{1}))
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			if e.name == "postgres" {
				_, err := conn.ExecContext(ctx, "SET enable_seqscan = off")
				require.NoError(t, err)
				defer conn.ExecContext(ctx, "RESET enable_seqscan")
			}
			h := apitoken.Hash{1}.Hex()
			rows, err := conn.QueryContext(ctx, explain[e.name]+s.GetByHashQuery(), h, h)
			require.NoError(t, err)
			defer rows.Close()
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				require.NoError(t, rows.Scan(ptrs...))
				var line []string
				for i, v := range vals {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					line = append(line, cols[i]+"="+strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " ")))
				}
				plan = append(plan, strings.Join(line, " "))
			}
			all := strings.Join(plan, "\n")
			t.Logf("plan:\n%s", all)
			scan := map[string][]string{
				"sqlite":   {"SCAN t"},
				"postgres": {"Seq Scan on " + prefix + "tokens"},
				"mysql":    {"type=ALL"},
			}[e.name]
			for _, bad := range scan {
				assert.NotContains(t, all, bad, "GetByHash scans the tokens table")
			}
		})
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "NULL"
	}
	return strings.TrimSpace(strings.Trim(fmt.Sprint(v), "[]"))
}
