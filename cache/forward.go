package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-apitoken/apitoken"
)

// The cache forwards the optional capabilities the Service uses, so that
// putting it in front of a store takes nothing away (storetest.Forwards
// checks this). The store's apitoken.ChangeFeed is the cache's own to
// consume: a cache is the end of a feed, and does not claim one.
var (
	_ apitoken.BatchToucher  = (*Store)(nil)
	_ apitoken.QuotaSpender  = (*Store)(nil)
	_ apitoken.NoticeClaimer = (*Store)(nil)
)

// TouchMany implements apitoken.BatchToucher with apitoken.TouchAll: the
// batch goes to the store's TouchMany when it has one, else a Touch a use,
// as the Service would do. It leaves the cache alone, as Touch does.
func (s *Store) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	return apitoken.TouchAll(ctx, s.store, uses)
}

// SpendQuota implements apitoken.QuotaSpender: it always asks the store,
// whose count is the one that instances share. It fails with
// errors.ErrUnsupported when the store cannot spend quotas.
func (s *Store) SpendQuota(ctx context.Context, id string, now, periodStart time.Time) (int64, error) {
	qs, ok := s.store.(apitoken.QuotaSpender)
	if !ok {
		return 0, fmt.Errorf("cache: %T cannot spend quotas: %w", s.store, errors.ErrUnsupported)
	}
	return qs.SpendQuota(ctx, id, now, periodStart)
}

// ClaimNotice implements apitoken.NoticeClaimer: it always asks the store,
// where instances share their claims. It fails with errors.ErrUnsupported
// when the store cannot claim notices.
func (s *Store) ClaimNotice(ctx context.Context, id string, expiresAt time.Time, kind apitoken.EventKind) (bool, error) {
	nc, ok := s.store.(apitoken.NoticeClaimer)
	if !ok {
		return false, fmt.Errorf("cache: %T cannot claim notices: %w", s.store, errors.ErrUnsupported)
	}
	return nc.ClaimNotice(ctx, id, expiresAt, kind)
}
