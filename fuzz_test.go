package apitoken_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// Each Fuzz function's f.Add calls are its committed seed corpus; .ci/run
// runs each target for a few seconds, and crashers found land under
// testdata/fuzz as regular test cases.

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer\tabc", "  BEARER  abc  ", "", "Bearer", "Basic x", "Bearer a b", "Bearer\u00a0abc", "\x00", strings.Repeat(" ", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, err := apitoken.ParseBearer(v)
		if err != nil {
			if key != "" {
				t.Fatalf("%q: error %v with key %q", v, err, key)
			}
			return
		}
		fields := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(" \t\n\v\f\r", r) })
		if len(fields) != 2 || !strings.EqualFold(fields[0], "bearer") || fields[1] != key {
			t.Fatalf("%q: accepted key %q, but its fields are %q", v, key, fields)
		}
	})
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"api::article.article.find", "plugin::upload.content-api.find", "api::a.b", "x::a.b.c", "api::a..c", "api::é.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := apitoken.ParseAction(s)
		if err != nil {
			if !utf8.ValidString(err.Error()) && utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in error for %q", s)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("%q parsed as %+v, which prints as %q", s, a, a.String())
		}
	})
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"unlimited", "7d", "30d", "90d", "12h", "0", "-1d", "1e9d", "null", "604800000", "-1", "1.5", `"7d"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := apitoken.ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("%q parsed as negative %v", s, d)
			}
			if back, err := apitoken.ParseDuration(d.String()); err != nil || back != d {
				t.Fatalf("%q → %v → %q → %v, %v", s, d, d.String(), back, err)
			}
		}
		var d apitoken.Duration
		if err := json.Unmarshal([]byte(s), &d); err == nil {
			if d < 0 {
				t.Fatalf("JSON %q decoded as negative %v", s, d)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back apitoken.Duration
			if err := json.Unmarshal(b, &back); err != nil || back != d {
				t.Fatalf("JSON %q → %v → %s → %v, %v", s, d, b, back, err)
			}
		}
	})
}

// FuzzVerify feeds arbitrary keys to a service holding one token of each key
// format: nothing panics, and nothing but the two keys is accepted.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	store := memstore.New()
	var svcs [2]*apitoken.Service
	for i, format := range []apitoken.KeyFormat{apitoken.PrefixedKeys, apitoken.HexKeys} {
		svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyFormat: format, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { svc.Close(ctx) })
		svcs[i] = svc
	}
	svc := svcs[0]
	_, prefixed := mustCreate(f, svc, apitoken.CreateParams{Name: "prefixed"})
	_, hexKey := mustCreate(f, svcs[1], apitoken.CreateParams{Name: "hex"})
	for _, s := range []string{prefixed, hexKey, prefixed[:len(prefixed)-1] + "0", strings.ToUpper(hexKey), "", "apitoken_", strings.Repeat("0", 256), forge("x"), forge("apitoken")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		tok, err := svc.Verify(ctx, key)
		if err == nil && key != prefixed && key != hexKey {
			t.Fatalf("accepted %q as %v", key, tok)
		}
	})
}
