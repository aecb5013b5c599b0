package sqlstore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestAttack18TakeRateClientFoundRows: the README says clientFoundRows
// "changes nothing" on MySQL. TakeRate tells an insert from an update by
// RowsAffected() == 1; with clientFoundRows an ON DUPLICATE KEY UPDATE that
// leaves the row as it was (a take of a full window, after a take that
// already found it full) also reports 1, and is taken for the window's
// first take: it grants n more requests past the limit.
func TestAttack18TakeRateClientFoundRows(t *testing.T) {
	for _, flag := range []string{"", "clientFoundRows=true"} {
		t.Run("params="+flag, func(t *testing.T) {
			dsn := testenv.DSN(t, testenv.MySQLEnv)
			switch {
			case flag == "":
			case strings.Contains(dsn, "?"):
				dsn += "&" + flag
			default:
				dsn += "?" + flag
			}
			db, err := sql.Open("mysql", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s := newStore(t, db, sqlstore.MySQL)
			ctx := context.Background()
			id := uuid.NewString()
			start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
			total := 0
			for range 5 {
				g, _, err := s.TakeRate(ctx, id, start, time.Minute, 3, 2)
				require.NoError(t, err)
				total += g
			}
			assert.LessOrEqual(t, total, 3, "takes of one window granted %d of a limit of 3", total)
		})
	}
}

// TestAttack18SharedRatesClientFoundRows: the same hole seen from the
// Service: three instances sharing a token store and counting rates in
// MariaDB through a pool opened with clientFoundRows. Once one instance has
// filled the window and a second has found it full, every further lease
// (a third instance, a restart) is granted a batch past the limit.
func TestAttack18SharedRatesClientFoundRows(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.DSN(t, testenv.MySQLEnv)
	if strings.Contains(dsn, "?") {
		dsn += "&clientFoundRows=true"
	} else {
		dsn += "?clientFoundRows=true"
	}
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	rates := newStore(t, db, sqlstore.MySQL)
	tokens := memstore.New()
	clk := apitokentest.NewClock()
	var svcs []*apitoken.Service
	for range 4 {
		svcs = append(svcs, apitokentest.New(t, apitoken.Config{Store: tokens, SharedRates: rates, Clock: clk,
			Salt: "rates-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)}))
	}
	_, key, err := svcs[0].Create(ctx, apitoken.CreateParams{Name: "script", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 20, Window: apitoken.Duration(time.Minute)}}})
	require.NoError(t, err)
	allowed := 0
	for _, svc := range svcs {
		for range 30 {
			if _, err := svc.Verify(ctx, key); err == nil {
				allowed++
			} else {
				require.ErrorIs(t, err, apitoken.ErrRateLimited)
			}
		}
	}
	assert.Equal(t, 20, allowed, "four instances let %d requests of a token limited to 20 a minute through", allowed)
}
