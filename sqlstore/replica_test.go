package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/faultproxy"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestReplica: reads go to Options.Replica once it has caught up, and a row
// the replica has not yet replayed a change to never grants what the
// primary no longer does, whoever made the change. Each case leaves the
// replica lagging (the rig copies only when told) and reads at once; most
// then let it catch up and check that the replica serves again.
func TestReplica(t *testing.T) {
	cases := []struct {
		name string
		fn   func(*testing.T, *replicaRig)
	}{
		{"ServesOnceCaughtUp", testReplicaServes},
		{"RevokeHere", testReplicaRevokeHere},
		{"RevokeElsewhere", testReplicaRevokeElsewhere},
		{"Downgrade", testReplicaDowngrade},
		{"Regenerate", testReplicaRegenerate},
		{"CreateElsewhere", testReplicaCreateElsewhere},
		{"FeedLost", testReplicaFeedLost},
		{"LogCut", testReplicaLogCut},
		{"Fails", testReplicaFails},
	}
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			rdb := replicaDB(t, e)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, newReplicaRig(t, e, rdb)) })
			}
		})
	}
}

// testReplicaServes: without a watch every read goes to the primary; with
// one, only once the replica has caught up with the primary as it was when
// the watch started; then Get, GetByHash and List are the replica's.
func testReplicaServes(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	tok := feedToken("served", apitoken.ReadOnly)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	r.replicate(t)

	got, err := r.store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	assert.Equal(t, "primary", from(got), "no watch runs: the store cannot tell what the replica lacks")
	assert.False(t, r.store.ReplicaStats().InUse)

	r.exec(t, r.db, "DELETE FROM {{p}}tokens WHERE id = ?", tok.ID) // the replica still has it
	r.watchReplica(t)
	_, err = r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the replica has not caught up with the primary as the watch found it")
	assert.False(t, r.store.ReplicaStats().InUse)

	tok2 := feedToken("served2", apitoken.ReadOnly)
	require.NoError(t, r.writer.Create(ctx, tok2, hash(2)))
	r.catchUp(t)
	before := r.store.ReplicaStats()
	got, err = r.store.GetByHash(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got), "GetByHash")
	got, err = r.store.Get(ctx, tok2.ID)
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got), "Get")
	list, err := r.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "replica", from(list[0]), "List")
	after := r.store.ReplicaStats()
	assert.Equal(t, before.Replica+3, after.Replica, "ReplicaStats counts the replica's reads")
	assert.Equal(t, before.Primary, after.Primary)
}

// testReplicaRevokeHere: a token deleted through this store is refused at
// once, before any poll, and still after the poll that reports it, until
// the replica replays the deletion.
func testReplicaRevokeHere(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	tok := feedToken("here", apitoken.FullAccess)
	require.NoError(t, r.store.Create(ctx, tok, hash(1)))
	keep := feedToken("kept", apitoken.FullAccess)
	require.NoError(t, r.store.Create(ctx, keep, hash(2)))
	r.catchUp(t)

	require.NoError(t, r.store.Delete(ctx, tok.ID))
	assertGone(t, r, tok.ID, hash(1), "deleted here, not yet polled")
	require.NoError(t, r.store.Sync(ctx))
	assertGone(t, r, tok.ID, hash(1), "deleted here, polled, not replayed")
	assert.Equal(t, 1, r.store.ReplicaStats().Pinned)
	got, err := r.store.GetByHash(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got), "another token is still the replica's to serve")

	r.catchUp(t)
	assertGone(t, r, tok.ID, hash(1), "replayed")
	list, err := r.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "replica", from(list[0]), "List is the replica's again")
}

// assertGone fails t unless the store refuses the token by hash and id and
// leaves it out of List.
func assertGone(t *testing.T, r *replicaRig, id string, h apitoken.Hash, when string) {
	t.Helper()
	ctx := context.Background()
	_, err := r.store.GetByHash(ctx, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "GetByHash: %s", when)
	_, err = r.store.Get(ctx, id)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Get: %s", when)
	list, err := r.store.List(ctx)
	require.NoError(t, err)
	for _, tok := range list {
		assert.NotEqual(t, id, tok.ID, "List: %s", when)
	}
}

// testReplicaRevokeElsewhere: a deletion by another instance, or by a
// script's SQL, is refused once the feed has reported it, though the
// replica still has the row.
func testReplicaRevokeElsewhere(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	byInstance := feedToken("instance", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, byInstance, hash(1)))
	byScript := feedToken("script", apitoken.Custom, "api::a.a.find")
	require.NoError(t, r.writer.Create(ctx, byScript, hash(2)))
	r.catchUp(t)

	require.NoError(t, r.writer.Delete(ctx, byInstance.ID))
	r.exec(t, r.db, "DELETE FROM {{p}}permissions WHERE token_id = ?", byScript.ID)
	r.exec(t, r.db, "DELETE FROM {{p}}tokens WHERE id = ?", byScript.ID)
	require.NoError(t, r.store.Sync(ctx))
	assertGone(t, r, byInstance.ID, hash(1), "deleted by another instance")
	assertGone(t, r, byScript.ID, hash(2), "deleted by a script")
	assert.Equal(t, 2, r.store.ReplicaStats().Pinned)
	r.catchUp(t)
	assertGone(t, r, byScript.ID, hash(2), "replayed")
}

// testReplicaDowngrade: a full-access token made read-only, and a custom
// token that lost a permission, are read as they are now, whether this
// store, another instance or a script changed them.
func testReplicaDowngrade(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	here := feedToken("here", apitoken.FullAccess)
	require.NoError(t, r.store.Create(ctx, here, hash(1)))
	there := feedToken("there", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, there, hash(2)))
	custom := feedToken("custom", apitoken.Custom, "api::a.a.delete", "api::a.a.find")
	require.NoError(t, r.writer.Create(ctx, custom, hash(3)))
	r.catchUp(t)

	readOnly := func(tok *apitoken.Token) error { tok.Type = apitoken.ReadOnly; return nil }
	_, err := r.store.Update(ctx, here.ID, readOnly)
	require.NoError(t, err)
	got, err := r.store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, got.Type, "downgraded here, not yet polled")

	_, err = r.writer.Update(ctx, there.ID, readOnly)
	require.NoError(t, err)
	r.exec(t, r.db, "DELETE FROM {{p}}permissions WHERE token_id = ? AND action = 'api::a.a.delete'", custom.ID)
	require.NoError(t, r.store.Sync(ctx))
	got, err = r.store.GetByHash(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, got.Type, "downgraded by another instance")
	got, err = r.store.GetByHash(ctx, hash(3))
	require.NoError(t, err)
	assert.Equal(t, []string{"api::a.a.find"}, got.Permissions, "a permission removed by a script")
	got, err = r.store.Get(ctx, custom.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"api::a.a.find"}, got.Permissions, "Get")

	r.catchUp(t)
	got, err = r.store.GetByHash(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got), "replayed: the replica serves it again")
	assert.Equal(t, apitoken.ReadOnly, got.Type)
}

// testReplicaRegenerate: after a regeneration, elsewhere or here, the old
// key is refused and the new one works, though the replica knows only the
// old one.
func testReplicaRegenerate(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	there := feedToken("there", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, there, hash(1)))
	here := feedToken("here", apitoken.FullAccess)
	require.NoError(t, r.store.Create(ctx, here, hash(3)))
	r.catchUp(t)

	now := time.Now()
	require.NoError(t, r.store.SetKey(ctx, here.ID, apitoken.NewKey{Hash: hash(4), UpdatedAt: now}))
	_, err := r.store.GetByHash(ctx, hash(3))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old key, regenerated here")

	require.NoError(t, r.writer.SetKey(ctx, there.ID, apitoken.NewKey{Hash: hash(2), UpdatedAt: now}))
	require.NoError(t, r.store.Sync(ctx))
	_, err = r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old key, regenerated elsewhere")
	for _, h := range []apitoken.Hash{hash(2), hash(4)} {
		got, err := r.store.GetByHash(ctx, h)
		require.NoError(t, err, "the new key")
		assert.Equal(t, "primary", from(got))
	}

	r.catchUp(t)
	_, err = r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	got, err := r.store.GetByHash(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got), "replayed")
}

// testReplicaCreateElsewhere: a key created on another instance works at
// once, before any poll and though the replica lacks it.
func testReplicaCreateElsewhere(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	r.catchUp(t)
	tok := feedToken("new", apitoken.ReadOnly)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	got, err := r.store.GetByHash(ctx, hash(1))
	require.NoError(t, err, "GetByHash")
	assert.Equal(t, tok.ID, got.ID)
	got, err = r.store.Get(ctx, tok.ID)
	require.NoError(t, err, "Get")
	assert.Equal(t, "primary", from(got))
	_, err = r.store.GetByHash(ctx, hash(2))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "an unknown key, on both databases")
}

// testReplicaFeedLost: once the watch ends the store cannot tell what
// changed, and reads the primary; a new watch gives reads back to the
// replica only once it has caught up.
func testReplicaFeedLost(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	stop := r.watchReplica(t)
	tok := feedToken("lost", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	r.catchUp(t)
	got, err := r.store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	require.Equal(t, "replica", from(got))

	stop()
	assert.False(t, r.store.ReplicaStats().InUse)
	got, err = r.store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	assert.Equal(t, "primary", from(got), "no watch")
	r.exec(t, r.db, "DELETE FROM {{p}}tokens WHERE id = ?", tok.ID) // no feed sees it
	_, err = r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "deleted while no watch ran")

	r.watchReplica(t)
	require.NoError(t, r.store.Sync(ctx))
	assert.False(t, r.store.ReplicaStats().InUse, "the replica still lags the primary the new watch found")
	assertGone(t, r, tok.ID, hash(1), "deleted while no watch ran, with a new watch")
	r.catchUp(t)
}

// testReplicaLogCut: when pruning cut the log ahead of the watch, changes
// may have been missed: reads go to the primary until the replica has
// caught up with it.
func testReplicaLogCut(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	r.watchReplica(t)
	tok := feedToken("cut", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	r.catchUp(t)

	require.NoError(t, r.writer.Delete(ctx, tok.ID))
	require.NoError(t, r.writer.PruneChanges(ctx, 0)) // before the watch read it
	require.NoError(t, r.store.Sync(ctx))
	assert.False(t, r.store.ReplicaStats().InUse)
	_, err := r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	r.catchUp(t)
	_, err = r.store.GetByHash(ctx, hash(1))
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

// testReplicaFails: a replica that fails, or hangs, costs a lookup half its
// deadline at most, the primary answers, and reads stay on the primary
// until the watch has seen the replica answer again. SQLite's replica pool
// is closed; PostgreSQL's and MySQL's stall behind a proxy.
func testReplicaFails(t *testing.T, r *replicaRig) {
	ctx := context.Background()
	var p *faultproxy.Proxy
	dsn := r.replicaDSN
	if r.e.dialect != sqlstore.SQLite {
		proxied, target := viaProxy(t, r.e, r.replicaDSN)
		var err error
		p, err = faultproxy.New(target)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		dsn = proxied(p.Addr())
	}
	db, err := sql.Open(r.e.driver, dsn) // a pool of its own, which the test may close
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store := r.instance(t, sqlstore.Options{PollInterval: time.Minute, Replica: db})
	r.store = store
	r.watchReplica(t)
	tok := feedToken("fails", apitoken.FullAccess)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	r.catchUp(t)
	got, err := store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	require.Equal(t, "replica", from(got))

	if p == nil {
		require.NoError(t, db.Close())
	} else {
		p.SetMode(faultproxy.Stall)
	}
	lookupCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err = store.GetByHash(lookupCtx, hash(1))
	require.NoError(t, err, "the primary answers in the half of the deadline left")
	assert.Equal(t, "primary", from(got))
	assert.False(t, store.ReplicaStats().InUse, "reads stay on the primary")
	got, err = store.Get(ctx, tok.ID) // no deadline: it would hang on the replica
	require.NoError(t, err)
	assert.Equal(t, "primary", from(got))
	if p == nil {
		return
	}
	require.NoError(t, store.Sync(ctx))
	assert.False(t, store.ReplicaStats().InUse, "the replica still hangs")
	p.SetMode(faultproxy.Pass)
	require.Eventually(t, func() bool {
		return store.Sync(ctx) == nil && store.ReplicaStats().InUse
	}, 10*time.Second, 10*time.Millisecond, "the replica answers again")
	got, err = store.GetByHash(ctx, hash(1))
	require.NoError(t, err)
	assert.Equal(t, "replica", from(got))
}
