package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken"
)

var _ apitoken.RateCounter = (*Store)(nil)

// rates are the counts of TakeRate, under a lock of their own so that
// counting never waits for token writes.
type rates struct {
	mu     sync.Mutex
	counts map[rateKey]*rateCount
	sweep  int // takes until the next sweep of ended windows
}

// rateKey names one window of one token.
type rateKey struct {
	id    string
	start int64 // Unix nanoseconds
}

type rateCount struct {
	end   time.Time
	count int
}

// TakeRate implements apitoken.RateCounter for the Services of one
// process. Counts are dropped once their window has ended by the start of
// a later take.
func (s *Store) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	r := &s.rates
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = make(map[rateKey]*rateCount)
	}
	if r.sweep--; r.sweep <= 0 {
		for k, c := range r.counts {
			if !c.end.After(start) {
				delete(r.counts, k)
			}
		}
		r.sweep = max(1024, 2*len(r.counts))
	}
	k := rateKey{id, start.UnixNano()}
	c := r.counts[k]
	if c == nil {
		c = &rateCount{}
		r.counts[k] = c
	}
	if end := start.Add(window); end.After(c.end) {
		c.end = end
	}
	granted = max(min(n, limit-c.count), 0)
	c.count += granted
	return granted, c.count, nil
}
