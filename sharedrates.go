package apitoken

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RateCounter counts the requests of rate-limited tokens for every Service
// given it as Config.SharedRates, so that instances enforce a token's
// Policy.RateLimit together. memstore.Store and sqlstore.Store are
// RateCounters, and the redisrate module keeps the counts in Redis.
//
// Windows are aligned to the clock (a window starts at a multiple of its
// length since the zero time), so that instances agree on them without
// talking; instances whose clocks differ disagree about the edges by as
// much.
type RateCounter interface {
	// TakeRate takes up to n requests from the count of the token id's
	// window that starts at start and lasts window, of which at most
	// limit may be taken: it adds min(n, limit-count), but never less
	// than zero, to the count, and returns what it added and the count
	// after. The check and the addition are one atomic step: of
	// concurrent calls on any number of instances, the grants never sum
	// past limit. The counts of windows that have ended may be dropped.
	TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error)
}

// sharedRates counts rate-limited requests through a RateCounter, a batch
// at a time: each Service leases some of a token's window from the shared
// count and serves requests from the lease, asking again, one round trip,
// only when it is used up. A lease's unused requests are lost to the other
// instances until the window ends, so batches shrink as the window fills:
// at most an eighth of what was left when the lease was taken, and at most
// a tenth of the limit (plus one).
type sharedRates struct {
	counter RateCounter
	now     func() time.Time
	bounded func(context.Context) (context.Context, context.CancelFunc)

	mu     sync.Mutex
	leases map[string]*lease
	sweep  int // takes until the next sweep of ended leases
}

// lease is what a Service holds of a token's current window.
type lease struct {
	// turn is held (a value in it) by the request reading or changing
	// the lease, which may be one waiting for the RateCounter: the
	// others wait, or give up with their context.
	turn chan struct{}

	limit RateLimit
	start time.Time
	left  int  // requests leased, not yet served
	count int  // the shared count after the last take
	full  bool // the last take found the window full
}

// take counts a request of token id under rl, and reports the requests
// left in the window (by what this Service knows) and when it ends; ok is
// false when the window is full. err is ErrUnavailable when the counter
// fails or ctx ends first: rate-limited tokens then get nothing, rather
// than no limit.
func (sr *sharedRates) take(ctx context.Context, id string, rl RateLimit) (remaining int, reset time.Duration, ok bool, err error) {
	l := sr.lease(id)
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, 0, false, fmt.Errorf("%w: waiting for the shared rate count: %w", ErrUnavailable, ctx.Err())
	}
	defer func() { <-l.turn }()
	// The time is read with the turn held, so that the requests of a
	// token move through windows in order.
	now := sr.now()
	window := time.Duration(rl.Window)
	start := now.Truncate(window)
	reset = start.Add(window).Sub(now)
	if l.limit != rl || !l.start.Equal(start) {
		// Field by field: turn is read by others without the turn.
		l.limit, l.start, l.left, l.count, l.full = rl, start, 0, 0, false
	}
	if l.left == 0 && !l.full {
		n := batch(rl.Requests, l.count)
		bctx, cancel := sr.bounded(ctx)
		granted, count, err := sr.counter.TakeRate(bctx, id, start, window, rl.Requests, n)
		cancel()
		switch {
		case err != nil:
			return 0, reset, false, fmt.Errorf("%w: %w", ErrUnavailable, err)
		case granted < 0 || granted > n || count < granted:
			return 0, reset, false, fmt.Errorf("%w: the rate counter granted %d of %d, counting %d", ErrUnavailable, granted, n, count)
		}
		l.left, l.count, l.full = granted, count, granted < n || count >= rl.Requests
	}
	if l.left == 0 {
		return 0, reset, false, nil
	}
	l.left--
	return max(rl.Requests-l.count, 0) + l.left, reset, true, nil
}

// batch returns how many requests to lease of a window of limit whose
// shared count was count at the last take.
func batch(limit, count int) int {
	return max(min(limit/10+1, (limit-count)/8), 1)
}

// lease returns the lease of token id, made if new, now and then dropping
// those of ended windows so that memory follows the tokens in use.
func (sr *sharedRates) lease(id string) *lease {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.leases == nil {
		sr.leases = make(map[string]*lease)
	}
	if sr.sweep--; sr.sweep <= 0 {
		sr.dropEnded(sr.now())
		sr.sweep = max(1024, 2*len(sr.leases))
	}
	l := sr.leases[id]
	if l == nil {
		l = &lease{turn: make(chan struct{}, 1)}
		sr.leases[id] = l
	}
	return l
}

// dropEnded forgets the leases of windows that have ended, skipping those
// in use.
func (sr *sharedRates) dropEnded(now time.Time) {
	for id, l := range sr.leases {
		select {
		case l.turn <- struct{}{}:
			if !now.Before(l.start.Add(time.Duration(l.limit.Window))) {
				delete(sr.leases, id)
			}
			<-l.turn
		default:
		}
	}
}
