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
	clock    Clock
	log      *slog.Logger

	mu        sync.Mutex
	pending   map[string]time.Time // id: use time not yet written
	scheduled map[string]time.Time // id: use time last queued
	closed    bool

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

// flushTimeout bounds one background flush; batchWindow is how long uses
// gather before one.
const (
	flushTimeout = 10 * time.Second
	batchWindow  = 200 * time.Millisecond
	retryDelay   = 5 * time.Second
)

func newToucher(store Store, interval time.Duration, clock Clock, log *slog.Logger) *toucher {
	tc := &toucher{
		store:     store,
		interval:  interval,
		clock:     clock,
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
	if tc.interval < 0 { // recording is off
		return
	}
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
			// Let uses gather, so that a burst becomes one batch.
			select {
			case <-tc.clock.After(batchWindow):
			case <-tc.stop:
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			err := tc.flush(ctx)
			cancel()
			if err != nil {
				tc.log.Warn("apitoken: recording token use failed; will retry", "err", err, "retry_in", retryDelay)
				select {
				case <-tc.clock.After(retryDelay):
				case <-tc.stop:
					return
				}
				select {
				case tc.wake <- struct{}{}:
				default:
				}
			}
		case <-tc.stop:
			return
		}
	}
}

// flush writes every pending use. If writing fails, the whole batch stays
// pending for the next flush: a repeated conditional touch is harmless.
func (tc *toucher) flush(ctx context.Context) error {
	tc.mu.Lock()
	batch := tc.pending
	tc.pending = make(map[string]time.Time, len(batch))
	tc.mu.Unlock()

	var latest time.Time
	uses := make([]Use, 0, len(batch))
	for id, at := range batch {
		if at.After(latest) {
			latest = at
		}
		uses = append(uses, Use{ID: id, At: at.UTC(), NotAfter: at.UTC().Add(-tc.interval)})
	}
	err := tc.write(ctx, uses)
	if err != nil {
		tc.mu.Lock()
		for id, at := range batch {
			if _, ok := tc.pending[id]; !ok {
				tc.pending[id] = at
			}
		}
		tc.mu.Unlock()
	}

	tc.mu.Lock()
	for id, at := range tc.scheduled {
		if latest.Sub(at) >= tc.interval {
			delete(tc.scheduled, id)
		}
	}
	tc.mu.Unlock()
	return err
}

// write records uses, in one batch if the store can.
func (tc *toucher) write(ctx context.Context, uses []Use) error {
	if len(uses) == 0 {
		return nil
	}
	return TouchAll(ctx, tc.store, uses)
}

// TouchAll records uses in store: with one TouchMany when the store is a
// BatchToucher, else with a Touch for each use, going on past failures and
// returning them joined. It is what the Service's background writer does, for
// wrappers such as the cache that offer TouchMany over any store.
func TouchAll(ctx context.Context, store Store, uses []Use) error {
	if b, ok := store.(BatchToucher); ok {
		return b.TouchMany(ctx, uses)
	}
	var errs []error
	for _, u := range uses {
		if _, err := store.Touch(ctx, u.ID, u.At, u.NotAfter); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
