package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestAttack18TakeRateClientFoundRows: the README says clientFoundRows
// "changes nothing" on MySQL. TakeRate tells an insert from an update by
// RowsAffected() == 1; with clientFoundRows an ON DUPLICATE KEY UPDATE that
// leaves the row as it was (a take of a full window, after a take that
// already found it full) also reports 1, and is taken for the window's
// first take: it grants n more requests past the limit.
func TestAttack18TakeRateClientFoundRows(t *testing.T) {
	for _, flag := range []string{"", "clientFoundRows=true"} {
		t.Run("params="+flag, func(t *testing.T) {
			dsn := testenv.DSN(t, testenv.MySQLEnv)
			switch {
			case flag == "":
			case strings.Contains(dsn, "?"):
				dsn += "&" + flag
			default:
				dsn += "?" + flag
			}
			db, err := sql.Open("mysql", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s := newStore(t, db, sqlstore.MySQL)
			ctx := context.Background()
			id := uuid.NewString()
			start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
			total := 0
			for range 5 {
				g, _, err := s.TakeRate(ctx, id, start, time.Minute, 3, 2)
				require.NoError(t, err)
				total += g
			}
			assert.LessOrEqual(t, total, 3, "takes of one window granted %d of a limit of 3", total)
		})
	}
}
