package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
)

func TestParseFailureLimit(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]*apitoken.FailureLimit{
		"10/1m":   {Rate: rate.Limit(10.0 / 60), Burst: 10},
		"5/30s":   {Rate: rate.Limit(5.0 / 30), Burst: 5},
		"1/24h":   {Rate: rate.Limit(1.0 / 86400), Burst: 1},
		" 20/1s ": {Rate: 20, Burst: 20},
		"off":     nil,
	} {
		got, err := parseFailureLimit(value)
		if assert.NoError(t, err, value) {
			assert.Equal(t, want, got, value)
		}
	}
	for _, bad := range []string{
		"", "10", "/1m", "10/", "x/1m", "10/x", "-1/1m", "0/1m", "10/0s", "10/-1m", "10/1m/2", "10 /1m",
		"100001/1m", "10/25h", "1e3/1m", "0x10/1m", "10/1m\x00", strings.Repeat("9", 1000) + "/1m", "OFF", "on",
	} {
		_, err := parseFailureLimit(bad)
		if assert.Error(t, err, "%.40q accepted", bad) {
			assert.Contains(t, err.Error(), "-failure-limit", "%.40q", bad)
			assert.Less(t, len(err.Error()), 300, "%.40q: the error repeats the whole value", bad)
		}
	}
}

func TestFlagDefaults(t *testing.T) {
	t.Parallel()
	cfg, addr, err := parseFlags(nil, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1337", addr)
	require.NotNil(t, cfg.failureLimit, "the demo limits failed authentications by default")
	assert.Equal(t, 10, cfg.failureLimit.Burst)
	assert.InDelta(t, 10.0/60, float64(cfg.failureLimit.Rate), 1e-9)
	assert.True(t, cfg.allowedHosts.allows("127.0.0.1:1337"))
	assert.False(t, cfg.allowedHosts.allows("attacker.example:1337"))
	assert.False(t, cfg.allowShortPassword)

	cfg, _, err = parseFlags([]string{"-failure-limit", "off"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Nil(t, cfg.failureLimit)

	var stderr bytes.Buffer
	_, _, err = parseFlags([]string{"-failure-limit", "lots"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	assert.ErrorContains(t, err, "-failure-limit")
}

// defaultLimit is the server's default -failure-limit.
func defaultLimit(c *config) {
	c.failureLimit, _ = parseFailureLimit(defaultFailureLimit)
}

func TestFailureLimitOnByDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "limit.db"), map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}, defaultLimit)
	_, key := s.createToken(t, `{"name":"reader","type":"read-only"}`)
	require.Equal(t, http.StatusOK, s.do(t, "GET", "/api/articles", "", bearer(key)).status)
	for i := range 10 {
		r := s.do(t, "GET", "/api/articles", "", bearer(fmt.Sprint("guess-", i)))
		require.Equal(t, http.StatusUnauthorized, r.status, "failure %d", i+1)
	}
	r := s.do(t, "GET", "/api/articles", "", bearer("guess-11"))
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "6", r.header.Get("Retry-After"))
	assert.Contains(t, r.body, `"name":"RateLimitError"`)
	r = s.do(t, "GET", "/api/articles", "", bearer(key))
	assert.Equal(t, http.StatusOK, r.status, "a key the server has verified still passes")
}

// TestFailureLogVolume sends 2,000 requests with bad keys and measures what
// they write to the log: with the default failure limit, one client is
// refused unchecked (and unlogged) after ten; without it, the warnings are
// rate-limited per message.
func TestFailureLogVolume(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		option func(*config)
	}{
		{"default failure limit", defaultLimit},
		{"no failure limit", func(*config) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, filepath.Join(t.TempDir(), "logs.db"), map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}, tc.option)
			before := len(s.logs.String())
			start := time.Now()
			statuses := map[int]int{}
			for i := range 2000 {
				statuses[s.do(t, "GET", "/api/articles", "", bearer(fmt.Sprint("bad-key-", i))).status]++
			}
			took := time.Since(start)
			written := s.logs.String()[before:]
			lines := strings.Count(written, "\n")
			t.Logf("2,000 bad keys in %v: %v; %d log lines, %d bytes", took.Round(time.Millisecond), statuses, lines, len(written))
			assert.LessOrEqual(t, lines, logBurst+int(took/logEvery)+2, "log lines")
			if strings.Contains(written, "suppressed=") {
				assert.Contains(t, written, "apitoken: auth-failed")
			}
		})
	}
}

func TestQuietHandler(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := newQuietHandler(slog.NewTextHandler(&out, nil))
	log := slog.New(h).With("component", "test")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	emit := func(at time.Time, level slog.Level, msg string) {
		r := slog.NewRecord(at, level, msg, 0)
		require.NoError(t, log.Handler().Handle(context.Background(), r))
	}
	for range 100 {
		emit(t0, slog.LevelWarn, "flood")
	}
	assert.Equal(t, logBurst, strings.Count(out.String(), "msg=flood"), "a burst passes")
	emit(t0, slog.LevelWarn, "other")
	emit(t0, slog.LevelInfo, "flood")
	emit(t0, slog.LevelError, "flood")
	assert.Equal(t, logBurst+2, strings.Count(out.String(), "msg=flood"), "info and errors pass")
	assert.Contains(t, out.String(), "msg=other", "each message has its own limit")
	out.Reset()
	emit(t0.Add(logEvery), slog.LevelWarn, "flood")
	assert.Contains(t, out.String(), "suppressed=80", "the next line that passes counts those dropped")
	assert.Contains(t, out.String(), "component=test", "attributes added with With stay")
	out.Reset()
	emit(t0.Add(logEvery), slog.LevelWarn, "flood")
	assert.Empty(t, out.String())

	// Messages are finite in the code, but not in net/http's error log:
	// past maxLogMessages they share one limit.
	for i := range 2 * maxLogMessages {
		emit(t0, slog.LevelWarn, fmt.Sprint("http: TLS handshake error from 192.0.2.", i))
	}
	assert.LessOrEqual(t, len(h.s.msgs), maxLogMessages+1)
}
