package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// BenchmarkGetByHash measures verifying a key: one custom token with five
// permissions, looked up among 1000 tokens.
func BenchmarkGetByHash(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			s := newStore(b, e.open(b), e.dialect)
			ctx := context.Background()
			target := benchTokens(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				// A branch rather than require.Len, which would allocate
				// in the measured loop.
				tok, err := s.GetByHash(ctx, target)
				if err != nil || len(tok.Permissions) != 5 {
					require.FailNow(b, "GetByHash", "%v, %v", tok, err)
				}
			}
		})
	}
}

// benchTokens creates 1000 custom tokens with five permissions each, and
// returns the key hash of one of them.
func benchTokens(b *testing.B, s *sqlstore.Store) apitoken.Hash {
	b.Helper()
	now := time.Now()
	var target apitoken.Hash
	for i := range 1000 {
		tok := &apitoken.Token{ID: uuid.NewString(), Name: fmt.Sprintf("token %04d", i), Type: apitoken.Custom,
			CreatedAt: now, UpdatedAt: now}
		for j := range 5 {
			tok.Permissions = append(tok.Permissions, fmt.Sprintf("api::a%d.a%d.find", i, j))
		}
		var h apitoken.Hash
		rand.Read(h[:])
		require.NoError(b, s.Create(context.Background(), tok, h))
		if i == 500 {
			target = h
		}
	}
	return target
}

// BenchmarkTouchMany writes the last use of 100 tokens in one batch.
func BenchmarkTouchMany(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			s := newStore(b, e.open(b), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			uses := make([]apitoken.Use, 100)
			for i := range uses {
				tok := &apitoken.Token{ID: uuid.NewString(), Name: fmt.Sprint("b", i), Type: apitoken.ReadOnly, CreatedAt: at, UpdatedAt: at}
				require.NoError(b, s.Create(ctx, tok, apitoken.Hash{byte(i), 7}))
				uses[i].ID = tok.ID
			}
			for b.Loop() {
				at = at.Add(time.Hour)
				for i := range uses {
					uses[i].At, uses[i].NotAfter = at, at.Add(-time.Minute)
				}
				if err := s.TouchMany(ctx, uses); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetByHashReplica is BenchmarkGetByHash through Options.Replica:
// a second pool on the same database stands in for the replica, which has
// caught up, with a watch running. The routing costs no query: every
// lookup is the replica's (primary-reads/op stays 0).
func BenchmarkGetByHashReplica(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			dsn := e.dsn(b) // on SQLite, both pools on one file
			pool := func() *sql.DB {
				db, err := sql.Open(e.driver, dsn)
				require.NoError(b, err)
				b.Cleanup(func() { db.Close() })
				configure(db, e.dialect)
				return db
			}
			primary, replica := pool(), pool()
			writer, prefix := newStorePrefix(b, primary, e.dialect)
			s, err := sqlstore.New(primary, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix, Replica: replica})
			require.NoError(b, err)
			watchCtx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.WatchChanges(watchCtx, func(apitoken.Change) {}) }()
			b.Cleanup(func() { cancel(); <-done })
			// As BenchmarkGetByHash's: a context that cannot end costs
			// the drivers no allocation.
			ctx := context.Background()
			require.Eventually(b, func() bool { return s.Sync(ctx) == nil }, 10*time.Second, time.Millisecond)
			target := benchTokens(b, writer)
			require.NoError(b, s.Sync(ctx))
			require.True(b, s.ReplicaStats().InUse)
			before := s.ReplicaStats()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tok, err := s.GetByHash(ctx, target)
				if err != nil || len(tok.Permissions) != 5 {
					require.FailNow(b, "GetByHash", "%v, %v", tok, err)
				}
			}
			b.StopTimer()
			after := s.ReplicaStats()
			b.ReportMetric(float64(after.Primary-before.Primary)/float64(b.N), "primary-reads/op")
			require.Equal(b, uint64(b.N), after.Replica-before.Replica, "lookups the replica answered")
		})
	}
}
