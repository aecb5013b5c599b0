package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestMigrate runs Migrate for one prefix from several instances at once,
// each with its own *sql.DB as separate servers would have, then again in
// a row, and checks that each version was applied and recorded once.
func TestMigrate(t *testing.T) {
	t.Parallel()
	const instances = 4
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			dsn := e.dsn(t) // one SQLite file for all instances
			prefix := freshPrefix(t)
			stores := make([]*sqlstore.Store, instances)
			for i := range stores {
				db, err := sql.Open(e.driver, dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				if i == 0 {
					dropTables(t, db, e.dialect, prefix)
				}
				stores[i], err = sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
				require.NoError(t, err)
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make([]error, instances)
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				assert.NoError(t, err, "instance %d", i)
			}
			for range 2 {
				require.NoError(t, stores[0].Migrate(ctx), "Migrate again")
			}

			db, err := sql.Open(e.driver, dsn)
			require.NoError(t, err)
			defer db.Close()
			var n, dups int
			q := "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT version) FROM " + prefix + "migrations"
			require.NoError(t, db.QueryRow(q).Scan(&n, &dups))
			assert.Positive(t, n, "versions recorded")
			assert.Zero(t, dups, "versions recorded twice")
			// The schema works from every instance.
			tok := &apitoken.Token{ID: "0f0e0d0c-0000-4000-8000-000000000001", Name: "after migrate", Type: apitoken.ReadOnly}
			require.NoError(t, stores[1].Create(ctx, tok, apitoken.Hash{3}))
			_, err = stores[3].GetByHash(ctx, apitoken.Hash{3})
			require.NoError(t, err)
		})
	}
}

// TestMigrateCancelled checks that a cancelled Migrate reports it and leaves
// no lock behind: the next Migrate goes through.
func TestMigrateCancelled(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			db := e.open(t)
			prefix := freshPrefix(t)
			dropTables(t, db, e.dialect, prefix)
			s, err := sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			assert.Error(t, s.Migrate(ctx), "Migrate with a cancelled context succeeded")
			require.NoError(t, s.Migrate(context.Background()))
		})
	}
}
