// Package apitokentest helps test handlers that apitoken protects: a ready
// Service on memstore, one token of each type, requests that carry a key,
// and a clock that tests move by hand.
//
//	svc := apitokentest.New(t, apitoken.Config{})
//	handler := svc.Require("api::article.article.find")(articles)
//	keys := apitokentest.Mint(t, svc)
//	rec := httptest.NewRecorder()
//	handler.ServeHTTP(rec, apitokentest.NewRequest("GET", "/api/articles", keys.ReadOnly, nil))
package apitokentest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// Salt is the salt of New's Services. It is fixed so that keys and hashes
// are the same from run to run; never use it outside tests.
const Salt = "apitokentest-fixed-salt-not-for-production"

// New returns a Service for cfg, closed when t ends (Close must succeed).
// Unset fields of cfg take test defaults: a fresh memstore, Salt, a logger
// that discards, so that tests print nothing, and no background expiry
// check (ExpiryCheck -1), whose timer would be one more on a test's Clock;
// CheckExpiry still works, and a test of the check sets ExpiryCheck.
// Everything else is as
// apitoken.New makes it; in particular actions must be known (mount the
// routes first, or set cfg.Actions or cfg.AnyAction) before custom tokens
// may name them.
func New(t testing.TB, cfg apitoken.Config) *apitoken.Service {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = memstore.New()
	}
	if cfg.Salt == "" {
		cfg.Salt = Salt
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ExpiryCheck == 0 {
		cfg.ExpiryCheck = -1
	}
	svc, err := apitoken.New(cfg)
	if err != nil {
		t.Fatalf("apitokentest: %v", err)
	}
	t.Cleanup(func() {
		if err := svc.Close(context.Background()); err != nil {
			t.Errorf("apitokentest: closing the Service: %v", err)
		}
	})
	return svc
}

// Keys holds the keys of one token of each type.
type Keys struct {
	ReadOnly   string
	FullAccess string
	Custom     string // "" when Mint was given no actions
}

// Mint creates one read-only and one full-access token in svc, and a custom
// token allowed exactly actions if any are given, all unlimited, and returns
// their keys. The tokens are named "read-only", "full-access" and "custom",
// so Mint may be called once per Service.
func Mint(t testing.TB, svc *apitoken.Service, actions ...string) Keys {
	t.Helper()
	mint := func(p apitoken.CreateParams) string {
		t.Helper()
		_, key, err := svc.Create(context.Background(), p)
		if err != nil {
			t.Fatalf("apitokentest: creating the %s token: %v", p.Type, err)
		}
		return key
	}
	keys := Keys{
		ReadOnly:   mint(apitoken.CreateParams{Name: "read-only", Type: apitoken.ReadOnly}),
		FullAccess: mint(apitoken.CreateParams{Name: "full-access", Type: apitoken.FullAccess}),
	}
	if len(actions) > 0 {
		keys.Custom = mint(apitoken.CreateParams{Name: "custom", Type: apitoken.Custom, Permissions: actions})
	}
	return keys
}

// Authorize sets r's Authorization header to "Bearer key" and returns r.
func Authorize(r *http.Request, key string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+key)
	return r
}

// NewRequest returns httptest.NewRequest(method, target, body) carrying key
// in its Authorization header, or no header when key is "".
func NewRequest(method, target, key string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	if key != "" {
		Authorize(r, key)
	}
	return r
}
