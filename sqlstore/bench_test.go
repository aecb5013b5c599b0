package sqlstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// BenchmarkGetByHash measures verifying a key: one custom token with five
// permissions, looked up among 1000 tokens.
func BenchmarkGetByHash(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			s := newStore(b, e.open(b), e.dialect)
			ctx := context.Background()
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
				require.NoError(b, s.Create(ctx, tok, h))
				if i == 500 {
					target = h
				}
			}
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
