package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/storetest"
)

// postgresStore returns a migrated, empty sqlstore on PostgreSQL, in tables
// of its own that are dropped when the test ends.
func postgresStore(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	db, err := sql.Open("pgx", testenv.DSN(tb, testenv.PostgresEnv))
	require.NoError(tb, err)
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	b := make([]byte, 5)
	rand.Read(b)
	prefix := "cache" + hex.EncodeToString(b) + "_"
	tb.Cleanup(func() {
		for _, table := range []string{"permissions", "tokens", "migrations"} {
			_, err := db.Exec("DROP TABLE IF EXISTS " + prefix + table)
			assert.NoError(tb, err, "dropping %s%s", prefix, table)
		}
		db.Close()
	})
	s, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, TablePrefix: prefix})
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	return s
}

// TestPostgres runs the conformance suite against the cache in front of a
// real database.
func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apitoken.Store {
		return cache.New(postgresStore(t), cache.Options{TTL: time.Minute})
	})
}

// BenchmarkVerify is Service.Verify of one key on a cache hit over
// PostgreSQL, beside memstore without a cache, and PostgreSQL without one.
func BenchmarkVerify(b *testing.B) {
	for _, bb := range []struct {
		name  string
		store func(b *testing.B) apitoken.Store
	}{
		{"memstore", func(b *testing.B) apitoken.Store { return memstore.New() }},
		{"cache+memstore", func(b *testing.B) apitoken.Store {
			return cache.New(memstore.New(), cache.Options{TTL: cache.DefaultTTL})
		}},
		{"cache+postgres", func(b *testing.B) apitoken.Store {
			return cache.New(postgresStore(b), cache.Options{TTL: cache.DefaultTTL})
		}},
		{"postgres", func(b *testing.B) apitoken.Store { return postgresStore(b) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ctx := context.Background()
			svc, err := apitoken.New(apitoken.Config{
				Store:  bb.store(b),
				Salt:   "bench-salt-0123456789abcdef",
				Logger: slog.New(slog.DiscardHandler),
			})
			require.NoError(b, err)
			defer svc.Close(ctx)
			_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "reader"})
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				_, err = svc.Verify(ctx, key)
				require.NoError(b, err)
			}
		})
	}
}
