package sqlstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestAttack13LateKeyRefusedByFilterForever: a key set by a transaction
// that commits after the watch stopped looking for its change-log number
// (a long import or key-rotation script, while other instances write) is
// never reported, so it never enters the cache's filter of known keys;
// as the filter is only rebuilt on a Reset, a loss or when it is full,
// the cache refuses that valid key, after a successful Sync, for as long
// as the process runs: not for TTL, as the package says of changes the
// feed did not report.
func TestAttack13LateKeyRefusedByFilterForever(t *testing.T) {
	for _, e := range engines {
		if e.dialect == sqlstore.SQLite {
			continue // one writer at a time: numbers commit in order
		}
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			var offset atomic.Int64
			r.watcher.SetFeedClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			// Uniform hashes, as HMAC output is: the filter's probes are
			// the hash's own bits.
			h1, h2, h3 := randomHash13(t), randomHash13(t), randomHash13(t)
			a, b := feedToken("a", apitoken.ReadOnly), feedToken("b", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, a, h1))
			require.NoError(t, r.writer.Create(ctx, b, h2))

			clk := apitokentest.NewClock()
			c := cache.New(r.watcher, cache.Options{Clock: clk, NegativeTTL: -1, Logger: slog.New(slog.DiscardHandler)})
			t.Cleanup(func() { c.Close() })
			require.Eventually(t, func() bool { return c.FeedStats().FilterKeys > 0 }, 30*time.Second, time.Millisecond)
			_, err := c.GetByHash(ctx, h1)
			require.NoError(t, err)

			// A script gives a a new key in a transaction that takes its
			// log number first and commits long after another's.
			slow, err := r.db.BeginTx(ctx, nil)
			require.NoError(t, err)
			r.exec(t, slow, "UPDATE {{p}}tokens SET key_hash = ? WHERE id = ?", h3.Hex(), a.ID)
			other, err := r.db.BeginTx(ctx, nil)
			require.NoError(t, err)
			r.exec(t, other, "UPDATE {{p}}tokens SET description = 'other' WHERE id = ?", b.ID)
			require.NoError(t, other.Commit())
			require.NoError(t, r.watcher.Sync(ctx))
			offset.Add(int64(2 * sqlstore.GapTimeout))
			require.NoError(t, r.watcher.Sync(ctx)) // gives up waiting
			offset.Add(int64(2 * time.Minute))
			require.NoError(t, r.watcher.Sync(ctx)) // stops looking for it
			require.NoError(t, slow.Commit())
			require.NoError(t, r.watcher.Sync(ctx))

			got, err := r.writer.GetByHash(ctx, h3)
			require.NoError(t, err, "the store has the new key")
			require.Equal(t, a.ID, got.ID)
			for range 3 {
				_, err = c.GetByHash(ctx, h3)
				assert.NoError(t, err, "the cache refuses a stored key, after a Sync, with no bound in time")
				clk.Add(cache.DefaultFeedTTL + cache.DefaultTTL) // past every TTL
			}
			assert.Zero(t, c.FeedStats().Filtered, "refused by the filter, without asking the store")
		})
	}
}

func randomHash13(t *testing.T) apitoken.Hash {
	var h apitoken.Hash
	_, err := rand.Read(h[:])
	require.NoError(t, err)
	return h
}

// TestAttack13GapHidesChangesPastOneBatch: while a seq is missing (a
// transaction still open), every poll reads the log from below it, and a
// batch holds pollBatch (5,000) rows: once that many changes were
// committed above the gap, each poll reads the same rows, all seen, and
// stops there. Changes committed after them are not delivered until the
// gap is given up on (gapTimeout, 5 s; never while the watch's clock says
// it is not yet due), yet Sync returns: a key created on another instance
// after a burst of changes (a bulk import) is refused by the cache's
// filter although Sync said the feed had caught up.
func TestAttack13GapHidesChangesPastOneBatch(t *testing.T) {
	for _, e := range engines {
		if e.dialect == sqlstore.SQLite {
			continue // one writer at a time: no gaps
		}
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			frozen := time.Now()
			r.watcher.SetFeedClock(func() time.Time { return frozen }) // the gap is not due yet
			h1, h2, h3 := randomHash13(t), randomHash13(t), randomHash13(t)
			a, b := feedToken("a", apitoken.ReadOnly), feedToken("b", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, a, h1))
			require.NoError(t, r.writer.Create(ctx, b, h2))
			c := cache.New(r.watcher, cache.Options{NegativeTTL: -1, Logger: slog.New(slog.DiscardHandler)})
			t.Cleanup(func() { c.Close() })
			require.Eventually(t, func() bool { return c.FeedStats().FilterKeys > 0 }, 30*time.Second, time.Millisecond)

			open, err := r.db.BeginTx(ctx, nil)
			require.NoError(t, err)
			t.Cleanup(func() { open.Rollback() })
			r.exec(t, open, "UPDATE {{p}}tokens SET description = 'open' WHERE id = ?", a.ID)

			bulk, err := r.db.BeginTx(ctx, nil)
			require.NoError(t, err)
			for i := range 5001 {
				r.exec(t, bulk, "UPDATE {{p}}tokens SET description = ? WHERE id = ?", fmt.Sprint("bulk ", i), b.ID)
			}
			require.NoError(t, bulk.Commit())
			require.NoError(t, r.watcher.Sync(ctx))

			d := feedToken("made after the burst", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, d, h3))
			require.NoError(t, r.watcher.Sync(ctx))
			_, err = c.GetByHash(ctx, h3)
			assert.NoError(t, err, "a key created before a successful Sync is refused")
		})
	}
}

// TestAttack13LateRunStarvesTheFeed: a bulk transaction of more than
// pollBatch (5,000) changes that commits after the watch gave up on its
// seqs is looked for with BETWEEN, and its rows, below low, come first in
// every poll's ORDER BY seq LIMIT 5000: the first batch reports its first
// 5,000 rows, every later batch reads those same rows again, all seen, and
// stops. For the minute the run is looked for, nothing else is delivered
// (a key created elsewhere is refused by the cache after a Sync), and the
// run's rows past the first 5,000 are never reported at all (a key the
// transaction gave another token stays refused with no bound).
func TestAttack13LateRunStarvesTheFeed(t *testing.T) {
	for _, e := range engines {
		if e.dialect == sqlstore.SQLite {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			var offset atomic.Int64
			r.watcher.SetFeedClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			ha, hb, hx, hNew, hMade := randomHash13(t), randomHash13(t), randomHash13(t), randomHash13(t), randomHash13(t)
			a, b, x := feedToken("a", apitoken.ReadOnly), feedToken("b", apitoken.ReadOnly), feedToken("x", apitoken.ReadOnly)
			for _, c := range []struct {
				tok *apitoken.Token
				h   apitoken.Hash
			}{{a, ha}, {b, hb}, {x, hx}} {
				require.NoError(t, r.writer.Create(ctx, c.tok, c.h))
			}
			clk := apitokentest.NewClock()
			c := cache.New(r.watcher, cache.Options{Clock: clk, NegativeTTL: -1, Logger: slog.New(slog.DiscardHandler)})
			t.Cleanup(func() { c.Close() })
			require.Eventually(t, func() bool { return c.FeedStats().FilterKeys > 0 }, 30*time.Second, time.Millisecond)

			// The bulk transaction: 5,000 changes of a, then a new key
			// for x; another commits after it took its numbers.
			bulk, err := r.db.BeginTx(ctx, nil)
			require.NoError(t, err)
			t.Cleanup(func() { bulk.Rollback() })
			for i := range 5000 {
				r.exec(t, bulk, "UPDATE {{p}}tokens SET description = ? WHERE id = ?", fmt.Sprint("bulk ", i), a.ID)
			}
			r.exec(t, bulk, "UPDATE {{p}}tokens SET key_hash = ? WHERE id = ?", hNew.Hex(), x.ID)
			r.exec(t, r.db, "UPDATE {{p}}tokens SET description = 'other' WHERE id = ?", b.ID)
			require.NoError(t, r.watcher.Sync(ctx))
			offset.Add(int64(2 * sqlstore.GapTimeout))
			require.NoError(t, r.watcher.Sync(ctx)) // gives up waiting: a late run
			require.NoError(t, bulk.Commit())
			require.NoError(t, r.watcher.Sync(ctx)) // reports its first 5,000 rows

			made := feedToken("made elsewhere", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, made, hMade))
			offset.Add(int64(30 * time.Second))
			require.NoError(t, r.watcher.Sync(ctx))
			_, err = c.GetByHash(ctx, hMade)
			assert.NoError(t, err, "a key created before a successful Sync, half a minute later")

			offset.Add(int64(2 * time.Minute)) // the late run is no longer looked for
			require.NoError(t, r.watcher.Sync(ctx))
			require.NoError(t, r.watcher.Sync(ctx))
			got, err := r.writer.GetByHash(ctx, hNew)
			require.NoError(t, err)
			require.Equal(t, x.ID, got.ID)
			_, err = c.GetByHash(ctx, hNew)
			assert.NoError(t, err, "x's new key, committed in the bulk transaction, is never reported")
			clk.Add(cache.DefaultFeedTTL + cache.DefaultTTL)
			_, err = c.GetByHash(ctx, hNew)
			assert.NoError(t, err, "nor refused only for a TTL")
		})
	}
}
