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
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
}

// BenchmarkMalformedHeader is the rejection of a header that cannot hold a
// key: no hashing, no store.
func BenchmarkMalformedHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apitoken.ParseBearer("Basic dXNlcjpwYXNz"); err == nil {
			b.Fatal("accepted")
		}
	}
}
