package cache

import (
	"context"

	"github.com/go-apitoken/apitoken"
)

// The cache forwards the optional capabilities the Service uses, so that
// putting it in front of a store takes nothing away (storetest.Forwards
// checks this). The store's apitoken.ChangeFeed is the cache's own to
// consume: a cache is the end of a feed, and does not claim one.
var _ apitoken.BatchToucher = (*Store)(nil)

// TouchMany implements apitoken.BatchToucher: it passes the batch to the
// store when the store has TouchMany, and touches each use in turn
// otherwise, as the Service would. It leaves the cache alone, as Touch does.
func (s *Store) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	if b, ok := s.store.(apitoken.BatchToucher); ok {
		return b.TouchMany(ctx, uses)
	}
	for _, u := range uses {
		if _, err := s.store.Touch(ctx, u.ID, u.At, u.NotAfter); err != nil {
			return err
		}
	}
	return nil
}
