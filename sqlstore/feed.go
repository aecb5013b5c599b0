package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken"
)

// DefaultPollInterval is how often WatchChanges reads the change log when
// Options.PollInterval is zero: what bounds the feed's latency without
// Options.Wake.
const DefaultPollInterval = 250 * time.Millisecond

// The bounds of Options.PollInterval: often enough to matter, seldom enough
// not to load the database.
const (
	minPollInterval = 10 * time.Millisecond
	maxPollInterval = time.Minute
)

// ErrNotWatching is returned by Sync when no WatchChanges is running on the
// Store.
var ErrNotWatching = errors.New("sqlstore: no WatchChanges is running")

// feedState is what a Store keeps for its change feed.
type feedState struct {
	q        feedQueries
	interval time.Duration
	wake     func(ctx context.Context, channel string) (<-chan struct{}, error)
	// gapTimeout is how long a missing seq is waited for; a variable so
	// that tests can shorten it.
	gapTimeout time.Duration
	// pollTimeout bounds one read of the log; a variable so that tests
	// can shorten it.
	pollTimeout time.Duration
	// now tells the time that gaps are timed by; tests replace it.
	now       func() time.Time
	lastPrune atomic.Int64 // this Store's last prune, in Unix nanoseconds

	mu      sync.Mutex
	watches map[*watch]struct{} // the running WatchChanges, for Sync
}

func (f *feedState) init(d Dialect, prefix string, interval time.Duration,
	wake func(context.Context, string) (<-chan struct{}, error)) {
	if interval == 0 {
		interval = DefaultPollInterval
	}
	f.q = buildFeedQueries(d, prefix)
	f.interval = min(max(interval, minPollInterval), maxPollInterval)
	f.wake = wake
	f.gapTimeout = gapTimeout
	f.pollTimeout = pollTimeout
	f.now = time.Now
	f.watches = make(map[*watch]struct{})
}

// running returns the running watches.
func (f *feedState) running() []*watch {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := make([]*watch, 0, len(f.watches))
	for w := range f.watches {
		ws = append(ws, w)
	}
	return ws
}

// watch is one running WatchChanges, as Sync sees it.
type watch struct {
	kick chan struct{} // poll now; buffered, so that kicks coalesce

	mu    sync.Mutex
	next  *round // what the next poll serves, nil while no Sync waits
	ended error  // why WatchChanges returned, once it has
}

// round is one poll that Sync calls wait for.
type round struct {
	done chan struct{} // closed when the poll's changes were delivered
	err  error         // why it failed, set before done is closed
}

func (r *round) finish(err error) {
	if r != nil {
		r.err = err
		close(r.done)
	}
}

// request returns the round of a poll that starts after request was called,
// and asks for it to start now. Calls before that poll starts share it.
func (w *watch) request() *round {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended != nil {
		r := &round{done: make(chan struct{})}
		r.finish(w.ended)
		return r
	}
	if w.next == nil {
		w.next = &round{done: make(chan struct{})}
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return w.next
}

// take returns the round that the poll starting now serves, or nil.
func (w *watch) take() *round {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.next
	w.next = nil
	return r
}

// end fails the waiting round and any later request with err.
func (w *watch) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		err = errors.New("watch ended")
	}
	w.ended = err
	w.next.finish(err)
	w.next = nil
}

// WatchChanges implements apitoken.ChangeFeed. Triggers record every change
// to a token (creation, update, new or moved key, deletion, a change of its
// permissions; not a use, which Touch records) in the <prefix>changes
// table, whoever makes it. WatchChanges reads that log every
// Options.PollInterval, and at once when Options.Wake or Sync asks, and
// passes changed each changed token with the key hashes it has now.
//
// A change written by a transaction that commits more than a few seconds
// after a later one was read is reported late, when it commits, if that is
// within an hour. A watch reports Reset instead when it stops looking for a
// number it never saw (most are transactions rolled back, but one may
// commit later still), and when more than 1,000 runs of numbers are
// missing at once.
// WatchChanges also prunes log entries older than an hour, at most once a
// minute; a watch that falls further behind than that reports Reset.
//
// It returns ctx.Err() when ctx ends, and the error when the database
// fails or a read of the log takes longer than 10 seconds (a hung
// connection is not taken for a quiet log); call it again to resume, with
// a Reset.
func (s *Store) WatchChanges(ctx context.Context, changed func(apitoken.Change)) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var woken <-chan struct{}
	if s.feed.wake != nil && s.dialect == Postgres {
		ch, err := s.feed.wake(ctx, s.table("changes"))
		if err != nil {
			return s.wrap(ctx, "watch changes: wake", err)
		}
		defer func() {
			cancel()
			for range ch {
			}
		}()
		woken = ch
	}
	log, err := s.startLog(ctx)
	if err != nil {
		return s.wrap(ctx, "watch changes", err)
	}
	w := &watch{kick: make(chan struct{}, 1)}
	s.feed.mu.Lock()
	s.feed.watches[w] = struct{}{}
	s.feed.mu.Unlock()
	s.replica.watching(s.feed.now())
	defer func() {
		s.replica.unwatched()
		s.feed.mu.Lock()
		delete(s.feed.watches, w)
		s.feed.mu.Unlock()
		w.end(err)
	}()
	s.checkReplica(ctx)

	changed(apitoken.Change{Reset: true})
	timer := time.NewTimer(s.feed.interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-w.kick:
		case _, ok := <-woken:
			if !ok { // Wake gave up: polling goes on
				woken = nil
				continue
			}
		}
		r := w.take()
		began := time.Now()
		poll := s.replica.pollStarted()
		err := s.readChanges(ctx, log, changed)
		switch {
		case err == nil:
			s.replica.polled(poll, s.feed.now())
			s.checkReplica(ctx)
		case ctx.Err() != nil:
			err = ctx.Err()
		default:
			err = s.wrap(ctx, "watch changes", err)
		}
		r.finish(err)
		if err != nil {
			return err
		}
		s.maybePrune(ctx)
		// From the start of this poll, so that a change waits at most
		// the interval and one poll.
		timer.Reset(max(s.feed.interval-time.Since(began), minPollInterval))
	}
}

// Sync implements apitoken.ChangeFeed: it has each running WatchChanges
// poll, in a poll that starts after Sync was called and that concurrent
// calls share, and returns once that poll's changes were passed to
// changed. It returns ErrNotWatching when no WatchChanges is running, and
// the watch's error when it ends first.
func (s *Store) Sync(ctx context.Context) error {
	ws := s.feed.running()
	if len(ws) == 0 {
		return ErrNotWatching
	}
	rounds := make([]*round, len(ws))
	for i, w := range ws {
		rounds[i] = w.request()
	}
	for _, r := range rounds {
		select {
		case <-r.done:
			if r.err != nil {
				return fmt.Errorf("sqlstore: sync: %w", r.err)
			}
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: sync: %w", ctx.Err())
		}
	}
	return nil
}

// KeyHashes implements apitoken.ChangeFeed: every token's key hash and
// previous key hash, in one query. A stored hash that is not 128 hex
// characters, which no key can match, is left out.
func (s *Store) KeyHashes(ctx context.Context, add func(apitoken.Hash)) error {
	rows, err := s.db.QueryContext(ctx, s.feed.q.keyHashes)
	if err != nil {
		return s.wrap(ctx, "key hashes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h hashPair
		if err := rows.Scan(&h.cur, &h.prev); err != nil {
			return s.wrap(ctx, "key hashes", err)
		}
		for _, k := range h.hashes() {
			add(k)
		}
	}
	return s.wrap(ctx, "key hashes", rows.Err())
}
