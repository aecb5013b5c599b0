package sqlstore

import (
	"errors"
	"time"

	"github.com/go-apitoken/apitoken"
)

// This file keeps the replica's state up to date from what the Store sees:
// its watches starting and ending, the log's rows, and its own writes. All
// of it only ever takes reads away from the replica; check, which follows
// the replica's progress, gives them back. Every method is a no-op on a
// Store without a replica.

// watching records that a watch has started: the first one needs a
// barrier, since nothing was followed before it.
func (r *replica) watching(now time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live++
	if r.live == 1 {
		r.lostLocked(now)
	}
}

// unwatched records that a watch has ended. With none left, changes made
// elsewhere go unseen: every read goes to the primary, and what was pinned
// is forgotten, as the next watch starts with a barrier.
func (r *replica) unwatched() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live--
	if r.live == 0 {
		r.open.Store(false)
		r.need = false
		r.clearLocked()
	}
}

// lost records that the Store cannot tell what changed (the log was cut
// ahead of a watch).
func (r *replica) lost(now time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lostLocked(now)
}

// lostLocked sends every read to the primary until a barrier taken from now
// on has been reached. What was pinned is covered by it.
func (r *replica) lostLocked(now time.Time) {
	r.open.Store(false)
	r.need = true
	r.needReq++
	r.lostAt = now
	r.clearLocked()
}

func (r *replica) clearLocked() {
	clear(r.barrier)
	clear(r.seqs)
	clear(r.ids)
	r.pinned.Store(0)
}

// saw records a row of the primary's log: its token is pinned until the
// replica holds the row.
func (r *replica) saw(seq int64, id string, now time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == 0 {
		return // the first watch's barrier covers it
	}
	if _, ok := r.seqs[seq]; ok {
		return // another watch saw it first
	}
	r.seqs[seq] = wait{id, now}
	p := r.pinLocked(id)
	p.seqs++
	if p.pending && r.polls.Load() > p.after {
		p.reported = true
	}
	r.boundLocked(now)
}

// wrote records a write to the token id that this Store made, and that
// returned err: unless nothing was written, the token is pinned until a
// poll that starts after now has reported the change.
func (r *replica) wrote(id string, err error, now time.Time) {
	if r == nil || errors.Is(err, apitoken.ErrNotFound) || errors.Is(err, apitoken.ErrNameTaken) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == 0 {
		return // the first watch's barrier is taken after this write
	}
	p := r.pinLocked(id)
	p.pending, p.after = true, r.polls.Load()
	r.boundLocked(now)
}

func (r *replica) pinLocked(id string) *pin {
	p := r.ids[id]
	if p == nil {
		p = &pin{}
		r.ids[id] = p
		r.pinned.Store(int64(len(r.ids)))
	}
	return p
}

// staleLocked reports whether something has waited longer than
// replicaStale: a barrier, or a pinned token's seq.
func (r *replica) staleLocked(now time.Time) bool {
	if (r.need || len(r.barrier) > 0) && now.Sub(r.lostAt) > replicaStale {
		return true
	}
	for _, w := range r.seqs {
		if now.Sub(w.at) > replicaStale {
			return true
		}
	}
	return false
}

// boundLocked gives up on what is pinned past maxPinned.
func (r *replica) boundLocked(now time.Time) {
	if len(r.seqs) > maxPinned || len(r.ids) > maxPinned {
		r.lostLocked(now)
	}
}

// pollStarted numbers a poll of the log that is about to start.
func (r *replica) pollStarted() uint64 {
	if r == nil {
		return 0
	}
	return r.polls.Add(1)
}

// polled records that poll n read the log without error. Writes made here
// before it started were committed before it read, so it saw their changes
// and pinned their seqs. A write whose change it did not see (one that
// changed nothing, or a transaction so slow that the feed gave up on its
// seq) leaves the Store unsure: a barrier covers it. (With two watches, one
// may have seen the change and the replica hold it before the other's poll
// ends: the same barrier, needlessly, but safely.)
func (r *replica) polled(n uint64, now time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.ids {
		if p.pending && p.after < n && !p.reported {
			r.lostLocked(now) // which unpins everything, but closes first
			return
		}
	}
	for _, p := range r.ids {
		if p.pending && p.after < n {
			p.pending, p.reported = false, false
		}
	}
}
