package sqlstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/storetest"
)

// TestCache runs the conformance suite against the cache in front of each
// engine.
func TestCache(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			inner := newStore(t, db, e.dialect)
			storetest.Forwards(t, inner, cache.New(inner, cache.Options{FeedTTL: -1}))
			storetest.Run(t, func(t *testing.T) apitoken.Store {
				// The cache watches the store's change feed until it
				// is closed, before the tables are dropped.
				c := cache.New(newStore(t, db, e.dialect), cache.Options{TTL: time.Minute})
				t.Cleanup(func() { require.NoError(t, c.Close()) })
				return c
			})
		})
	}
}

func postgresStore(b *testing.B) *sqlstore.Store {
	return newStore(b, engines[1].open(b), sqlstore.Postgres)
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
				if _, err := svc.Verify(ctx, key); err != nil {
					b.Fatal(err) // not require: its Helper call would count in the figures
				}
			}
		})
	}
}
