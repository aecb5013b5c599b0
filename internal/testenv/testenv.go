// Package testenv finds the databases, Redis and browser that tests need. On a
// developer's machine a missing one skips the test; in CI (CI=true) it fails
// it, so that nothing passes by not running.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped for
// want of a service.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need skips t, or fails it in CI, saying what is missing and how to provide it.
func Need(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (required in CI)", what)
	}
	t.Skip(what)
}

// The environment variables that point the tests at PostgreSQL and MySQL;
// .ci/run sets them.
const (
	PostgresEnv = "APITOKEN_TEST_POSTGRES_DSN" // postgres://user@host:5432/db?sslmode=disable
	MySQLEnv    = "APITOKEN_TEST_MYSQL_DSN"    // user:pass@tcp(host:3306)/db
)

// DSN returns the value of the environment variable env (PostgresEnv or
// MySQLEnv), the data source name of a test database.
func DSN(t testing.TB, env string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		Need(t, env+" is not set: point it at a test database (see .ci/run)")
	}
	return dsn
}

// RedisEnv is the environment variable that points the tests at Redis
// (host:port); .ci/run sets it.
const RedisEnv = "APITOKEN_TEST_REDIS_ADDR"

// RedisAddr returns the address of a test Redis, from RedisEnv.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(RedisEnv)
	if addr == "" {
		Need(t, RedisEnv+" is not set: point it at a test Redis, such as 127.0.0.1:6379 (see .ci/run)")
	}
	return addr
}

// Chromium returns the path of a Chromium binary: $CHROMIUM, or chromium on
// the PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Need(t, "no chromium found: apt-get install chromium, or set CHROMIUM")
	return ""
}

// Buffer is a bytes.Buffer safe for concurrent writers, for capturing what a
// server logs while a test talks to it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
