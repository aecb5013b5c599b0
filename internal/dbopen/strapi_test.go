package dbopen

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/strapitest"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestStrapiDatabase: OpenStore adds no tables to Strapi's database, and
// OpenReadOnly writes nothing to it.
func TestStrapiDatabase(t *testing.T) {
	t.Parallel()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres, sqlstore.MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sdb := strapitest.NewDB(t, d)
			sdb.CreateTables(t, true)
			before := sdb.Tables(t)
			target, err := Parse(sdb.Value)
			require.NoError(t, err)
			_, _, err = OpenStore(ctx, target)
			require.ErrorIs(t, err, ErrStrapiDB)
			assert.Equal(t, before, sdb.Tables(t), "OpenStore made its tables")

			db, err := OpenReadOnly(ctx, target)
			require.NoError(t, err)
			defer db.Close()
			assert.True(t, hasTable(ctx, db, "strapi_api_tokens"))
			if d != sqlstore.MySQL {
				_, err = db.ExecContext(ctx, "DELETE FROM strapi_api_tokens")
				assert.Error(t, err, "a read-only connection wrote")
			}
		})
	}
}
