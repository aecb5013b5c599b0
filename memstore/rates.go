package memstore

import (
	"context"
	"time"

	"github.com/go-apitoken/apitoken"
)

var _ apitoken.RateCounter = (*Store)(nil)

// TakeRate implements apitoken.RateCounter for the Services of one
// process, with an apitoken.MemoryRates of the store's. Counts are dropped
// once their window has ended by the start of a later take.
func (s *Store) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return s.rates.TakeRate(ctx, id, start, window, limit, n)
}
