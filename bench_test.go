package apitoken_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

var sink apitoken.Hash

// BenchmarkHMAC is the floor: HMAC-SHA512 of a 256-hex key with the keyed
// state precomputed and reused, the least any verification can cost.
func BenchmarkHMAC(b *testing.B) {
	floor := hmacFloor()
	b.ReportAllocs()
	for b.Loop() {
		floor()
	}
}

// hmacFloor returns a function that computes the floor once.
func hmacFloor() func() {
	mac := hmac.New(sha512.New, []byte(testSalt))
	key := []byte(strapiKey)
	var sum [sha512.Size]byte
	return func() {
		mac.Reset()
		mac.Write(key)
		mac.Sum(sum[:0])
	}
}

// BenchmarkHasher is the library's pooled hash of the same key.
func BenchmarkHasher(b *testing.B) {
	h, err := apitoken.NewHasher(testSalt)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = h.Sum(strapiKey)
	}
}

// BenchmarkMiddleware is an authorized GET through Require over memstore,
// without the network: the cost the library adds to each request once the
// key is in the memo (Config.KeyMemo), as it is from a client's second
// request on.
func BenchmarkMiddleware(b *testing.B) {
	serve := authorizedGET(b, apitoken.Config{})
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// BenchmarkMiddlewareOverHMAC reports the middleware's cost as a multiple of
// the floor, with the key memo and without it (every request then pays the
// HMAC, as the first request with a key does). It runs the floor and the
// middleware in alternating batches, so that a shared, noisy machine slows
// both alike and the ratio holds where absolute figures drift.
func BenchmarkMiddlewareOverHMAC(b *testing.B) {
	for _, bc := range []struct {
		name string
		memo int
	}{{"memo=on", 0}, {"memo=off", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			serve := authorizedGET(b, apitoken.Config{KeyMemo: bc.memo})
			floor := hmacFloor()
			const batch = 128
			var floorTime, mwTime time.Duration
			for i := 0; i < b.N; i += batch {
				start := time.Now()
				for range batch {
					floor()
				}
				mid := time.Now()
				for range batch {
					serve()
				}
				floorTime += mid.Sub(start)
				mwTime += time.Since(mid)
			}
			b.ReportMetric(float64(mwTime)/float64(floorTime), "x-floor")
		})
	}
}

// authorizedGET returns a function that serves one authorized GET through
// Require over memstore, to a handler that does nothing, with a 256-hex key.
func authorizedGET(b *testing.B, cfg apitoken.Config) func() {
	svc, _ := newService(b, cfg)
	_, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "reader"})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w := &discardWriter{header: http.Header{}}
	b.Cleanup(func() {
		if w.status != 0 {
			b.Errorf("status %d", w.status)
		}
	})
	return func() { h.ServeHTTP(w, req) }
}

// BenchmarkMalformedHeader is the refusal of a header that cannot hold a
// key: "check" is the decision (Check returning ErrMalformedHeader),
// "middleware" the whole way through Require to the written 401. Neither
// hashes, asks the store or allocates.
func BenchmarkMalformedHeader(b *testing.B) {
	svc, _ := newService(b, apitoken.Config{})
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		var err error
		for b.Loop() {
			_, err = svc.Check(req, "api::article.article.find")
		}
		if !errors.Is(err, apitoken.ErrMalformedHeader) {
			b.Fatalf("err %v", err)
		}
	})
	b.Run("middleware", func(b *testing.B) {
		h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.Fatal("let through")
		}))
		w := &discardWriter{header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
		if w.status != http.StatusUnauthorized {
			b.Fatalf("status %d", w.status)
		}
	})
}

// discardWriter is a ResponseWriter that keeps only the status, so that
// benchmarks count the middleware's allocations, not a recorder's.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkRateLimited is BenchmarkMiddleware for a token with a
// Policy.RateLimit counted in process (no Config.SharedRates): the cost the
// count adds. The clock moves to the next window whenever one is full, so
// that refusals (cheaper: no handler) stay a small share of the requests.
func BenchmarkRateLimited(b *testing.B) {
	for _, limit := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			clk := apitokentest.NewClock()
			svc, _ := newService(b, apitoken.Config{Clock: clk})
			_, key := mustCreate(b, svc, apitoken.CreateParams{Name: "limited", PolicyParams: apitoken.PolicyParams{
				RateLimit: &apitoken.RateLimit{Requests: limit, Window: apitoken.Duration(time.Minute)}}})
			h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			req := httptest.NewRequest("GET", "/api/articles", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			w := &discardWriter{header: http.Header{}}
			admitted := 0
			b.ReportAllocs()
			for b.Loop() {
				w.status = 0
				h.ServeHTTP(w, req)
				if w.status == 0 {
					admitted++
				} else {
					clk.Add(time.Minute)
				}
			}
			if admitted == 0 {
				b.Fatal("nothing admitted")
			}
		})
	}
}
