package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

const (
	salt   = "bench-salt-0123456789abcdef"
	action = "api::article.article.find"
)

// noop is the protected handler: it does nothing, so that only the
// authentication is measured.
var noop = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

// newService returns a Service over store with one read-only token, and
// that token's key. keyMemo is Config.KeyMemo.
func newService(tb testing.TB, store apitoken.Store, keyMemo int) (*apitoken.Service, string) {
	tb.Helper()
	// Audit records go nowhere, as a benchmark's would in production
	// behind a level filter.
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt, KeyMemo: keyMemo, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close(context.Background()) })
	_, key, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "reader"})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, key
}

// serve runs b.N authorized GETs carrying credential through h.
func serve(b *testing.B, h http.Handler, credential string) {
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Bearer "+credential)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
}

// BenchmarkAuthorizedGET is one authorized GET of a 256-hex key through
// each contender, measured side by side.
func BenchmarkAuthorizedGET(b *testing.B) {
	b.Run("apitoken", func(b *testing.B) {
		svc, key := newService(b, memstore.New(), 0)
		serve(b, svc.Require(action)(noop), key)
	})

	b.Run("apitoken-memo-off", func(b *testing.B) {
		// Every request pays the HMAC, as a key's first request does.
		svc, key := newService(b, memstore.New(), -1)
		serve(b, svc.Require(action)(noop), key)
	})

	b.Run("hmac-floor", func(b *testing.B) {
		// The least any verification can cost: HMAC-SHA512 of the key
		// with the keyed state precomputed and reused.
		_, key := newService(b, memstore.New(), 0)
		mac := hmac.New(sha512.New, []byte(salt))
		k := []byte(key)
		var sum [sha512.Size]byte
		b.ReportAllocs()
		for b.Loop() {
			mac.Reset()
			mac.Write(k)
			mac.Sum(sum[:0])
		}
	})

	b.Run("jwt", func(b *testing.B) {
		secret := []byte(salt)
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, scopeClaims{
			Scope:            action,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "reader", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		})
		signed, err := tok.SignedString(secret)
		if err != nil {
			b.Fatal(err)
		}
		serve(b, jwtMiddleware(secret, action)(noop), signed)
	})

	b.Run("naive", func(b *testing.B) {
		_, key := newService(b, memstore.New(), 0)
		hasher, err := apitoken.NewHasher(salt)
		if err != nil {
			b.Fatal(err)
		}
		tokens := map[string]*naiveToken{
			hasher.Sum(key).Hex(): {name: "reader", perms: []string{action}},
		}
		serve(b, naiveMiddleware(tokens, action)(noop), key)
	})
}

// BenchmarkMalformedHeader is the rejection of a header that cannot hold a
// key, through the whole middleware.
func BenchmarkMalformedHeader(b *testing.B) {
	svc, _ := newService(b, memstore.New(), 0)
	h := svc.Require(action)(noop)
	req := httptest.NewRequest("GET", "/api/articles", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	w := discard{}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// discard is a ResponseWriter that keeps nothing, so that the refusal's
// body costs no allocation of the benchmark's own.
type discard struct{}

var discardHeader = http.Header{}

func (discard) Header() http.Header         { clear(discardHeader); return discardHeader }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

// scopeClaims are the claims of the jwt contender: the standard ones and
// one space-separated scope, as in OAuth 2.0.
type scopeClaims struct {
	Scope string `json:"scope"`
	jwt.RegisteredClaims
}

type claimsKey struct{}

// jwtMiddleware is how a middleware on golang-jwt/jwt/v5 is usually
// written: parse and verify the HS256 token, check the scope, put the
// claims in the context.
func jwtMiddleware(secret []byte, action string) func(http.Handler) http.Handler {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			var claims scopeClaims
			if _, err := parser.ParseWithClaims(raw, &claims, keyFunc); err != nil {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			if !slices.Contains(strings.Fields(claims.Scope), action) {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, &claims)))
		})
	}
}

type naiveToken struct {
	name  string
	perms []string
}

type naiveKey struct{}

// naiveMiddleware is what one writes without thinking about cost: a new
// HMAC per request, the hex string of the hash as the map key.
func naiveMiddleware(tokens map[string]*naiveToken, action string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			parts := strings.Fields(r.Header.Get("Authorization"))
			if len(parts) != 2 || !strings.EqualFold(parts[0], "bearer") {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			mac := hmac.New(sha512.New, []byte(salt))
			mac.Write([]byte(parts[1]))
			t, ok := tokens[hex.EncodeToString(mac.Sum(nil))]
			if !ok {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			if !slices.Contains(t.perms, action) {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), naiveKey{}, t)))
		})
	}
}
