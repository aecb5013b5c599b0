package apitoken_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-apitoken/apitoken"
)

var sink apitoken.Hash

// BenchmarkHMAC is the floor: HMAC-SHA512 of a 256-hex key with the keyed
// state precomputed and reused, the least any verification can cost.
func BenchmarkHMAC(b *testing.B) {
	mac := hmac.New(sha512.New, []byte(testSalt))
	key := []byte(strapiKey)
	var sum [sha512.Size]byte
	b.ReportAllocs()
	for b.Loop() {
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
// without the network: the cost the library adds to each request.
func BenchmarkMiddleware(b *testing.B) {
	svc, _ := newService(b, apitoken.Config{})
	_, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "reader"})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.status != 0 {
		b.Fatalf("status %d", w.status)
	}
}

// BenchmarkMalformedHeader is the rejection of a header that cannot hold a
// key, through the whole middleware to the written 401: no hashing, no
// store, no allocation.
func BenchmarkMalformedHeader(b *testing.B) {
	svc, _ := newService(b, apitoken.Config{})
	h := svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.Fatal("let through")
	}))
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.status != http.StatusUnauthorized {
		b.Fatalf("status %d", w.status)
	}
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
