package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-apitoken/apitoken"
)

var _ apitoken.RateCounter = (*Store)(nil)

// maxRateID bounds the token ids TakeRate counts, the width of the rates
// table's token_id.
const maxRateID = 128

// ratePruneEvery is how often, by the windows TakeRate is given, it deletes the
// counts of windows that ended more than ratePruneSlack before: often enough
// that the table holds about the tokens in use, rarely enough to cost
// nothing. The slack spares the windows of instances whose clocks lag.
const (
	ratePruneEvery = time.Minute
	ratePruneSlack = time.Minute
)

// TakeRate implements apitoken.RateCounter with one statement, an insert
// that on conflict adds to the window's count no more than its limit
// allows, atomic by itself on every engine: of concurrent takes on any
// number of instances the grants never sum past the limit. PostgreSQL and
// SQLite return the grant with RETURNING; MySQL, which lacks it, with
// LAST_INSERT_ID(expr), which the driver reads from the statement's own
// answer. About once a minute a take is followed by a DELETE of the counts
// of windows that ended (its failure is ignored: the next one deletes
// them).
func (s *Store) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	if id == "" || len(id) > maxRateID || !exactID(id) {
		return 0, 0, fmt.Errorf("sqlstore: take rate: token id %.20q… cannot be counted: it must be 1 to %d bytes, without trailing spaces", id, maxRateID)
	}
	if limit < 1 || n < 1 || window <= 0 {
		return 0, 0, fmt.Errorf("sqlstore: take rate: limit %d, n %d and window %v must be positive", limit, n, window)
	}
	d := s.dialect
	m := min(n, limit) // taking more than the limit takes the limit
	args := []any{id, arg(d, start), arg(d, start.Add(window)), m, m, limit, limit}
	err = s.retryBusy(ctx, func() error {
		if d != MySQL {
			return s.db.QueryRowContext(ctx, s.q.takeRate, args...).Scan(&granted, &count)
		}
		res, err := s.db.ExecContext(ctx, s.q.takeRate, args...)
		if err != nil {
			return err
		}
		// Not the affected rows, which clientFoundRows makes 1 for an
		// update that changed nothing: an insert sets no insert id (0),
		// and an update's packed value has a count of at least 1.
		packed, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if packed == 0 { // inserted: the window's first take
			granted, count = m, m
			return nil
		}
		granted, count = int(packed&(1<<32-1)), int(packed>>32)
		return nil
	})
	if err != nil {
		return 0, 0, s.wrap(ctx, "take rate", err)
	}
	s.pruneRates(ctx, start)
	return granted, count, nil
}

// pruneRates deletes the counts of windows that ended long before start, if
// it has not done so for ratePruneEvery.
func (s *Store) pruneRates(ctx context.Context, start time.Time) {
	next := s.ratesPruned.Load()
	if start.UnixMilli() < next {
		return
	}
	if !s.ratesPruned.CompareAndSwap(next, start.Add(ratePruneEvery).UnixMilli()) {
		return // another take prunes
	}
	_ = s.retryBusy(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.q.pruneRates, arg(s.dialect, start.Add(-ratePruneSlack)))
		return err
	})
}

// takeRate is TakeRate's statement. Its arguments: the id, the window's
// start and end, the requests asked (capped at the limit) twice, the limit
// twice. On a conflict the requests asked are the inserted row's used.
// MySQL assigns left to right, so granted is computed from the old used,
// and used from the new granted and its own old value; it packs both into
// LAST_INSERT_ID, used in the high 32 bits.
func takeRate(d Dialect, q func(string) string) string {
	insert := `INSERT INTO {{rates}} (token_id, window_start, window_end, used, granted) VALUES (?, ?, ?, ?, ?)`
	switch d {
	case MySQL:
		return q(insert + ` ON DUPLICATE KEY UPDATE
			granted = GREATEST(LEAST(used + VALUES(used), ?) - used, 0),
			used = LAST_INSERT_ID(GREATEST(LEAST(used + VALUES(used), ?), used) * 4294967296 + granted) DIV 4294967296,
			window_end = GREATEST(window_end, VALUES(window_end))`)
	case SQLite:
		return q(insert + ` ON CONFLICT (token_id, window_start) DO UPDATE SET
			granted = MAX(MIN({{rates}}.used + excluded.used, ?) - {{rates}}.used, 0),
			used = MAX(MIN({{rates}}.used + excluded.used, ?), {{rates}}.used),
			window_end = MAX({{rates}}.window_end, excluded.window_end)
			RETURNING granted, used`)
	}
	return q(insert + ` ON CONFLICT (token_id, window_start) DO UPDATE SET
		granted = GREATEST(LEAST({{rates}}.used + excluded.used, ?) - {{rates}}.used, 0),
		used = GREATEST(LEAST({{rates}}.used + excluded.used, ?), {{rates}}.used),
		window_end = GREATEST({{rates}}.window_end, excluded.window_end)
		RETURNING granted, used`)
}
