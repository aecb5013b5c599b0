package sqlstore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/storetest"
)

// TestReplicaRevokeRace: lookups run without pause while keys are revoked
// (deleted or regenerated here, deleted by another instance and then
// synced) and the replica catches up now and then; no key is accepted by a
// lookup that started after its revocation returned.
func TestReplicaRevokeRace(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newReplicaRig(t, e, replicaDB(t, e))
			r.watchReplica(t)
			const n = 24
			var hashes [n]apitoken.Hash
			var toks [n]*apitoken.Token
			for i := range n {
				toks[i], hashes[i] = feedToken(string(rune('a'+i)), apitoken.FullAccess), hash(byte(i+1))
				require.NoError(t, r.writer.Create(ctx, toks[i], hashes[i]))
			}
			r.catchUp(t)
			before := r.store.ReplicaStats()

			var revoked [n]atomic.Bool
			var accepted, failed atomic.Int64
			runCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { // the replica catching up now and then
				for runCtx.Err() == nil {
					if err := r.copyAll(runCtx); err != nil && runCtx.Err() == nil {
						t.Errorf("replicating: %v", err)
						return
					}
					_ = r.store.Sync(runCtx)
				}
			})
			for range 2 {
				wg.Go(func() {
					for runCtx.Err() == nil {
						for i := range n {
							was := revoked[i].Load()
							_, err := r.store.GetByHash(runCtx, hashes[i])
							switch {
							case err == nil && was:
								accepted.Add(1)
							case err != nil && !errors.Is(err, apitoken.ErrNotFound) && runCtx.Err() == nil:
								failed.Add(1)
								t.Errorf("GetByHash: %v", err)
							}
						}
					}
				})
			}
			for k, i := range rand.Perm(n) {
				switch k % 3 {
				case 0:
					require.NoError(t, r.store.Delete(ctx, toks[i].ID))
				case 1:
					require.NoError(t, r.store.SetKey(ctx, toks[i].ID, apitoken.NewKey{Hash: hash(byte(i + 100)), UpdatedAt: time.Now()}))
				case 2:
					require.NoError(t, r.writer.Delete(ctx, toks[i].ID))
					require.NoError(t, r.store.Sync(ctx))
				}
				revoked[i].Store(true)
				// Let lookups and catch-ups run between revocations.
				for range 3 {
					_, _ = r.store.GetByHash(ctx, hashes[(i+1)%n])
				}
			}
			stop()
			wg.Wait()
			assert.Zero(t, accepted.Load(), "lookups accepted a key after its revocation returned")
			after := r.store.ReplicaStats()
			t.Logf("reads: %d from the replica, %d from the primary", after.Replica-before.Replica, after.Primary-before.Primary)
			assert.Greater(t, after.Replica, before.Replica, "the replica served no read during the run")
			for i := range n {
				_, err := r.store.GetByHash(ctx, hashes[i])
				assert.ErrorIs(t, err, apitoken.ErrNotFound)
			}
		})
	}
}

// TestReplicaStore runs the conformance suite on a store whose replica is
// its own database, with a watch running, so that reads take the replica's
// path; the store is wrapped so that the suite's feed checks, which need
// no other watch to run, are left to TestStore.
func TestReplicaStore(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			var replicaReads atomic.Uint64
			storetest.Run(t, func(t *testing.T) apitoken.Store {
				prefix := freshPrefix(t)
				s, err := sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix,
					Replica: db, PollInterval: 20 * time.Millisecond})
				require.NoError(t, err)
				dropTables(t, db, e.dialect, prefix)
				require.NoError(t, s.Migrate(context.Background()))
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.WatchChanges(ctx, func(apitoken.Change) {}) }()
				t.Cleanup(func() {
					cancel()
					assert.ErrorIs(t, <-done, context.Canceled)
					replicaReads.Add(s.ReplicaStats().Replica)
				})
				require.Eventually(t, func() bool { return s.ReplicaStats().InUse }, 10*time.Second, time.Millisecond)
				return storeOnly{s}
			})
			t.Logf("%d reads from the replica", replicaReads.Load())
			assert.NotZero(t, replicaReads.Load(), "the replica served no read")
		})
	}
}

// storeOnly hides every method of a Store but apitoken.Store's.
type storeOnly struct{ apitoken.Store }
