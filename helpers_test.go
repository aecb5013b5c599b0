package apitoken_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

const testSalt = "test-salt-0123456789abcdef"

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newService returns a Service over a fresh memstore, closed at the end of
// the test.
func newService(t testing.TB, cfg apitoken.Config) (*apitoken.Service, *memstore.Store) {
	t.Helper()
	store := memstore.New()
	cfg.Store = store
	if cfg.Salt == "" {
		cfg.Salt = testSalt
	}
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	if cfg.Actions == nil {
		cfg.AnyAction = true // tests grant made-up actions; TestValidation checks the registry
	}
	svc, err := apitoken.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close(context.Background())) })
	return svc, store
}

func mustCreate(t testing.TB, svc *apitoken.Service, p apitoken.CreateParams) (*apitoken.Token, string) {
	t.Helper()
	tok, key, err := svc.Create(context.Background(), p)
	require.NoError(t, err)
	return tok, key
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
