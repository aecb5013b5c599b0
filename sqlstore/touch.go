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

// TouchMany implements apitoken.BatchToucher: every use in one transaction,
// through one prepared statement. That is a round trip per use but a single
// commit, which is what costs on SQLite (one fsync) and keeps the batch to
// one connection elsewhere. Unknown ids are not an error.
func (s *Store) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	if len(uses) == 0 {
		return nil
	}
	// In id order, so that two instances touching overlapping batches
	// lock rows in one order and cannot deadlock. Sorted once, outside
	// the transaction that inTx may run again on SQLite.
	sorted := slices.SortedFunc(slices.Values(uses), func(a, b apitoken.Use) int { return strings.Compare(a.ID, b.ID) })
	return s.inTx(ctx, "touch many", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q.touch)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range sorted {
			if _, err := stmt.ExecContext(ctx, arg(s.dialect, u.At), u.ID, arg(s.dialect, u.NotAfter)); err != nil {
				return err
			}
		}
		return nil
	})
}
