package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/go-apitoken/apitoken"
)

// storedPolicy is the policy column: a token's Policy but its quota's
// counts, which have columns of their own for SpendQuota.
type storedPolicy struct {
	Disabled   bool                `json:"disabled,omitempty"`
	AllowedIPs []netip.Prefix      `json:"allowedIPs,omitempty"`
	RateLimit  *apitoken.RateLimit `json:"rateLimit,omitempty"`
	Refill     apitoken.Refill     `json:"refill,omitempty"`
}

// policyArgs returns the values of the policy, quota_limit, quota_remaining
// and quota_refilled_at columns for p: all NULL for the zero Policy.
func policyArgs(d Dialect, p *apitoken.Policy) ([]any, error) {
	sp := storedPolicy{Disabled: p.Disabled, AllowedIPs: p.AllowedIPs, RateLimit: p.RateLimit}
	args := []any{nil, nil, nil, nil}
	if q := p.Quota; q != nil {
		sp.Refill = q.Refill
		args[1], args[2], args[3] = q.Limit, q.Remaining, arg(d, q.RefilledAt)
	}
	if sp.Disabled || sp.AllowedIPs != nil || sp.RateLimit != nil || sp.Refill != "" {
		b, err := json.Marshal(sp)
		if err != nil {
			return nil, err
		}
		args[0] = string(b)
	}
	return args, nil
}

// policyCols are the scan destinations of the policy columns.
type policyCols struct {
	policy           sql.NullString
	limit, remaining sql.NullInt64
	refilledAt       dbTime
}

// read sets t's Policy from the columns. A token without one costs no
// parsing.
func (c *policyCols) read(t *apitoken.Token) error {
	var sp storedPolicy
	if c.policy.Valid {
		if err := json.Unmarshal([]byte(c.policy.String), &sp); err != nil {
			return fmt.Errorf("sqlstore: token %s has a malformed policy: %w", t.ID, err)
		}
	}
	t.Policy = apitoken.Policy{Disabled: sp.Disabled, AllowedIPs: sp.AllowedIPs, RateLimit: sp.RateLimit}
	if c.limit.Valid {
		t.Quota = &apitoken.Quota{Limit: c.limit.Int64, Refill: sp.Refill, Remaining: c.remaining.Int64, RefilledAt: c.refilledAt.t}
	}
	return nil
}

var _ apitoken.QuotaSpender = (*Store)(nil)

// SpendQuota implements apitoken.QuotaSpender with one conditional UPDATE,
// atomic by itself on every engine: the refill, the check and the spending
// happen in the statement, so that of concurrent calls on any number of
// instances only as many succeed as there were uses. A refusal costs a
// second query, to tell an exhausted quota from an unknown token, and so
// does a use on MySQL, which reads the uses left with LAST_INSERT_ID(). A
// token without a quota is not limited: it returns -1.
func (s *Store) SpendQuota(ctx context.Context, id string, now, periodStart time.Time) (int64, error) {
	if !exactID(id) {
		return 0, apitoken.ErrNotFound
	}
	d := s.dialect
	var start any // NULL: never refilled, as NULL < x is never true
	if !periodStart.IsZero() {
		start = arg(d, periodStart)
	}
	args := []any{start, start, arg(d, now), id, start}
	var left int64
	spent := false
	err := s.retryBusy(ctx, func() error {
		if d == MySQL {
			// LAST_INSERT_ID is the connection's: read it on the
			// connection that set it.
			conn, err := s.db.Conn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			res, err := conn.ExecContext(ctx, s.q.spendQuota, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil || n == 0 {
				return err
			}
			spent = true
			return conn.QueryRowContext(ctx, "SELECT LAST_INSERT_ID()").Scan(&left)
		}
		err := s.db.QueryRowContext(ctx, s.q.spendQuota, args...).Scan(&left)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		spent = err == nil
		return err
	})
	if err != nil {
		return 0, s.wrap(ctx, "spend quota", err)
	}
	if spent {
		return left, nil
	}
	var remaining sql.NullInt64
	if err := s.db.QueryRowContext(ctx, s.q.quotaLeft, id).Scan(&remaining); err != nil {
		return 0, s.wrap(ctx, "spend quota", err)
	}
	if !remaining.Valid {
		return -1, nil
	}
	return 0, apitoken.ErrQuotaExhausted
}

// spendQuota is SpendQuota's statement. Its arguments: the period's start
// twice, now, the id, the period's start. MySQL, which lacks RETURNING,
// keeps the uses left with LAST_INSERT_ID(expr); it assigns left to right,
// so quota_remaining is computed from the old quota_refilled_at.
func spendQuota(d Dialect, q func(string) string) string {
	left := `CASE WHEN quota_refilled_at < ? THEN quota_limit ELSE quota_remaining END - 1`
	tail := ` WHERE id = ? AND quota_limit IS NOT NULL AND (quota_refilled_at < ? OR quota_remaining > 0)`
	set := `quota_refilled_at = CASE WHEN quota_refilled_at < ? THEN ? ELSE quota_refilled_at END`
	if d == MySQL {
		return q(`UPDATE {{tokens}} SET quota_remaining = LAST_INSERT_ID(` + left + `), ` + set + tail)
	}
	return q(`UPDATE {{tokens}} SET quota_remaining = ` + left + `, ` + set + tail + ` RETURNING quota_remaining`)
}

var _ apitoken.NoticeClaimer = (*Store)(nil)

// ClaimNotice implements apitoken.NoticeClaimer with one INSERT that the
// notices table's primary key lets succeed once: of instances claiming a
// notice together, exactly one is first.
func (s *Store) ClaimNotice(ctx context.Context, id string, expiresAt time.Time, kind apitoken.EventKind) (bool, error) {
	var n int64
	err := s.retryBusy(ctx, func() error {
		res, err := s.db.ExecContext(ctx, s.q.claimNotice, id, arg(s.dialect, expiresAt), string(kind))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.wrap(ctx, "claim notice", err)
	}
	return n > 0, nil
}

// claimNotice is ClaimNotice's statement: an insert that a duplicate
// leaves undone, without an error.
func claimNotice(d Dialect, q func(string) string) string {
	switch d {
	case MySQL:
		return q(`INSERT IGNORE INTO {{notices}} (token_id, expires_at, kind) VALUES (?, ?, ?)`)
	case SQLite:
		return q(`INSERT OR IGNORE INTO {{notices}} (token_id, expires_at, kind) VALUES (?, ?, ?)`)
	}
	return q(`INSERT INTO {{notices}} (token_id, expires_at, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
}
