package sqlstore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/go-apitoken/apitoken"
)

// serving returns a replica state with one watch, caught up and serving.
func serving(t *testing.T, now time.Time) *replica {
	t.Helper()
	r := newReplica(&sql.DB{})
	r.watching(now)
	r.mu.Lock()
	r.need = false
	r.releaseLocked(nil, now)
	r.mu.Unlock()
	require.True(t, r.open.Load())
	return r
}

// TestReplicaUnpinDuringRead: a read that was routed to the replica before
// its token was unpinned is not trusted, since the replica may have
// answered before it replayed the change; one routed after is.
func TestReplicaUnpinDuringRead(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := serving(t, now)
	r.saw(7, "tok", now)
	_, ok := r.route("tok")
	assert.False(t, ok, "Get of a pinned token goes to the primary")
	g, ok := r.lookup()
	require.True(t, ok)
	assert.False(t, r.fresh(g, "tok", true), "the replica's answer for a pinned token")
	assert.True(t, r.fresh(g, "other", true), "another token's")

	g, _ = r.lookup() // the read starts
	r.mu.Lock()
	r.releaseLocked([]int64{7}, now) // the replica is seen to hold seq 7
	r.mu.Unlock()
	assert.False(t, r.fresh(g, "tok", true), "a read routed before the unpin")
	assert.False(t, r.fresh(g, "other", true), "any read routed before it")
	g, _ = r.lookup()
	assert.True(t, r.fresh(g, "tok", true), "a read routed after it")
	assert.Zero(t, r.pinned.Load())
	assert.False(t, r.fresh(g, "tok", false), "a miss goes to the primary")
}

// TestReplicaOwnWrites: a write pins its token until a poll that started
// after it returned; a poll that did not see its change leaves the store
// unsure, and reads go to the primary until a barrier. A write that wrote
// nothing pins nothing.
func TestReplicaOwnWrites(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := serving(t, now)
	early := r.pollStarted()
	r.wrote("tok", nil, now)
	r.wrote("gone", apitoken.ErrNotFound, now)
	r.wrote("taken", apitoken.ErrNameTaken, now)
	assert.Equal(t, int64(1), r.pinned.Load())
	r.polled(early, now)
	assert.True(t, r.isPinned("tok"), "a poll that started before the write returned")

	n := r.pollStarted() // a poll reads the log after it starts
	r.saw(9, "tok", now)
	r.polled(n, now)
	assert.True(t, r.open.Load())
	r.mu.Lock()
	r.releaseLocked([]int64{9}, now)
	r.mu.Unlock()
	assert.False(t, r.isPinned("tok"), "reported, and replayed")

	r.wrote("tok", errors.New("connection reset"), now) // it may have committed
	r.polled(r.pollStarted(), now)
	assert.False(t, r.open.Load(), "a write no poll reported")
	r.mu.Lock()
	assert.True(t, r.need)
	r.mu.Unlock()
}

// TestReplicaBounds: past maxPinned seqs the store forgets them for a
// barrier, and so it does for what waits longer than replicaStale; with no
// watch left, reads go to the primary and nothing is kept.
func TestReplicaBounds(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := serving(t, now)
	for seq := range int64(maxPinned) {
		r.saw(seq, "tok", now)
	}
	assert.True(t, r.open.Load())
	r.saw(maxPinned, "tok", now)
	assert.False(t, r.open.Load(), "one seq too many")
	assert.Empty(t, r.seqs)
	assert.Zero(t, r.pinned.Load())

	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "empty.db"))
	require.NoError(t, err)
	defer db.Close()
	s, err := New(db, Options{Dialect: SQLite, Replica: db})
	require.NoError(t, err)
	r = s.replica
	r.watching(now)
	r.mu.Lock()
	r.need = false
	r.releaseLocked(nil, now)
	r.mu.Unlock()
	r.saw(1, "tok", now)
	s.feed.now = func() time.Time { return now.Add(replicaStale + time.Second) }
	s.checkReplica(t.Context()) // the barrier's query fails: there are no tables
	assert.False(t, r.open.Load(), "waited too long")
	assert.Empty(t, r.seqs)

	r = serving(t, now)
	r.saw(1, "tok", now)
	r.unwatched()
	assert.False(t, r.open.Load())
	assert.Empty(t, r.ids)
	r.saw(2, "tok", now)
	r.wrote("tok", nil, now)
	assert.Empty(t, r.ids, "nothing is pinned with no watch running")
}

// BenchmarkReplicaRoute measures what routing adds to a lookup in the
// steady state (serving, nothing pinned): atomic loads, no lock, no query.
func BenchmarkReplicaRoute(b *testing.B) {
	r := newReplica(&sql.DB{})
	r.watching(time.Now())
	r.mu.Lock()
	r.need = false
	r.releaseLocked(nil, time.Now())
	r.mu.Unlock()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g, ok := r.lookup()
			if !ok || !r.fresh(g, "tok", true) {
				b.Fatal("not routed to the replica")
			}
		}
	})
}
