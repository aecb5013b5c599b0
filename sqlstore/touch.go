package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// Touch implements apitoken.Store with a single conditional UPDATE, so that
// of many instances noting the same stale token only the first writes: the
// others' condition no longer holds once it has. It reports whether a row
// changed; an unknown id is not an error.
//
// On MySQL the driver counts changed rows, or matched rows if the DSN sets
// clientFoundRows; the condition makes the two agree, except that a touch
// with the stored time itself reports false without clientFoundRows.
func (s *Store) Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error) {
	var n int64
	err := s.retryBusy(ctx, func() error {
		res, err := s.db.ExecContext(ctx, s.q.touch, arg(s.dialect, at), id, arg(s.dialect, notAfter))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, s.wrap(ctx, "touch", err)
	}
	return n > 0, nil
}

// touchBatch bounds the uses of one TouchMany statement: five parameters a
// use stay far below every engine's limit.
const touchBatch = 200

// TouchMany implements apitoken.BatchToucher: one UPDATE for up to 200 uses,
// each use's time and condition picked by a CASE on the id, in one
// transaction. Unknown ids are not an error.
func (s *Store) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	if len(uses) == 0 {
		return nil
	}
	// In id order, so that two instances touching overlapping batches
	// lock rows in one order and cannot deadlock. Sorted once, outside
	// the transaction that inTx may run again on SQLite.
	sorted := slices.SortedFunc(slices.Values(uses), func(a, b apitoken.Use) int { return strings.Compare(a.ID, b.ID) })
	return s.inTx(ctx, "touch many", func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(sorted, touchBatch) {
			query, args := s.touchMany(chunk)
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// touchMany returns the UPDATE of uses:
//
//	UPDATE tokens SET last_used_at = CASE id WHEN ? THEN ? … END
//	WHERE id IN (?, …) AND (last_used_at IS NULL OR last_used_at <= CASE id WHEN ? THEN ? … END)
func (s *Store) touchMany(uses []apitoken.Use) (string, []any) {
	param := "?"
	if s.dialect == Postgres {
		param = "CAST(? AS timestamptz)" // a CASE of bare parameters would be text
	}
	var at, notAfter, in strings.Builder
	args := make([]any, 0, 5*len(uses))
	for i, u := range uses {
		at.WriteString(" WHEN ? THEN " + param)
		notAfter.WriteString(" WHEN ? THEN " + param)
		if i > 0 {
			in.WriteString(", ")
		}
		in.WriteString("?")
		args = append(args, u.ID, arg(s.dialect, u.At))
	}
	for _, u := range uses {
		args = append(args, u.ID)
	}
	for _, u := range uses {
		args = append(args, u.ID, arg(s.dialect, u.NotAfter))
	}
	query := "UPDATE " + s.table("tokens") + " SET last_used_at = CASE id" + at.String() + " END WHERE id IN (" + in.String() +
		") AND (last_used_at IS NULL OR last_used_at <= CASE id" + notAfter.String() + " END)"
	return rebind(s.dialect, query), args
}
