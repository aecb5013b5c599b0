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
	qs, err := inner[apitoken.QuotaSpender](s, "spend quotas")
	if err != nil {
		return 0, err
	}
	return qs.SpendQuota(ctx, id, now, periodStart)
}

// ClaimNotice implements apitoken.NoticeClaimer: it always asks the store,
// where instances share their claims. It fails with errors.ErrUnsupported
// when the store cannot claim notices.
func (s *Store) ClaimNotice(ctx context.Context, id string, expiresAt time.Time, kind apitoken.EventKind) (bool, error) {
	nc, err := inner[apitoken.NoticeClaimer](s, "claim notices")
	if err != nil {
		return false, err
	}
	return nc.ClaimNotice(ctx, id, expiresAt, kind)
}

// inner returns the cached store as the capability T, which the cache
// forwards, or an error matching errors.ErrUnsupported saying it cannot do
// what.
func inner[T any](s *Store, what string) (T, error) {
	c, ok := s.store.(T)
	if !ok {
		return c, fmt.Errorf("cache: %T cannot %s: %w", s.store, what, errors.ErrUnsupported)
	}
	return c, nil
}
