package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkReplica follows the replica's progress, in a watch after each poll
// of the log: it takes a barrier on the primary if one is needed, then asks
// the replica which of the seqs waited for (the barrier's, the pinned
// tokens') it holds. It runs no query while nothing is outstanding, so that
// a replica that keeps up costs nothing. A failed query leaves things as
// they were, reads going to the primary, until the next poll.
func (s *Store) checkReplica(ctx context.Context) {
	r := s.replica
	if r == nil {
		return
	}
	now := s.feed.now()
	r.mu.Lock()
	if r.live > 0 && r.staleLocked(now) {
		r.lostLocked(now)
	}
	need, req := r.need, r.needReq
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
	defer cancel()
	if need {
		seqs, err := s.takeBarrier(ctx)
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.needReq == req { // else lost again since: a newer barrier is needed
			r.need = false
			for _, seq := range seqs {
				r.barrier[seq] = struct{}{}
			}
		}
		r.mu.Unlock()
	}

	r.mu.Lock()
	waited := slices.Collect(maps.Keys(r.seqs))
	waited = slices.AppendSeq(waited, maps.Keys(r.barrier))
	r.mu.Unlock()
	held, _ := s.replicaHolds(ctx, waited) // what it found before any error holds

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(held) > 0 || len(waited) == 0 && !r.need && !r.open.Load() {
		r.releaseLocked(held, now)
	}
}

// releaseLocked forgets the seqs that the replica was seen to hold, and
// gives back to the replica what no longer waits for anything.
func (r *replica) releaseLocked(held []int64, now time.Time) {
	r.gen.Add(1) // first: what follows lets the replica serve more
	for _, seq := range held {
		delete(r.barrier, seq)
		w, ok := r.seqs[seq]
		if !ok {
			continue
		}
		delete(r.seqs, seq)
		if p := r.ids[w.id]; p != nil {
			if p.seqs--; p.seqs <= 0 && !p.pending {
				delete(r.ids, w.id)
			}
		}
	}
	r.pinned.Store(int64(len(r.ids)))
	r.open.Store(r.live > 0 && !r.need && len(r.barrier) == 0)
}

// takeBarrier returns the seqs of the primary's log from the newest entry
// old enough that no transaction should still be writing below it (the
// feed's starting point). More than maxPinned of them is too many to wait
// for: it fails, and the next poll tries again.
func (s *Store) takeBarrier(ctx context.Context) ([]int64, error) {
	var lo sql.NullInt64
	if err := s.db.QueryRowContext(ctx, s.feed.q.start, s.feed.gapTimeout.Milliseconds()).Scan(&lo); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.replicaQ.barrier, lo.Int64)
	if err != nil {
		return nil, err
	}
	seqs, err := scanSeqs(rows, nil)
	if err == nil && len(seqs) > maxPinned {
		err = errTooBusy
	}
	return seqs, err
}

// errTooBusy says that the log grows too fast to take a barrier.
var errTooBusy = errors.New("sqlstore: the change log grows too fast to follow the replica")

// replicaHolds returns those of seqs that the replica's log holds, in one
// query per idChunk of them.
func (s *Store) replicaHolds(ctx context.Context, seqs []int64) ([]int64, error) {
	var held []int64
	for chunk := range slices.Chunk(seqs, idChunk) {
		args := make([]any, len(chunk))
		for i, seq := range chunk {
			args[i] = seq
		}
		query := rebind(s.dialect, s.replicaQ.holds+"("+strings.Repeat("?, ", len(chunk)-1)+"?)")
		rows, err := s.replica.db.QueryContext(ctx, query, args...)
		if err != nil {
			return held, err
		}
		if held, err = scanSeqs(rows, held); err != nil {
			return held, err
		}
	}
	return held, nil
}

// scanSeqs appends the seqs that rows return to seqs, and closes rows.
func scanSeqs(rows *sql.Rows, seqs []int64) ([]int64, error) {
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return seqs, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, rows.Err()
}

// replicaQueries holds the SQL that follows the replica's progress.
type replicaQueries struct {
	barrier string // on the primary: the log's seqs from one on, and one more than maxPinned at most
	holds   string // on the replica: which of some seqs it has, without the list
}

func buildReplicaQueries(d Dialect, prefix string) replicaQueries {
	changes := prefix + "changes"
	return replicaQueries{
		barrier: rebind(d, `SELECT seq FROM `+changes+` WHERE seq >= ? ORDER BY seq LIMIT `+
			strconv.Itoa(maxPinned+1)),
		holds: `SELECT seq FROM ` + changes + ` WHERE seq IN `,
	}
}
