package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken"
)

// The bounds of what a Store remembers about a lagging replica.
const (
	// maxPinned bounds the changes a Store waits for the replica to
	// replay. Past it, they are forgotten, and every read goes to the
	// primary until the replica has caught up with the primary as it is
	// then.
	maxPinned = 10_000
	// replicaStale is how long a seq or a barrier may be waited for before
	// it is given up for a new barrier: a change pruned from the replica's
	// log before it was seen there would otherwise keep its token on the
	// primary for good.
	replicaStale = 30 * time.Minute
	// replicaCheckTimeout bounds the queries that follow the replica's
	// progress. They run in a watch after a poll, while something waits,
	// so that a replica that does not answer delays the feed by this much
	// at most per poll (a healthy one answers in a round trip).
	replicaCheckTimeout = 250 * time.Millisecond
)

// ReplicaStats says how a Store with Options.Replica routes its reads, for a
// host's metrics.
type ReplicaStats struct {
	// InUse is true while the replica serves reads: a WatchChanges is
	// running on the Store and the replica has caught up with the primary
	// as it was when the watch started (or last lost track).
	InUse bool
	// Pinned is how many tokens are read from the primary until the
	// replica has replayed their latest change.
	Pinned int
	// Replica counts the reads the replica answered; Primary those the
	// primary answered, instead of the replica or after it (a token not
	// found there, a pinned one, a replica error).
	Replica, Primary uint64
}

// replica is what a Store keeps for Options.Replica: the copy, and which of
// its rows it cannot trust yet.
//
// Reads go to the replica only while a watch runs, since the store learns of
// changes made elsewhere from the change log. Each change the log reports
// pins its token, by id, until the replica's own log holds that change's
// seq: a replica replays a transaction whole, so it then has the change. A
// write through this Store pins its token until a poll that started after
// the write has reported the change. Whenever the store loses track (no
// watch ran, the log was cut, too much is pinned), every read goes to the
// primary until the replica holds a barrier: every seq of the primary's log
// at one moment, from the newest entry old enough that no transaction
// should still be writing below it (the feed's own assumption). A replica
// replays transactions in commit order, so it then holds every change
// committed before that moment.
//
// A read from the replica is trusted only if the token it returned is not
// pinned and nothing was unpinned while it ran: gen counts the events that
// let the replica serve more, and is bumped before they take effect, which
// is after the replica was seen to hold what they wait for.
type replica struct {
	db   *sql.DB
	stmt atomic.Pointer[sql.Stmt] // GetByHash, prepared on the replica

	open   atomic.Bool   // reads may go to the replica
	gen    atomic.Uint64 // bumped before the replica may serve more
	polls  atomic.Uint64 // numbers every poll of the log, store-wide
	pinned atomic.Int64  // len(ids), read without the lock

	replicaReads, primaryReads atomic.Uint64

	mu      sync.Mutex
	live    int                // running watches
	need    bool               // a barrier must be taken before the replica serves
	needReq uint64             // counts the requests for a barrier
	lostAt  time.Time          // when need was last set
	barrier map[int64]struct{} // the barrier's seqs the replica was not seen to hold
	seqs    map[int64]wait     // the pinned tokens' seqs the replica was not seen to hold
	ids     map[string]*pin
}

// wait is a seq of the primary's log that pins a token.
type wait struct {
	id string
	at time.Time // when it was read
}

// pin is a token read from the primary.
type pin struct {
	seqs    int    // its outstanding seqs
	pending bool   // written here and not yet reported by a poll
	after   uint64 // the last poll started before the write returned
	// reported: a change of the token was seen by a poll that started
	// after the pending write returned, which saw the write's change too.
	reported bool
}

func newReplica(db *sql.DB) *replica {
	if db == nil {
		return nil
	}
	return &replica{db: db, barrier: make(map[int64]struct{}), seqs: make(map[int64]wait), ids: make(map[string]*pin)}
}

// route reports whether a read of the token id ("" for every token: a
// list) may go to the replica, and the generation to check its answer
// against.
func (r *replica) route(id string) (uint64, bool) {
	if r == nil {
		return 0, false
	}
	g, ok := r.lookup()
	if ok && r.isPinned(id) {
		r.primaryReads.Add(1)
		return 0, false
	}
	return g, ok
}

// lookup is route for a read whose token is known only from the answer.
func (r *replica) lookup() (uint64, bool) {
	g := r.gen.Load()
	if !r.open.Load() {
		r.primaryReads.Add(1)
		return 0, false
	}
	return g, true
}

// fresh reports whether the replica's answer to a read routed at
// generation g may be trusted: it found the token id ("" for a list), the
// token is not pinned, the replica still serves, and nothing was unpinned
// meanwhile. The checks run in the order that makes them safe against a
// concurrent unpin, which bumps gen first.
func (r *replica) fresh(g uint64, id string, found bool) bool {
	ok := found && !r.isPinned(id) && r.open.Load() && r.gen.Load() == g
	if ok {
		r.replicaReads.Add(1)
	} else {
		r.primaryReads.Add(1)
	}
	return ok
}

// isPinned reports whether the token id is pinned, or for "" whether any is.
func (r *replica) isPinned(id string) bool {
	if r.pinned.Load() == 0 {
		return false
	}
	if id == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// replicaCtx returns the context of a read from the replica: half the time
// left to ctx, so that the primary has the other half when the replica
// fails or hangs.
func (s *Store) replicaCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, time.Now().Add(time.Until(d)/2))
	}
	return ctx, func() {}
}

// replicaAnswered reports whether a read from the replica that returned
// err found its token. A failure of the replica's own (not of ctx, not a
// token it lacks) sends every read to the primary until the watch has seen
// the replica answer again, and hold a barrier.
func (s *Store) replicaAnswered(ctx context.Context, err error) bool {
	if err != nil && !errors.Is(err, apitoken.ErrNotFound) && ctx.Err() == nil {
		s.replica.lost(s.feed.now())
	}
	return err == nil
}

// ReplicaStats returns how reads are routed; zero without Options.Replica.
func (s *Store) ReplicaStats() ReplicaStats {
	r := s.replica
	if r == nil {
		return ReplicaStats{}
	}
	return ReplicaStats{InUse: r.open.Load(), Pinned: int(r.pinned.Load()),
		Replica: r.replicaReads.Load(), Primary: r.primaryReads.Load()}
}
