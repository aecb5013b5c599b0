package bench

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// BenchmarkVerifyTokens verifies one key among n tokens in memstore: the
// cost must not grow with n. At each n it reports memstore's heap bytes per
// token, with tokens shaped as the Service creates them.
func BenchmarkVerifyTokens(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			store := memstore.New()
			perToken := fill(b, store, n-1)
			svc, key := newService(b, store, 0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Verify(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perToken, "bytes/token")
			runtime.KeepAlive(store)
		})
	}
}

// fill adds n tokens with random key hashes to store, and returns the heap
// bytes that each took.
func fill(tb testing.TB, store *memstore.Store, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	rng := rand.NewChaCha8([32]byte{1})
	now := time.Now().UTC().Truncate(time.Millisecond)
	exp := now.Add(time.Duration(apitoken.Days30))
	saltID := "0123456789ab"

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		var h apitoken.Hash
		rng.Read(h[:])
		t := &apitoken.Token{
			ID:        uuid.NewString(),
			Name:      "token " + strconv.Itoa(i),
			Type:      apitoken.ReadOnly,
			Lifespan:  apitoken.Days30,
			ExpiresAt: &exp,
			CreatedAt: now,
			UpdatedAt: now,
			SaltID:    saltID,
		}
		if err := store.Create(ctx, t, h); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n == 0 {
		return 0
	}
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
