package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestMigrate runs Migrate for one prefix from several instances at once,
// each with its own *sql.DB as separate servers would have, then again in
// a row, and checks that each version was applied and recorded once.
func TestMigrate(t *testing.T) {
	const instances = 4
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.dsn(t) // one SQLite file for all instances
			prefix := freshPrefix(t)
			stores := make([]*sqlstore.Store, instances)
			for i := range stores {
				db, err := sql.Open(e.driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if i == 0 {
					dropTables(t, db, e.dialect, prefix)
				}
				stores[i], err = sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make([]error, instances)
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
			}
			for range 2 {
				if err := stores[0].Migrate(ctx); err != nil {
					t.Fatalf("Migrate again: %v", err)
				}
			}

			db, err := sql.Open(e.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n, dups int
			q := "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT version) FROM " + prefix + "migrations"
			if err := db.QueryRow(q).Scan(&n, &dups); err != nil {
				t.Fatal(err)
			}
			if n == 0 || dups != 0 {
				t.Errorf("%d versions recorded, %d twice", n, dups)
			}
			// The schema works from every instance.
			tok := &apitoken.Token{ID: "0f0e0d0c-0000-4000-8000-000000000001", Name: "after migrate", Type: apitoken.ReadOnly}
			if err := stores[1].Create(ctx, tok, apitoken.Hash{3}); err != nil {
				t.Fatal(err)
			}
			if _, err := stores[3].GetByHash(ctx, apitoken.Hash{3}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMigrateCancelled checks that a cancelled Migrate reports it and leaves
// no lock behind: the next Migrate goes through.
func TestMigrateCancelled(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			prefix := freshPrefix(t)
			dropTables(t, db, e.dialect, prefix)
			s, err := sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := s.Migrate(ctx); err == nil {
				t.Error("Migrate with a cancelled context succeeded")
			}
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
