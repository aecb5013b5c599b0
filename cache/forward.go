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

// TouchMany implements apitoken.BatchToucher with apitoken.TouchAll: the
// batch goes to the store's TouchMany when it has one, else a Touch a use,
// as the Service would do. It leaves the cache alone, as Touch does.
func (s *Store) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	return apitoken.TouchAll(ctx, s.store, uses)
}
