package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestCredentialsGeneratedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apitoken.db.admin")
	noEnv := func(string) string { return "" }
	var out bytes.Buffer
	first, err := loadCredentials(path, noEnv, bcrypt.MinCost, &out, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "email:    admin@example.com") {
		t.Fatalf("printed %q", out.String())
	}
	password := m[1]
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), password) {
		t.Error("the file holds the password itself")
	}
	auth := newAdminAuth(first, slog.Default())
	if !auth.check(context.Background(), "Admin@Example.com", password, false) {
		t.Error("the printed password does not log in")
	}

	out.Reset()
	second, err := loadCredentials(path, noEnv, bcrypt.MinCost, &out, slog.Default())
	if err != nil || out.Len() != 0 || !bytes.Equal(second.hash, first.hash) {
		t.Errorf("second start: %v, printed %q, same hash %v", err, out.String(), bytes.Equal(second.hash, first.hash))
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.admin")
	env := map[string]string{"ADMIN_EMAIL": "me@example.org", "ADMIN_PASSWORD": "hunter2hunter2"}
	var out bytes.Buffer
	c, err := loadCredentials(path, func(k string) string { return env[k] }, bcrypt.MinCost, &out, slog.Default())
	if err != nil || out.Len() != 0 {
		t.Fatalf("%v, printed %q", err, out.String())
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a login file was written although the environment gives one")
	}
	auth := newAdminAuth(c, slog.Default())
	for _, tc := range []struct {
		email, password string
		ok              bool
	}{
		{"me@example.org", "hunter2hunter2", true},
		{"me@example.org", "hunter2hunter2", true}, // remembered
		{"me@example.org", "hunter2", false},
		{"other@example.org", "hunter2hunter2", false},
		{"", "", false},
	} {
		if got := auth.check(context.Background(), tc.email, tc.password, true); got != tc.ok {
			t.Errorf("check(%q, %q) = %v", tc.email, tc.password, got)
		}
	}

	delete(env, "ADMIN_PASSWORD")
	if _, err := loadCredentials(path, func(k string) string { return env[k] }, bcrypt.MinCost, &out, slog.Default()); err == nil {
		t.Error("ADMIN_EMAIL alone was accepted")
	}
}

func TestCredentialsDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.admin")
	os.WriteFile(path, []byte("just-an-email\n"), 0o600)
	_, err := loadCredentials(path, func(string) string { return "" }, bcrypt.MinCost, &bytes.Buffer{}, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "just-an-email\n" {
		t.Error("the file was replaced")
	}
}
