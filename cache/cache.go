// Package cache puts a verification cache in front of any apitoken.Store, so
// that a slow store (a SQL database) costs about as little as memstore on the
// request path.
//
// The cache remembers what GetByHash returned: found tokens for Options.TTL,
// unknown hashes for Options.NegativeTTL, so that a flood of garbage keys does
// not reach the database. Concurrent misses of one hash make one store query.
// Store errors other than apitoken.ErrNotFound are never cached; with
// Options.StaleIfError, a token whose entry expired shortly before is served
// while the store fails.
//
// Changes made through a cache (Create, Update, SetKey, Delete) invalidate its
// entries at once. Changes made elsewhere, such as by another server instance
// on the same database, arrive through the store's change feed when it has
// one (apitoken.ChangeFeed; sqlstore and memstore have one), within the feed's latency, and
// a filter of known keys refuses made-up keys without a query. Without a
// feed, or while it is lost, they are seen once the entries expire:
// Options.TTL is then the staleness bound across instances.
package cache

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken"
)

// Defaults of Options.
const (
	// DefaultTTL is Options.TTL's default: how long another instance may
	// keep accepting a revoked key that no change feed reported.
	DefaultTTL         = 5 * time.Second
	DefaultNegativeTTL = time.Second
	DefaultMaxEntries  = 100_000
	DefaultMaxNegative = 10_000
)

// Options configure a Store.
type Options struct {
	// TTL is how long a found token is served from the cache without asking
	// the store: the bound on how stale a token may be when another
	// instance changed it. Default DefaultTTL (5s); negative disables
	// caching, so that every call goes to the store. Each entry lives a
	// random time between 0.8 TTL and TTL, so that entries filled together
	// (at a start, or when the store comes back) are not all asked again
	// at the same moment.
	TTL time.Duration

	// NegativeTTL is how long an unknown hash is remembered as unknown.
	// Default DefaultNegativeTTL (1s); negative disables negative entries.
	// Keep it short: a token created on another instance is refused here
	// for up to NegativeTTL if its key was tried just before.
	NegativeTTL time.Duration

	// MaxEntries bounds the found tokens kept. Default (zero or negative)
	// DefaultMaxEntries (100,000). When full, a random entry makes room.
	MaxEntries int

	// MaxNegative bounds the unknown hashes kept. Default (zero or
	// negative) DefaultMaxNegative (10,000). They are kept in two generations of
	// half as many: when the newer is full, the older is forgotten, so
	// between half and all of MaxNegative are held and their memory stays
	// fixed however many distinct unknown keys arrive.
	MaxNegative int

	// Clock times the entries, as Config.Clock does the Service's. Default:
	// the system's monotonic clock.
	Clock apitoken.Clock

	// StaleIfError is how long past its TTL a found token may still be
	// served while the store fails (any error but apitoken.ErrNotFound
	// and a cancelled context, which says the caller gave up, not that
	// the store is down),
	// so that an outage shorter than it costs no 503s for keys seen
	// recently. The default (zero or negative) serves nothing stale; it is capped at
	// MaxStaleIfError. An unknown key is never served as found, and a
	// change made through this cache still applies at once; but a token
	// revoked through another instance may be accepted here for up to
	// TTL + StaleIfError while the store is down.
	StaleIfError time.Duration

	// FeedTTL replaces TTL while the store's change feed runs: when the
	// store is an apitoken.ChangeFeed (sqlstore and memstore are), the cache watches it
	// and drops each token as it changes, whoever changed it, so that TTL
	// is only a safety net. If the feed is lost, entries live for TTL at
	// most until it is back (FeedStats counts it, and a warning says so).
	// Default DefaultFeedTTL (1 minute); negative ignores the feed. A cache
	// that watches a feed must be closed (Close).
	FeedTTL time.Duration

	// NoFilter turns off the filter of known keys. While the feed runs,
	// the cache keeps a Bloom filter of every stored key hash (2 bytes a
	// key), built at start and kept current by the feed, and refuses a
	// key that is not in it without a store query, once the feed has
	// caught up with changes made before the lookup (apitoken.ChangeFeed's
	// Sync): a flood of made-up keys costs the database next to nothing.
	NoFilter bool

	// Logger receives a warning, at most once a second, while stale
	// tokens are served. Default slog.Default().
	Logger *slog.Logger
}

// MaxStaleIfError caps Options.StaleIfError: an outage longer than this
// fails closed.
const MaxStaleIfError = time.Minute

// Store is an apitoken.Store that caches GetByHash results of another
// Store. It is safe for concurrent use. Tokens it returns from GetByHash are
// shared and must not be modified, as the Store contract says.
type Store struct {
	store  apitoken.Store
	ttl    time.Duration
	negTTL time.Duration // 0: no negative entries
	stale  time.Duration // Options.StaleIfError
	log    *slog.Logger
	// elapsed is the time since New by Options.Clock; entries expire at an
	// elapsed time.
	elapsed func() time.Duration
	shards  []shard
	mask    int

	// epoch counts invalidations. A query started before one does not
	// fill the cache, since it may have read what was just changed.
	epoch atomic.Uint64

	staleServed atomic.Uint64
	staleLogged atomic.Int64 // elapsed time of the last warning

	// The store's change feed, if it has one and Options.FeedTTL allows.
	feed     *feedState
	feedUp   atomic.Bool
	feedGen  atomic.Uint64 // counts losses and Resets of the feed
	feedLost atomic.Uint64
	known    atomic.Pointer[filter] // nil: refuse nothing unasked
	filtered atomic.Uint64
}

var (
	_ apitoken.Store  = (*Store)(nil)
	_ apitoken.Peeker = (*Store)(nil)
)

// maxTTL bounds Options.TTL and NegativeTTL: a day is already far longer
// than anyone should let a revoked key live.
const maxTTL = 24 * time.Hour

// orDefault returns def for a zero ttl, 0 (off) for a negative one, and ttl
// bounded by maxTTL otherwise.
func orDefault(ttl, def time.Duration) time.Duration {
	switch {
	case ttl == 0:
		return def
	case ttl < 0:
		return 0
	}
	return min(ttl, maxTTL)
}

// maxShards bounds the shards; lookups take a read lock on one of them.
const maxShards = 64

// New returns a Store that caches store's GetByHash results as opts says.
func New(store apitoken.Store, opts Options) *Store {
	// Bounded, so that an expiry time cannot overflow into the past.
	// Zero means the default and negative turns a TTL off, as everywhere.
	s := &Store{store: store, ttl: orDefault(opts.TTL, DefaultTTL), negTTL: orDefault(opts.NegativeTTL, DefaultNegativeTTL), log: opts.Logger}
	s.stale = min(max(opts.StaleIfError, 0), MaxStaleIfError)
	s.staleLogged.Store(-int64(time.Second)) // the first warning is due at once
	if s.log == nil {
		s.log = slog.Default()
	}
	if clock := opts.Clock; clock != nil {
		start := clock.Now()
		s.elapsed = func() time.Duration { return clock.Now().Sub(start) }
	} else {
		// time.Since reads the monotonic clock alone: half the cost of
		// time.Now, which is most of a hit's.
		start := time.Now()
		s.elapsed = func() time.Duration { return time.Since(start) }
	}
	maxPos, maxNeg := opts.MaxEntries, opts.MaxNegative
	if maxPos <= 0 {
		maxPos = DefaultMaxEntries
	}
	if maxNeg <= 0 {
		maxNeg = DefaultMaxNegative
	}
	// Fewer shards than entries, so that each shard's share of the bound
	// is at least one and the shares add up to no more than the bound.
	n := maxShards
	for n > 1 && (n > maxPos || n > maxNeg) {
		n /= 2
	}
	s.shards = make([]shard, n)
	s.mask = n - 1
	for i := range s.shards {
		s.shards[i].init(maxPos/n, maxNeg/n)
	}
	if feed, ok := store.(apitoken.ChangeFeed); ok && opts.FeedTTL >= 0 && s.enabled() {
		s.feed = &feedState{feed: feed, ttl: orDefault(opts.FeedTTL, DefaultFeedTTL), filter: !opts.NoFilter,
			after: time.After, done: make(chan struct{})}
		if opts.Clock != nil {
			s.feed.after = opts.Clock.After
		}
		s.feed.ctx, s.feed.cancel = context.WithCancel(context.Background())
		go s.watch()
	}
	return s
}

// enabled reports whether the cache keeps anything.
func (s *Store) enabled() bool { return s.ttl > 0 }

// shard returns the shard of h. Hashes are HMAC output, uniformly spread, so
// their first byte is as good as any hash of them.
func (s *Store) shard(h apitoken.Hash) *shard { return &s.shards[int(h[0])&s.mask] }

// GetByHash implements apitoken.Store. A cached token costs no store query
// and no allocation. It returns apitoken.ErrNotFound for an unknown hash,
// and the store's other errors as they are.
func (s *Store) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	if !s.enabled() {
		return s.store.GetByHash(ctx, hash)
	}
	sh := s.shard(hash)
	if t, found, ok := sh.lookup(hash, s.elapsed()); ok {
		return answer(t, found)
	}
	if s.feed != nil {
		epoch := s.epoch.Load()
		if s.refused(ctx, &hash) {
			s.refusal(sh, hash, epoch)
			return nil, apitoken.ErrNotFound
		}
	}
	return s.load(ctx, sh, hash)
}

// Peek implements apitoken.Peeker: it answers from the cache alone.
func (s *Store) Peek(hash apitoken.Hash) (t *apitoken.Token, found, ok bool) {
	if !s.enabled() {
		return nil, false, false
	}
	return s.shard(hash).lookup(hash, s.elapsed())
}

// Create implements apitoken.Store. The new key's hash stops being cached as
// unknown.
func (s *Store) Create(ctx context.Context, t *apitoken.Token, hash apitoken.Hash) error {
	err := s.store.Create(ctx, t, hash)
	s.invalidate("", hash)
	return err
}

// Get implements apitoken.Store; it always asks the store.
func (s *Store) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	return s.store.Get(ctx, id)
}

// List implements apitoken.Store; it always asks the store.
func (s *Store) List(ctx context.Context) ([]*apitoken.Token, error) {
	return s.store.List(ctx)
}

// Update implements apitoken.Store, and drops the token from the cache.
func (s *Store) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	t, err := s.store.Update(ctx, id, change)
	s.invalidate(id)
	return t, err
}

// SetKey implements apitoken.Store, and drops the token from the cache under
// its old keys and the new key's hash from the unknown ones.
func (s *Store) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	err := s.store.SetKey(ctx, id, k)
	s.invalidate(id, k.Hash)
	return err
}

// MoveKey implements apitoken.Store, and drops the token from the cache
// under its old hash and the new hash from the unknown ones.
func (s *Store) MoveKey(ctx context.Context, id string, from, to apitoken.Hash, saltID string) error {
	err := s.store.MoveKey(ctx, id, from, to, saltID)
	s.invalidate(id, from, to)
	return err
}

// Delete implements apitoken.Store, and drops the token from the cache.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.store.Delete(ctx, id)
	s.invalidate(id)
	return err
}

// Touch implements apitoken.Store. It leaves the cache alone: a cached
// token's LastUsedAt may lag by up to TTL, which the Service's own
// de-duplication of touches tolerates.
func (s *Store) Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error) {
	return s.store.Touch(ctx, id, at, notAfter)
}

// StaleServed returns how many GetByHash calls were answered with a token
// past its TTL because the store failed (Options.StaleIfError).
func (s *Store) StaleServed() uint64 { return s.staleServed.Load() }

// Len returns the number of found tokens and unknown hashes held, expired
// ones included until they are replaced or evicted.
func (s *Store) Len() (found, unknown int) {
	for i := range s.shards {
		p, n := s.shards[i].len()
		found += p
		unknown += n
	}
	return found, unknown
}

// invalidate drops the token with the given id (if id is not "") under every
// hash it is cached by, and any entry for hashes. It runs after the store
// has been changed, whether or not the change reported an error, since an
// error does not prove that nothing changed.
func (s *Store) invalidate(id string, hashes ...apitoken.Hash) {
	if !s.enabled() {
		return
	}
	// Bump first, then sweep: a query that read the old row either sees
	// the new epoch when it comes to fill, or fills before the sweep takes
	// its shard's lock and is swept.
	s.epoch.Add(1)
	if id != "" {
		for i := range s.shards {
			s.shards[i].dropID(id)
		}
	}
	for _, h := range hashes {
		s.shard(h).dropHash(h)
	}
}
