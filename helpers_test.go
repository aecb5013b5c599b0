package apitoken_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

const testSalt = "test-salt-0123456789abcdef"

// newService returns a Service over a fresh memstore, closed at the end of
// the test.
func newService(t testing.TB, cfg apitoken.Config) (*apitoken.Service, *memstore.Store) {
	t.Helper()
	store := memstore.New()
	cfg.Store = store
	if cfg.Salt == "" {
		cfg.Salt = testSalt
	}
	if cfg.Actions == nil {
		cfg.AnyAction = true // tests grant made-up actions; TestValidation checks the registry
	}
	return apitokentest.New(t, cfg), store
}

func mustCreate(t testing.TB, svc *apitoken.Service, p apitoken.CreateParams) (*apitoken.Token, string) {
	t.Helper()
	tok, key, err := svc.Create(context.Background(), p)
	require.NoError(t, err)
	return tok, key
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// outageStore is a memstore whose lookups fail while down is set, as when
// the database is down, and that counts them.
type outageStore struct {
	*memstore.Store
	down    atomic.Bool
	lookups atomic.Int64
}

func (s *outageStore) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	s.lookups.Add(1)
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.GetByHash(ctx, h)
}
