package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

var sinkToken *apitoken.Token

func BenchmarkGetByHash(b *testing.B) {
	ctx := context.Background()
	newCache := func(b *testing.B) (*cache.Store, apitoken.Hash) {
		s := cache.New(memstore.New(), cache.Options{TTL: time.Hour, NegativeTTL: time.Hour})
		_, h := add(b, s, "reader")
		if _, err := s.GetByHash(ctx, h); err != nil {
			b.Fatal(err)
		}
		return s, h
	}

	b.Run("hit", func(b *testing.B) {
		s, h := newCache(b)
		b.ReportAllocs()
		for b.Loop() {
			sinkToken, _ = s.GetByHash(ctx, h)
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		s, h := newCache(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetByHash(ctx, h); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("miss-negative", func(b *testing.B) {
		// A flood of one garbage key: answered from the negative entry.
		s, _ := newCache(b)
		garbage := randomHash(b)
		if _, err := s.GetByHash(ctx, garbage); err != apitoken.ErrNotFound {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetByHash(ctx, garbage); err != apitoken.ErrNotFound {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss-store", func(b *testing.B) {
		// Fresh garbage every time: each is asked of the store once and
		// remembered, evicting others once MaxNegative is reached.
		s, _ := newCache(b)
		hashes := make([]apitoken.Hash, 4096)
		for i := range hashes {
			hashes[i] = randomHash(b)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			h := hashes[i%len(hashes)]
			h[1], h[2], h[3] = byte(i>>8), byte(i>>16), byte(i>>24)
			i++
			if _, err := s.GetByHash(ctx, h); err != apitoken.ErrNotFound {
				b.Fatal(err)
			}
		}
	})
	b.Run("memstore", func(b *testing.B) {
		// The same hit without the cache, for comparison.
		m := memstore.New()
		_, h := add(b, m, "reader")
		b.ReportAllocs()
		for b.Loop() {
			sinkToken, _ = m.GetByHash(ctx, h)
		}
	})
}
