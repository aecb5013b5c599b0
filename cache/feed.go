package cache

import (
	"context"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken"
)

// DefaultFeedTTL is Options.FeedTTL's default: with a change feed, the TTL is
// only a safety net.
const DefaultFeedTTL = time.Minute

// feedRetry bounds the wait before a lost change feed is watched again.
const feedRetry = 5 * time.Second

// filterReadTimeout bounds one read of the known keys, so that a
// connection that stopped answering does not keep the filter away for good.
const filterReadTimeout = 2 * time.Minute

// FeedStats says how the store's change feed fares, for a host's metrics.
type FeedStats struct {
	// Running is true while the feed reports changes: found tokens are
	// then kept for FeedTTL, and unknown keys may be refused by the filter.
	Running bool
	// Lost counts the times the feed was lost. While it is, entries live
	// for TTL at most, and the cache watches it again by itself.
	Lost uint64
	// Filtered counts lookups refused by the filter of known keys,
	// without a store query.
	Filtered uint64
	// FilterKeys and FilterBytes are the keys the filter was built for
	// and its memory; zero while there is none.
	FilterKeys, FilterBytes int
}

// feedState is the cache's side of a store's apitoken.ChangeFeed.
type feedState struct {
	feed   apitoken.ChangeFeed
	ttl    time.Duration // Options.FeedTTL
	filter bool          // keep a filter of known keys
	after  func(time.Duration) <-chan time.Time
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex // guards gen, building and pending
	// gen counts the times the filter was dropped (the feed was lost, or
	// reported a Reset): a filter whose read of the known keys began
	// before may lack keys made since, and is not put in service.
	gen        uint64
	building   bool
	pending    []filterKey        // reported since the build's read began
	cancelRead context.CancelFunc // ends the build's read
	builds     sync.WaitGroup     // the filter's build, for Close
}

// FeedStats returns the state of the change feed; zero when the store has
// none.
func (s *Store) FeedStats() FeedStats {
	st := FeedStats{Running: s.feedUp.Load(), Lost: s.feedLost.Load(), Filtered: s.filtered.Load()}
	if f := s.known.Load(); f != nil {
		st.FilterKeys, st.FilterBytes = f.keys, f.bytes()
	}
	return st
}

// Close stops watching the store's change feed. It does not close the
// store, and the cache may still be used: as without a feed, entries then
// live for TTL at most and no filter refuses keys. A cache without a feed
// needs no Close.
func (s *Store) Close() error {
	if s.feed != nil {
		s.feed.cancel()
		<-s.feed.done
		s.feed.builds.Wait()
		if s.feedUp.Swap(false) {
			s.dropFilter()
			s.shorten()
		}
	}
	return nil
}

// watch runs the feed until Close, watching it again whenever it is lost.
func (s *Store) watch() {
	ctx := s.feed.ctx
	defer close(s.feed.done)
	wait := 100 * time.Millisecond
	for {
		err := s.feed.feed.WatchChanges(ctx, s.changed)
		if ctx.Err() != nil {
			return
		}
		if s.feedUp.Swap(false) {
			wait = 100 * time.Millisecond
		}
		s.dropFilter() // it would not learn of new keys
		s.shorten()
		n := s.feedLost.Add(1)
		s.log.Warn("cache: change feed lost; tokens are kept for TTL until it is back", "err", err, "ttl", s.ttl, "lost", n, "retry_in", wait)
		select {
		case <-s.feed.after(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, feedRetry)
	}
}

// changed applies one change the feed reported.
func (s *Store) changed(c apitoken.Change) {
	if c.Reset {
		// Entries made while the feed was not running live for TTL at
		// most, as without a feed; a Reset while it runs says changes
		// were missed, so they all go.
		if s.feedUp.Swap(true) {
			s.reset()
		} else if s.feedLost.Load() > 0 {
			s.log.Info("cache: change feed is back; changes made anywhere apply at once", "feed_ttl", s.feed.ttl)
		}
		// Keys made by the changes missed are in no filter.
		s.dropFilter()
		s.buildFilter()
		return
	}
	s.invalidate(c.ID, c.Hashes...)
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	f := s.known.Load()
	for i := range c.Hashes {
		k := keyOf(&c.Hashes[i])
		if s.feed.building {
			s.feed.pending = append(s.feed.pending, k)
		}
		if f != nil {
			f.add(k)
		}
	}
	if f != nil {
		if f.full() {
			s.buildFilterLocked()
		}
	}
}

// feedMark is the state of the feed when a query was asked: a token read
// then is kept for FeedTTL only if the feed ran then and has neither been
// lost nor reset since, so that a change it never reported (made while it
// was down) is seen within TTL.
type feedMark struct {
	up  bool
	gen uint64
}

func (s *Store) markFeed() feedMark {
	return feedMark{s.feedUp.Load(), s.feedGen.Load()}
}

// entryTTL is how long a token read under m is kept.
func (s *Store) entryTTL(m feedMark) time.Duration {
	if m.up && s.feedUp.Load() && m.gen == s.feedGen.Load() {
		return s.feed.ttl
	}
	return s.ttl
}

// reset drops every entry: anything may have changed.
func (s *Store) reset() {
	s.epoch.Add(1)
	for i := range s.shards {
		s.shards[i].clear()
	}
}

// shorten makes every entry expire within TTL, as if the feed had never run.
func (s *Store) shorten() {
	limit := s.elapsed() + s.ttl
	for i := range s.shards {
		s.shards[i].shorten(limit)
	}
}

// dropFilter takes the filter out of service, and makes any build in
// progress read the known keys again, cutting its read short.
func (s *Store) dropFilter() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.feed.gen++
	s.feedGen.Add(1)
	s.known.Store(nil)
	if s.feed.cancelRead != nil {
		s.feed.cancelRead()
	}
}

// dropped reports whether the filter was dropped since gen.
func (s *Store) dropped(gen uint64) bool {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return gen != s.feed.gen
}

// buildFilter builds a new filter of known keys in the background, unless
// one is being built; the current one (if any) serves meanwhile.
func (s *Store) buildFilter() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.buildFilterLocked()
}

func (s *Store) buildFilterLocked() {
	if !s.feed.filter || s.feed.building {
		return
	}
	s.feed.building = true
	s.feed.builds.Go(s.fillFilter)
}

// fillFilter reads every key hash into a new filter, adds those the feed
// reported meanwhile, and puts it in service. If the filter was dropped
// meanwhile, it reads them again while the feed runs; if the read fails, it
// tries again later, waiting longer each time.
func (s *Store) fillFilter() {
	wait := 100 * time.Millisecond
	for {
		// What the feed reported before this read began is in it: a
		// change is reported once committed.
		s.feed.mu.Lock()
		gen := s.feed.gen
		s.feed.pending = nil
		ctx, cancel := context.WithTimeout(s.feed.ctx, filterReadTimeout)
		s.feed.cancelRead = cancel
		s.feed.mu.Unlock()
		f, err := s.readFilter(ctx)
		cancel()
		if s.filled(gen, f, err) {
			return
		}
		if err != nil && !s.dropped(gen) {
			s.log.Warn("cache: reading the known keys failed; unknown keys reach the store", "err", err, "retry_in", wait)
			select {
			case <-s.feed.after(wait):
			case <-s.feed.ctx.Done():
				s.filled(gen, nil, s.feed.ctx.Err())
				return
			}
			wait = min(2*wait, feedRetry)
		}
	}
}

// readFilter returns a filter of every key hash the store has.
func (s *Store) readFilter(ctx context.Context) (*filter, error) {
	var keys []filterKey // 16 bytes a key while the filter is sized
	if err := s.feed.feed.KeyHashes(ctx, func(h apitoken.Hash) { keys = append(keys, keyOf(&h)) }); err != nil {
		return nil, err
	}
	f := newFilter(len(keys))
	for _, k := range keys {
		f.add(k)
	}
	return f, nil
}

// filled ends a build that read f, and reports whether it is over: f is in
// service, or there is no feed for a filter. A build that read before the
// filter was dropped, or that failed, goes on while the feed runs.
func (s *Store) filled(gen uint64, f *filter, err error) bool {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if s.feed.ctx.Err() != nil || !s.feedUp.Load() {
		// The next Reset builds again.
		s.feed.building, s.feed.pending = false, nil
		return true
	}
	if err != nil || gen != s.feed.gen {
		return false
	}
	for _, k := range s.feed.pending {
		f.add(k)
	}
	s.known.Store(f)
	s.feed.building, s.feed.pending = false, nil
	return true
}

// refused reports whether the filter tells that hash is no stored key's: it
// is not in the filter, even after the feed caught up with changes made
// before now (so that a key created on another instance a moment ago is
// not refused). When the filter cannot tell, the store is asked.
func (s *Store) refused(ctx context.Context, hash *apitoken.Hash) bool {
	k := keyOf(hash)
	f := s.known.Load()
	if f == nil || f.mayContain(k) {
		return false
	}
	if s.feed.feed.Sync(ctx) != nil {
		return false
	}
	if f = s.known.Load(); f == nil || f.mayContain(k) {
		return false
	}
	s.filtered.Add(1)
	return true
}

// refusal remembers a hash the filter refused as unknown, as a store's
// answer would be, so that its repeats cost no Sync; unless the cache was
// invalidated since epoch, before the refusal, by a change that may have
// made the key.
func (s *Store) refusal(sh *shard, hash apitoken.Hash, epoch uint64) {
	if s.negTTL <= 0 {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.epoch.Load() == epoch {
		sh.putUnknown(hash, s.elapsed()+s.negTTL)
	}
}
