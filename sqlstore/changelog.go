package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// The change log's timing. Sequence numbers are taken at insert, not at
// commit, so a seq missing below one already read may belong to a
// transaction still running (or to one rolled back, which never fills it).
const (
	// gapTimeout is how long a missing seq is waited for, re-reading the
	// log from below it, before the watch moves past it.
	gapTimeout = 5 * time.Second
	// lateWindow is how long a run of seqs given up on is still looked
	// for, by number, so that a transaction that commits late is reported
	// late rather than never: as long as the log keeps entries. A watch
	// looks for at most lateCap runs; when
	// it would need more, or stops looking for a run with a seq it never
	// saw, it reports a Reset: that change, if it commits, is not missed.
	lateWindow = retention
	lateCap    = 1000
	// retention is the age of the log entries that pruning removes, at
	// most once per pruneEvery per Store.
	retention  = time.Hour
	pruneEvery = time.Minute
	// pruneTimeout bounds a prune, which waits on locks on MySQL.
	pruneTimeout = 5 * time.Second
	// pollBatch bounds the rows of one read of the log; a full batch is
	// followed by another read at once.
	pollBatch = 5000
	// pollTimeout bounds one read of the log and of its tokens' key
	// hashes: a database that stops answering fails the watch, rather
	// than be taken for a quiet log.
	pollTimeout = 10 * time.Second
	// idChunk bounds the ids of one read of key hashes.
	idChunk = 500
)

// feedQueries holds the change feed's SQL.
type feedQueries struct {
	start     string // the seq below which everything is settled
	poll      string // the log above a seq
	hashes    string // the key hashes of tokens, without the id list
	keyHashes string // every key hash
	pruneFind string // the newest seq old enough to prune
	pruneMark string // marks it as the point where the log was cut
	pruneCut  string // removes what is before it
}

func buildFeedQueries(d Dialect, prefix string) feedQueries {
	changes, tokens := prefix+"changes", prefix+"tokens"
	// olderThan compares changed_at to the database's clock, so that
	// instances with skewed clocks agree; its argument is milliseconds.
	olderThan := map[Dialect]string{
		SQLite:   `changed_at <= CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - ?`,
		Postgres: `changed_at <= now() - CAST(? AS double precision) * interval '1 millisecond'`,
		MySQL:    `changed_at <= UTC_TIMESTAMP(3) - INTERVAL ? * 1000 MICROSECOND`,
	}[d]
	q := func(s string) string { return rebind(d, s) }
	return feedQueries{
		start:     q(`SELECT MAX(seq) FROM ` + changes + ` WHERE ` + olderThan),
		poll:      `SELECT seq, token_id FROM ` + changes + ` WHERE seq > ? AND (seq > ?`,
		hashes:    `SELECT id, key_hash, prev_key_hash FROM ` + tokens + ` WHERE id IN `,
		keyHashes: `SELECT key_hash, prev_key_hash FROM ` + tokens,
		pruneFind: q(`SELECT MAX(seq) FROM ` + changes + ` WHERE ` + olderThan),
		pruneMark: q(`UPDATE ` + changes + ` SET token_id = NULL WHERE seq = ?`),
		pruneCut:  q(`DELETE FROM ` + changes + ` WHERE seq < ?`),
	}
}

// changeLog is a watch's position in the log: every seq up to low is
// accounted for (reported, or given up on), and seen holds those above it
// that were reported.
type changeLog struct {
	low, max   int64
	seen       map[int64]struct{}
	noticed    []notice  // in upTo order
	late       []lateRun // in seq order, all at or below low
	lateSeen   map[int64]struct{}
	gapTimeout time.Duration
}

// lateRun is a run of seqs given up on, from and to included, looked for
// until then; lateSeen holds those of them reported since.
type lateRun struct {
	from, to int64
	until    time.Time
}

// notice says that every seq up to upTo that was missing was first missed
// no later than at.
type notice struct {
	upTo int64
	at   time.Time
}

// startLog places a new watch in the log: below the newest entry old enough
// that no transaction should still be writing beneath it. What is above it
// now is taken as seen (the watch starts with a Reset); what is missing
// there is waited for as any gap.
func (s *Store) startLog(ctx context.Context) (*changeLog, error) {
	var low sql.NullInt64
	qctx, cancel := context.WithTimeout(ctx, s.feed.pollTimeout)
	defer cancel()
	if err := s.db.QueryRowContext(qctx, s.feed.q.start, s.feed.gapTimeout.Milliseconds()).Scan(&low); err != nil {
		return nil, err
	}
	l := &changeLog{
		low: low.Int64, max: low.Int64, gapTimeout: s.feed.gapTimeout,
		seen: make(map[int64]struct{}), lateSeen: make(map[int64]struct{}),
	}
	return l, s.readChanges(ctx, l, nil)
}

// take records one row of the log and says whether to report it: fresh for
// a change not reported before, reset where pruning cut the log ahead of
// the watch, so that changes may have been missed.
func (l *changeLog) take(seq int64, id sql.NullString) (fresh, reset bool) {
	if seq <= l.low {
		if _, ok := l.lateSeen[seq]; ok || !l.isLate(seq) {
			return false, false
		}
		l.lateSeen[seq] = struct{}{}
		return id.Valid, false
	}
	if _, ok := l.seen[seq]; ok {
		return false, false
	}
	if !id.Valid {
		// Everything below seq is gone, and so is seq's own change.
		for k := range l.seen {
			if k <= seq {
				delete(l.seen, k)
			}
		}
		l.low, l.max = seq, max(l.max, seq)
		return false, true
	}
	l.seen[seq] = struct{}{}
	l.max = max(l.max, seq)
	return true, false
}

// isLate reports whether seq is in a run given up on and still looked for.
func (l *changeLog) isLate(seq int64) bool {
	i, _ := slices.BinarySearchFunc(l.late, seq, func(r lateRun, seq int64) int { return cmp.Compare(r.to, seq) })
	return i < len(l.late) && l.late[i].from <= seq
}

// advance moves low past what was seen and past gaps older than
// gapTimeout, which it then looks for as late. It reports reset when a
// change may have been missed: a run stopped being looked for before all
// its seqs were seen (most such seqs belong to transactions rolled back,
// but one may commit later still), or there were more runs than lateCap.
func (l *changeLog) advance(now time.Time) (reset bool) {
	if n := len(l.noticed); l.max > l.low && (n == 0 || l.noticed[n-1].upTo < l.max) {
		l.noticed = append(l.noticed, notice{l.max, now})
	}
	for l.low < l.max {
		next := l.low + 1
		if _, ok := l.seen[next]; ok {
			delete(l.seen, next)
			l.low = next
			continue
		}
		i, _ := slices.BinarySearchFunc(l.noticed, next, func(n notice, seq int64) int { return cmp.Compare(n.upTo, seq) })
		if now.Sub(l.noticed[i].at) < l.gapTimeout {
			break
		}
		// Give up on the run of missing seqs from next, as far as
		// this notice reaches or the next seen seq.
		end := l.noticed[i].upTo
		for k := range l.seen {
			end = min(end, k-1)
		}
		l.late = append(l.late, lateRun{from: next, to: end, until: now.Add(lateWindow)})
		l.low = end
	}
	i := 0
	for i < len(l.noticed) && l.noticed[i].upTo <= l.low {
		i++
	}
	l.noticed = slices.Delete(l.noticed, 0, i)
	n := max(len(l.late)-lateCap, 0)
	// Runs are given up on in seq order, so they expire in that order.
	for n < len(l.late) && now.After(l.late[n].until) {
		n++
	}
	if n > 0 {
		reset = l.forget(l.late[:n])
		l.late = slices.Delete(l.late, 0, n)
	}
	return reset
}

// forget drops what lateSeen holds of runs, and reports whether any of
// their seqs was never seen.
func (l *changeLog) forget(runs []lateRun) (unseen bool) {
	seen := make([]int64, len(runs))
	for seq := range l.lateSeen {
		for i, r := range runs {
			if r.from <= seq && seq <= r.to {
				delete(l.lateSeen, seq)
				seen[i]++
				break
			}
		}
	}
	for i, r := range runs {
		if seen[i] < r.to-r.from+1 {
			return true
		}
	}
	return false
}

// pollQuery returns the read of the log above low, and of the late seqs,
// after the seq after: a poll pages through the log by the last seq it
// read, so that neither the seen rows above a gap nor a late run's rows
// fill every batch and hide what follows.
func (l *changeLog) pollQuery(d Dialect, base string, after int64) (string, []any) {
	var b strings.Builder
	b.WriteString(base)
	args := []any{after, l.low}
	for _, r := range l.late {
		b.WriteString(" OR seq BETWEEN ? AND ?")
		args = append(args, r.from, r.to)
	}
	b.WriteString(") ORDER BY seq LIMIT ")
	b.WriteString(strconv.Itoa(pollBatch))
	return rebind(d, b.String()), args
}

// readChanges reads the log from l's position and passes changed what
// changed, in log order, each token once, with the key hashes it has now.
// A nil changed only moves l.
func (s *Store) readChanges(ctx context.Context, l *changeLog, changed func(apitoken.Change)) error {
	after := int64(math.MinInt64)
	for {
		more, err := s.readBatch(ctx, l, &after, changed)
		if !more || err != nil {
			return err
		}
	}
}

// readBatch reads up to pollBatch rows of the log after the seq *after,
// within pollTimeout, moves *after to the last, and reports whether there
// may be more.
func (s *Store) readBatch(ctx context.Context, l *changeLog, after *int64, changed func(apitoken.Change)) (more bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.feed.pollTimeout)
	defer cancel()
	query, args := l.pollQuery(s.dialect, s.feed.q.poll, *after)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	var ids []string
	n, reset := 0, false
	for rows.Next() {
		var seq int64
		var id sql.NullString
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return false, err
		}
		n++
		*after = seq
		switch fresh, cut := l.take(seq, id); {
		case cut:
			ids, reset = ids[:0], true
			s.replica.lost(s.feed.now())
		case fresh:
			ids = append(ids, id.String)
			s.replica.saw(seq, id.String, s.feed.now())
		}
	}
	if err := rows.Close(); err != nil {
		return false, err
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if l.advance(s.feed.now()) {
		reset = true
	}
	if changed != nil {
		if err := s.deliver(ctx, ids, reset, changed); err != nil {
			return false, err
		}
	}
	return n == pollBatch, nil
}

// deliver reads the key hashes of the tokens ids, in one query per idChunk
// of them, and reports each once, after a Reset if reset.
func (s *Store) deliver(ctx context.Context, ids []string, reset bool, changed func(apitoken.Change)) error {
	if reset {
		changed(apitoken.Change{Reset: true})
	}
	seen := make(map[string]bool, len(ids))
	ids = slices.DeleteFunc(ids, func(id string) bool {
		dup := seen[id]
		seen[id] = true
		return dup
	})
	hashes := make(map[string][]apitoken.Hash, len(ids))
	for chunk := range slices.Chunk(ids, idChunk) {
		if err := s.readHashes(ctx, chunk, hashes); err != nil {
			return err
		}
	}
	for _, id := range ids {
		changed(apitoken.Change{ID: id, Hashes: hashes[id]})
	}
	return nil
}

// readHashes adds the key hashes of the tokens ids to hashes. A deleted
// token has none.
func (s *Store) readHashes(ctx context.Context, ids []string, hashes map[string][]apitoken.Hash) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	query := rebind(s.dialect, s.feed.q.hashes+"("+strings.Repeat("?, ", len(ids)-1)+"?)")
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h hashPair
		if err := rows.Scan(&id, &h.cur, &h.prev); err != nil {
			return err
		}
		hashes[id] = h.hashes()
	}
	return rows.Err()
}

// hashPair is a token's stored key hashes.
type hashPair struct {
	cur  string
	prev sql.NullString
}

// hashes returns the pair's hashes that parse: a malformed one matches no
// key.
func (h hashPair) hashes() []apitoken.Hash {
	var hs []apitoken.Hash
	if k, err := apitoken.ParseHash(h.cur); err == nil {
		hs = append(hs, k)
	}
	if h.prev.Valid {
		if k, err := apitoken.ParseHash(h.prev.String); err == nil {
			hs = append(hs, k)
		}
	}
	return hs
}

// maybePrune prunes the log unless this Store did within pruneEvery. A
// failed prune is tried again at the next turn; a lost database shows in the
// next poll.
func (s *Store) maybePrune(ctx context.Context) {
	now := time.Now().UnixNano()
	last := s.feed.lastPrune.Load()
	if last != 0 && now-last < int64(pruneEvery) || !s.feed.lastPrune.CompareAndSwap(last, now) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pruneTimeout)
	defer cancel()
	_ = s.pruneChanges(ctx, retention)
}

// pruneChanges removes the log entries older than age. The newest of them
// stays, its token_id set to NULL, to tell a watch that has not read it yet
// that the log was cut ahead of it. It is marked before the rest goes, so
// that a prune cut short leaves at worst an early mark; and concurrent
// prunes are harmless, as each cuts below its own mark.
func (s *Store) pruneChanges(ctx context.Context, age time.Duration) error {
	return s.wrap(ctx, "prune changes", s.retryBusy(ctx, func() error {
		var cut sql.NullInt64
		if err := s.db.QueryRowContext(ctx, s.feed.q.pruneFind, age.Milliseconds()).Scan(&cut); err != nil || !cut.Valid {
			return err
		}
		if _, err := s.db.ExecContext(ctx, s.feed.q.pruneMark, cut.Int64); err != nil {
			return err
		}
		_, err := s.db.ExecContext(ctx, s.feed.q.pruneCut, cut.Int64)
		return err
	}))
}
