package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Each refused request logs a warning (apitoken's auth-failed and
// expired-key events, the admin login's failures, refused hosts), so a
// flood of bad requests would be a flood of log lines: 2,000 bad keys
// wrote 304 KB. Warnings are therefore rate-limited per message: logBurst
// in a row, then one per logEvery. The next one that passes says how many
// were dropped (suppressed=N). Information and errors always pass.
const (
	logBurst = 20
	logEvery = time.Second
	// maxLogMessages bounds the messages limited apart; the others (such
	// as net/http's error log, whose messages carry addresses) share one
	// limit.
	maxLogMessages = 256
)

// quietHandler is a slog.Handler that rate-limits the warnings it passes
// to the handler it wraps.
type quietHandler struct {
	slog.Handler
	s *quietState // shared with the handlers that WithAttrs and WithGroup make
}

type quietState struct {
	mu   sync.Mutex
	msgs map[string]*messageLimit // "" for those past maxLogMessages
}

type messageLimit struct {
	limiter *rate.Limiter
	dropped int
}

func newQuietHandler(h slog.Handler) *quietHandler {
	return &quietHandler{h, &quietState{msgs: map[string]*messageLimit{}}}
}

// Handle passes r on, unless it is a warning past its message's limit.
func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	at := r.Time
	if at.IsZero() {
		at = time.Now()
	}
	pass, dropped := h.s.allow(r.Message, at)
	if !pass {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", dropped))
	}
	return h.Handler.Handle(ctx, r)
}

// allow reports whether a warning of msg at time at may pass, and how many
// of msg were dropped since the last that passed.
func (s *quietState) allow(msg string, at time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[msg]
	if !ok && len(s.msgs) >= maxLogMessages {
		msg = ""
		m, ok = s.msgs[msg]
	}
	if !ok {
		m = &messageLimit{limiter: rate.NewLimiter(rate.Every(logEvery), logBurst)}
		s.msgs[msg] = m
	}
	if !m.limiter.AllowN(at, 1) {
		m.dropped++
		return false, 0
	}
	dropped := m.dropped
	m.dropped = 0
	return true, dropped
}

func (h *quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quietHandler{h.Handler.WithAttrs(attrs), h.s}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{h.Handler.WithGroup(name), h.s}
}
