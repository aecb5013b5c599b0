package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken"
)

// shard holds the entries of the hashes whose first byte maps to it. Each
// shard has its own lock, so that lookups of different hashes do not contend.
type shard struct {
	mu    sync.RWMutex
	pos   map[apitoken.Hash]posEntry
	neg   unknownSet
	ids   map[string][]apitoken.Hash // token id: hashes in pos, for invalidation
	calls map[apitoken.Hash]*call    // queries in flight

	maxPos  int
	evicted int // entries evicted from pos since it was last rebuilt
}

type posEntry struct {
	token   *apitoken.Token // shared, never modified
	expires time.Duration   // Store.elapsed
}

// call is one store query that concurrent misses of a hash wait for.
type call struct {
	epoch uint64 // the Store's epoch when the query started
	done  chan struct{}
	token *apitoken.Token
	err   error
}

func (sh *shard) init(maxPos, maxNeg int) {
	sh.pos = make(map[apitoken.Hash]posEntry)
	sh.neg = newUnknownSet(maxNeg)
	sh.ids = make(map[string][]apitoken.Hash)
	sh.calls = make(map[apitoken.Hash]*call)
	sh.maxPos = maxPos
}

// lookup returns the live entry of h: its token, or found false for an
// unknown hash. ok is false when there is no live entry.
func (sh *shard) lookup(h apitoken.Hash, now time.Duration) (t *apitoken.Token, found, ok bool) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.lookupLocked(h, now)
}

func (sh *shard) lookupLocked(h apitoken.Hash, now time.Duration) (t *apitoken.Token, found, ok bool) {
	if e, hit := sh.pos[h]; hit && now < e.expires {
		return e.token, true, true
	}
	if exp, hit := sh.neg.get(h); hit && now < exp {
		return nil, false, true
	}
	return nil, false, false
}

// answer turns a live entry into GetByHash's result.
func answer(t *apitoken.Token, found bool) (*apitoken.Token, error) {
	if !found {
		return nil, apitoken.ErrNotFound
	}
	return t, nil
}

// load asks the store for hash, sharing the query with concurrent misses of
// the same hash, and caches the answer unless the store failed or the cache
// was invalidated meanwhile.
func (s *Store) load(ctx context.Context, sh *shard, hash apitoken.Hash) (*apitoken.Token, error) {
	for {
		sh.mu.Lock()
		if t, found, ok := sh.lookupLocked(hash, s.elapsed()); ok {
			sh.mu.Unlock()
			return answer(t, found)
		}
		epoch := s.epoch.Load()
		c := sh.calls[hash]
		if c == nil || c.epoch != epoch {
			// None in flight, or one that started before an
			// invalidation and may return what it removed: start ours.
			c = &call{epoch: epoch, done: make(chan struct{})}
			sh.calls[hash] = c
			sh.mu.Unlock()
			s.query(ctx, sh, hash, c)
			return c.token, c.err
		}
		sh.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if isContextErr(c.err) && ctx.Err() == nil {
			continue // the leader gave up, not the store: ask again
		}
		return c.token, c.err
	}
}

// query runs c, caches its result and wakes its waiters. When the store
// fails, a found entry within Options.StaleIfError of its expiry answers
// instead.
func (s *Store) query(ctx context.Context, sh *shard, hash apitoken.Hash, c *call) {
	asked, mark := s.elapsed(), s.markFeed()
	defer close(c.done)
	defer func() {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if sh.calls[hash] == c {
			delete(sh.calls, hash)
		}
		now := s.elapsed()
		switch {
		case errors.Is(c.err, apitoken.ErrNotFound):
			// Whatever else happened meanwhile, an expired entry of
			// a key the store no longer knows must not be served
			// stale later: putUnknown drops it, and so does this
			// when no unknown entry may be made.
			if s.negTTL > 0 && s.epoch.Load() == c.epoch {
				sh.putUnknown(hash, now+s.negTTL)
			} else {
				sh.dropFound(hash)
			}
		case errors.Is(c.err, context.Canceled):
			// The caller gave up (a client went away), which says
			// nothing of the store: no stale answer, and waiters ask
			// again with their own contexts. A deadline, such as the
			// Service's LookupTimeout, does say the store is slow.
		case c.err != nil:
			// Invalidated entries are gone from pos, so they are
			// never served stale.
			if e, ok := sh.pos[hash]; ok && now < e.expires+s.stale {
				s.noteStale(now, c.err)
				c.token, c.err = e.token, nil
			}
		case s.epoch.Load() == c.epoch:
			// The TTL counts from when the store was asked, not from
			// its answer, which may have been slow. A random share of
			// it off each entry's life spreads the expiry of entries
			// filled together.
			ttl := s.entryTTL(mark)
			sh.putFound(hash, c.token, asked+ttl-rand.N(ttl/5+1))
		}
	}()
	c.err = errQueryPanicked // replaced unless the store panics
	c.token, c.err = s.store.GetByHash(ctx, hash)
}

// noteStale counts a stale answer, and warns at most once a second.
func (s *Store) noteStale(now time.Duration, err error) {
	n := s.staleServed.Add(1)
	last := s.staleLogged.Load()
	if now < time.Duration(last)+time.Second {
		return
	}
	if s.staleLogged.CompareAndSwap(last, int64(now)) {
		s.log.Warn("cache: store failing; serving tokens past their TTL", "stale_served", n, "err", err)
	}
}

var errQueryPanicked = errors.New("cache: store GetByHash panicked")

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// putFound caches t under h until exp. The caller holds sh.mu.
func (sh *shard) putFound(h apitoken.Hash, t *apitoken.Token, exp time.Duration) {
	sh.dropFound(h)
	if len(sh.pos) >= sh.maxPos {
		for k := range sh.pos { // map order is random: random eviction
			sh.dropFound(k)
			break
		}
		if sh.evicted++; sh.evicted >= sh.maxPos {
			sh.rebuild()
		}
	}
	sh.neg.delete(h)
	sh.pos[h] = posEntry{token: t, expires: exp}
	sh.ids[t.ID] = append(sh.ids[t.ID], h)
}

// putUnknown caches h as unknown until exp. The caller holds sh.mu.
func (sh *shard) putUnknown(h apitoken.Hash, exp time.Duration) {
	sh.dropFound(h)
	sh.neg.put(h, exp)
}

// dropFound removes the found entry of h, if any, from pos and from the
// index of its token's hashes. The caller holds sh.mu.
func (sh *shard) dropFound(h apitoken.Hash) {
	old, ok := sh.pos[h]
	if !ok {
		return
	}
	delete(sh.pos, h)
	id := old.token.ID
	hs := slices.DeleteFunc(sh.ids[id], func(x apitoken.Hash) bool { return x == h })
	if len(hs) == 0 {
		delete(sh.ids, id)
	} else {
		sh.ids[id] = hs
	}
}

// rebuild copies pos and ids into new maps. A Go map that keeps losing one
// entry and gaining another grows (see unknown.go), so once as many
// entries were evicted as pos holds, the maps are made anew: their memory
// stays bounded, at the cost of one copy per maxPos inserts. The caller
// holds sh.mu.
func (sh *shard) rebuild() {
	pos := make(map[apitoken.Hash]posEntry, len(sh.pos))
	for h, e := range sh.pos {
		pos[h] = e
	}
	ids := make(map[string][]apitoken.Hash, len(sh.ids))
	for id, hs := range sh.ids {
		ids[id] = hs
	}
	sh.pos, sh.ids, sh.evicted = pos, ids, 0
}

// dropID removes the token with id under all its hashes.
func (sh *shard) dropID(id string) {
	sh.mu.Lock()
	for _, h := range sh.ids[id] {
		delete(sh.pos, h)
	}
	delete(sh.ids, id)
	sh.mu.Unlock()
}

// dropHash removes any entry for h, found or unknown.
func (sh *shard) dropHash(h apitoken.Hash) {
	sh.mu.Lock()
	sh.dropFound(h)
	sh.neg.delete(h)
	sh.mu.Unlock()
}

// clear drops every entry.
func (sh *shard) clear() {
	sh.mu.Lock()
	clear(sh.pos)
	clear(sh.ids)
	sh.neg.clear()
	sh.mu.Unlock()
}

// shorten makes every found entry expire by limit at the latest.
func (sh *shard) shorten(limit time.Duration) {
	sh.mu.Lock()
	for h, e := range sh.pos {
		if e.expires > limit {
			e.expires = limit
			sh.pos[h] = e
		}
	}
	sh.mu.Unlock()
}

func (sh *shard) len() (found, unknown int) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.pos), sh.neg.len()
}
