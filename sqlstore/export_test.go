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

// SetGapTimeout shortens how long a watch started after it waits for a
// missing seq.
func (s *Store) SetGapTimeout(d time.Duration) { s.feed.gapTimeout = d }
