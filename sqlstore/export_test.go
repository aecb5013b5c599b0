package sqlstore

import (
	"context"
	"time"
)

// GetByHashQuery exposes the hot-path query to the external tests, which
// check its plan.
func (s *Store) GetByHashQuery() string { return s.q.getByHash }

// PruneChanges exposes pruning to the tests, which cannot wait an hour.
func (s *Store) PruneChanges(ctx context.Context, age time.Duration) error {
	return s.pruneChanges(ctx, age)
}

// SetFeedClock replaces the clock that times a watch's wait for a missing
// seq; call it before WatchChanges.
func (s *Store) SetFeedClock(now func() time.Time) { s.feed.now = now }

// GapTimeout is how long a watch waits for a missing seq.
const GapTimeout = gapTimeout

// SetPollTimeout replaces the bound on one read of the change log; call it
// before WatchChanges.
func (s *Store) SetPollTimeout(d time.Duration) { s.feed.pollTimeout = d }

// MigrateTo applies the migrations up to version last only, making the
// schema of an older release for the upgrade tests.
func (s *Store) MigrateTo(ctx context.Context, last int) error { return s.migrateTo(ctx, last) }

// TimeArg exposes how the store writes a time, for the tests that write
// rows by SQL as an older release did.
func TimeArg(d Dialect, t time.Time) any { return arg(d, t) }
