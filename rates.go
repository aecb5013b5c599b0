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
// RateCounters, and the redisrate module keeps the counts in Redis. A
// Service without one counts in memory, alone, through a RateCounter of
// its own, in the same windows.
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

// tokenRates counts rate-limited requests through a RateCounter, a batch
// at a time: the Service leases some of a token's window from the count
// and serves requests from the lease, asking again, one round trip to a
// shared counter, only when it is used up. A lease's unused requests are
// lost to the other instances until the window ends, so batches shrink as
// the window fills: at most an eighth of what was left when the lease was
// taken, and at most a tenth of the limit (plus one). Without
// Config.SharedRates the counter is a MemoryRates of its own, and the
// Service alone spends its count, the same way.
type tokenRates struct {
	counter RateCounter
	now     func() time.Time
	// bounded limits a take of the counter; nil for one that never
	// waits.
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
	count int  // the counter's count after the last take
	full  bool // the last take found the window full
}

// take counts a request of token id under rl, and reports the requests
// left in the window (by what this Service knows) and when it ends; ok is
// false when the window is full. err is ErrUnavailable when the counter
// fails or ctx ends first: rate-limited tokens then get nothing, rather
// than no limit.
func (tr *tokenRates) take(ctx context.Context, id string, rl RateLimit) (remaining int, reset time.Duration, ok bool, err error) {
	l := tr.lease(id)
	select {
	case l.turn <- struct{}{}:
	default: // another request of the token holds it: wait, unless ctx ends
		select {
		case l.turn <- struct{}{}:
		case <-ctx.Done():
			return 0, 0, false, fmt.Errorf("%w: waiting for the rate count: %w", ErrUnavailable, ctx.Err())
		}
	}
	defer func() { <-l.turn }()
	// The time is read with the turn held, so that the requests of a
	// token move through windows in order.
	now := tr.now()
	window := time.Duration(rl.Window)
	start := now.Truncate(window)
	reset = start.Add(window).Sub(now)
	if l.limit != rl || !l.start.Equal(start) {
		// Field by field: turn is read by others without the turn.
		l.limit, l.start, l.left, l.count, l.full = rl, start, 0, 0, false
	}
	if l.left == 0 && !l.full {
		n := batch(rl.Requests, l.count)
		granted, count, err := tr.takeRate(ctx, id, start, window, rl.Requests, n)
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

// takeRate is the counter's TakeRate, within LookupTimeout for a counter
// that may wait.
func (tr *tokenRates) takeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	if tr.bounded == nil {
		return tr.counter.TakeRate(ctx, id, start, window, limit, n)
	}
	ctx, cancel := tr.bounded(ctx)
	defer cancel()
	return tr.counter.TakeRate(ctx, id, start, window, limit, n)
}

// batch returns how many requests to lease of a window of limit whose
// count was count at the last take.
func batch(limit, count int) int {
	return max(min(limit/10+1, (limit-count)/8), 1)
}

// lease returns the lease of token id, made if new, now and then dropping
// those of ended windows so that memory follows the tokens in use.
func (tr *tokenRates) lease(id string) *lease {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.leases == nil {
		tr.leases = make(map[string]*lease)
	}
	if tr.sweep--; tr.sweep <= 0 {
		tr.dropEnded(tr.now())
		tr.sweep = max(1024, 2*len(tr.leases))
	}
	l := tr.leases[id]
	if l == nil {
		l = &lease{turn: make(chan struct{}, 1)}
		tr.leases[id] = l
	}
	return l
}

// dropEnded forgets the leases of windows that have ended, skipping those
// in use.
func (tr *tokenRates) dropEnded(now time.Time) {
	for id, l := range tr.leases {
		select {
		case l.turn <- struct{}{}:
			if !now.Before(l.start.Add(time.Duration(l.limit.Window))) {
				delete(tr.leases, id)
			}
			<-l.turn
		default:
		}
	}
}

// MemoryRates is a RateCounter in memory, for the Services of one process:
// that of a Service without Config.SharedRates, and memstore's. It never
// waits and never fails. The zero value is ready for use.
type MemoryRates struct {
	mu     sync.Mutex
	counts map[windowKey]windowCount
	sweep  int // takes until the next sweep of ended windows
}

// windowKey names one window of one token.
type windowKey struct {
	id    string
	start int64 // Unix nanoseconds
}

type windowCount struct {
	end   int64 // Unix nanoseconds
	count int
}

// TakeRate implements RateCounter. Counts are dropped once their window
// has ended by the start of a later take, so that memory follows the
// tokens in use, not every token ever used.
func (lr *MemoryRates) TakeRate(_ context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	at := start.UnixNano()
	if lr.counts == nil {
		lr.counts = make(map[windowKey]windowCount)
	}
	if lr.sweep--; lr.sweep <= 0 {
		for k, c := range lr.counts {
			if c.end <= at {
				delete(lr.counts, k)
			}
		}
		lr.sweep = max(1024, 2*len(lr.counts))
	}
	k := windowKey{id, at}
	c := lr.counts[k]
	c.end = max(c.end, start.Add(window).UnixNano())
	granted = max(min(n, limit-c.count), 0)
	c.count += granted
	lr.counts[k] = c
	return granted, c.count, nil
}
