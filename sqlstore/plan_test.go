package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-apitoken/apitoken"
)

// TestGetByHashPlan asks each engine how it would run GetByHash's query and
// fails on a scan of the tokens table: the query sits on every request.
// PostgreSQL is told to avoid sequential scans, so that on a test-sized
// table it shows whether the index can be used at all.
func TestGetByHashPlan(t *testing.T) {
	explain := map[string]string{"sqlite": "EXPLAIN QUERY PLAN ", "postgres": "EXPLAIN ", "mysql": "EXPLAIN "}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			s, prefix := newStorePrefix(t, db, e.dialect)
			ctx := context.Background()
			tok := &apitoken.Token{ID: "00000000-0000-4000-8000-000000000001", Name: "planned", Type: apitoken.Custom,
				Permissions: []string{"api::a.a.find"}}
			if err := s.Create(ctx, tok, apitoken.Hash{1}); err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if e.name == "postgres" {
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				defer conn.ExecContext(ctx, "RESET enable_seqscan")
			}
			h := apitoken.Hash{1}.Hex()
			rows, err := conn.QueryContext(ctx, explain[e.name]+s.GetByHashQuery(), h, h)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
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
				if strings.Contains(all, bad) {
					t.Errorf("GetByHash scans: %q in the plan", bad)
				}
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
