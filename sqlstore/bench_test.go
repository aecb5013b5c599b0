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
