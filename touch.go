package apitoken

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// toucher records token use off the request path. A use is queued only when
// the token's LastUsedAt is stale and no write for it was queued within the
// interval, so a busy token costs one store write per interval however many
// instances or requests use it.
type toucher struct {
	store    Store
	interval time.Duration
	log      *slog.Logger

	mu        sync.Mutex
	pending   map[string]time.Time // id: use time not yet written
	scheduled map[string]time.Time // id: use time last queued
	closed    bool

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

// flushTimeout bounds one background flush.
const flushTimeout = 10 * time.Second

func newToucher(store Store, interval time.Duration, log *slog.Logger) *toucher {
	tc := &toucher{
		store:     store,
		interval:  interval,
		log:       log,
		pending:   make(map[string]time.Time),
		scheduled: make(map[string]time.Time),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	go tc.run()
	return tc
}

// note queues a write of t's use at now if it is due. It never blocks on the
// store.
func (tc *toucher) note(t *Token, now time.Time) {
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < tc.interval {
		return
	}
	tc.mu.Lock()
	if last, ok := tc.scheduled[t.ID]; (ok && now.Sub(last) < tc.interval) || tc.closed {
		tc.mu.Unlock()
		return
	}
	tc.scheduled[t.ID] = now
	tc.pending[t.ID] = now
	tc.mu.Unlock()
	select {
	case tc.wake <- struct{}{}:
	default:
	}
}

func (tc *toucher) run() {
	defer close(tc.stopped)
	for {
		select {
		case <-tc.wake:
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			if err := tc.flush(ctx); err != nil {
				tc.log.Warn("apitoken: recording token use failed; will retry", "err", err)
			}
			cancel()
		case <-tc.stop:
			return
		}
	}
}

// flush writes every pending use. Uses that fail stay pending for the next
// flush.
func (tc *toucher) flush(ctx context.Context) error {
	tc.mu.Lock()
	batch := tc.pending
	tc.pending = make(map[string]time.Time, len(batch))
	tc.mu.Unlock()

	var errs []error
	var latest time.Time
	for id, at := range batch {
		if at.After(latest) {
			latest = at
		}
		if _, err := tc.store.Touch(ctx, id, at.UTC(), at.UTC().Add(-tc.interval)); err != nil {
			errs = append(errs, err)
			tc.mu.Lock()
			if _, ok := tc.pending[id]; !ok {
				tc.pending[id] = at
			}
			tc.mu.Unlock()
		}
	}

	tc.mu.Lock()
	for id, at := range tc.scheduled {
		if latest.Sub(at) >= tc.interval {
			delete(tc.scheduled, id)
		}
	}
	tc.mu.Unlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

func (tc *toucher) close(ctx context.Context) error {
	tc.mu.Lock()
	already := tc.closed
	tc.closed = true
	tc.mu.Unlock()
	if !already {
		close(tc.stop)
	}
	select {
	case <-tc.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	return tc.flush(ctx)
}
