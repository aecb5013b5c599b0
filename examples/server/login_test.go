package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestCredentialsGeneratedOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "apitoken.db.admin")
	noEnv := func(string) string { return "" }
	var out bytes.Buffer
	first, err := loadCredentials(path, noEnv, bcrypt.MinCost, false, &out, slog.Default())
	require.NoError(t, err)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "printed %q", out.String())
	require.Contains(t, out.String(), "email:    admin@example.com")
	password := m[1]
	fi, _ := os.Stat(path)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode")
	b, _ := os.ReadFile(path)
	assert.NotContains(t, string(b), password, "the file holds the password itself")
	auth := newAdminAuth(first, slog.Default())
	ok, _ := auth.check(context.Background(), "192.0.2.1", "Admin@Example.com", password, false)
	assert.True(t, ok, "the printed password does not log in")

	out.Reset()
	second, err := loadCredentials(path, noEnv, bcrypt.MinCost, false, &out, slog.Default())
	assert.NoError(t, err, "second start")
	assert.Empty(t, out.String(), "second start printed")
	assert.Equal(t, first.hash, second.hash, "second start: same hash")
}

func TestCredentialsFromEnv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.admin")
	env := map[string]string{"ADMIN_EMAIL": "me@example.org", "ADMIN_PASSWORD": "hunter2hunter2"}
	var out bytes.Buffer
	c, err := loadCredentials(path, func(k string) string { return env[k] }, bcrypt.MinCost, false, &out, slog.Default())
	require.NoError(t, err)
	require.Empty(t, out.String(), "printed")
	_, err = os.Stat(path)
	assert.Error(t, err, "a login file was written although the environment gives one")
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
		got, _ := auth.check(context.Background(), "192.0.2.1", tc.email, tc.password, true)
		assert.Equal(t, tc.ok, got, "check(%q, %q)", tc.email, tc.password)
	}

	delete(env, "ADMIN_PASSWORD")
	_, err = loadCredentials(path, func(k string) string { return env[k] }, bcrypt.MinCost, false, &out, slog.Default())
	assert.Error(t, err, "ADMIN_EMAIL alone was accepted")
}

func TestCredentialsDamagedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.admin")
	os.WriteFile(path, []byte("just-an-email\n"), 0o600)
	_, err := loadCredentials(path, func(string) string { return "" }, bcrypt.MinCost, false, &bytes.Buffer{}, slog.Default())
	assert.ErrorContains(t, err, "damaged")
	b, _ := os.ReadFile(path)
	assert.Equal(t, "just-an-email\n", string(b), "the file was replaced")
}
