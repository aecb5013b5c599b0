package memstore

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/go-apitoken/apitoken"
)

var _ apitoken.ChangeFeed = (*Store)(nil)

// errNoWatch: Sync has no WatchChanges to wait for.
var errNoWatch = errors.New("memstore: no WatchChanges running")

// feed numbers the store's changes and hands them to WatchChanges calls.
// Changes are kept until every watch has delivered them.
type feed struct {
	mu       sync.Mutex
	cond     sync.Cond
	base     uint64            // seq of log[0]
	log      []apitoken.Change // changes base, base+1, …
	watchers map[*watcher]bool
}

type watcher struct{ next uint64 } // seq of the next change to deliver

func (f *feed) init() {
	f.cond.L = &f.mu
	f.watchers = make(map[*watcher]bool)
}

// end returns the seq the next change will take. The caller holds f.mu.
func (f *feed) end() uint64 { return f.base + uint64(len(f.log)) }

// record notes a change of token id, which now has hashes. The caller holds
// the store's lock, so changes are numbered in the order they were made.
func (s *Store) record(id string, hashes ...apitoken.Hash) {
	f := &s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.watchers) == 0 {
		f.base++ // nobody to tell
		return
	}
	f.log = append(f.log, apitoken.Change{ID: id, Hashes: hashes})
	f.cond.Broadcast()
}

// hashes returns e's key hashes: current, and previous while it is valid.
func (e *entry) hashes() []apitoken.Hash {
	if e.prevUntil.IsZero() {
		return []apitoken.Hash{e.hash}
	}
	return []apitoken.Hash{e.hash, e.prev}
}

// WatchChanges implements apitoken.ChangeFeed: every change made through
// this Store, in the order it was made, until ctx ends.
func (s *Store) WatchChanges(ctx context.Context, changed func(apitoken.Change)) error {
	f := &s.feed
	f.mu.Lock()
	w := &watcher{next: f.end()}
	f.watchers[w] = true
	f.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	defer func() {
		f.mu.Lock()
		delete(f.watchers, w)
		f.trim()
		f.cond.Broadcast()
		f.mu.Unlock()
	}()

	changed(apitoken.Change{Reset: true})
	for {
		f.mu.Lock()
		for w.next == f.end() && ctx.Err() == nil {
			f.cond.Wait()
		}
		if err := ctx.Err(); err != nil {
			f.mu.Unlock()
			return err
		}
		batch := slices.Clone(f.log[w.next-f.base:])
		f.mu.Unlock()
		for _, c := range batch {
			changed(c)
		}
		f.mu.Lock()
		w.next += uint64(len(batch))
		f.trim()
		f.cond.Broadcast() // for Sync
		f.mu.Unlock()
	}
}

// trim drops the changes every watcher has delivered. The caller holds f.mu.
func (f *feed) trim() {
	low := f.end()
	for w := range f.watchers {
		low = min(low, w.next)
	}
	n := int(low - f.base)
	f.log = slices.Delete(f.log, 0, n)
	f.base = low
}

// Sync implements apitoken.ChangeFeed: it returns once every WatchChanges
// running has delivered the changes made before the call.
func (s *Store) Sync(ctx context.Context) error {
	f := &s.feed
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	target := f.end()
	for {
		if len(f.watchers) == 0 {
			return errNoWatch
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		done := true
		for w := range f.watchers {
			done = done && w.next >= target
		}
		if done {
			return nil
		}
		f.cond.Wait()
	}
}

// KeyHashes implements apitoken.ChangeFeed.
func (s *Store) KeyHashes(ctx context.Context, add func(apitoken.Hash)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	hashes := make([]apitoken.Hash, 0, len(s.byHash))
	for h := range s.byHash {
		hashes = append(hashes, h)
	}
	s.mu.RUnlock()
	for _, h := range hashes {
		add(h)
	}
	return nil
}
