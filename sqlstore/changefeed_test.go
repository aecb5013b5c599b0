package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/faultproxy"
	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// feedRig is one database with a store's tables and two instances on them,
// each with a pool of its own, as two servers would have: writer makes
// changes, watcher watches.
type feedRig struct {
	e       engine
	dsn     string
	prefix  string
	db      *sql.DB // for a script's raw SQL
	writer  *sqlstore.Store
	watcher *sqlstore.Store
}

func newFeedRig(t *testing.T, e engine, opts sqlstore.Options) *feedRig {
	t.Helper()
	r := &feedRig{e: e, dsn: e.dsn(t)} // one SQLite file for all pools
	r.db = r.open(t)
	r.writer, r.prefix = newStorePrefix(t, r.db, e.dialect)
	r.watcher = r.instance(t, opts)
	return r
}

// open returns a new pool on the rig's database.
func (r *feedRig) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(r.e.driver, r.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	configure(db, r.e.dialect)
	return db
}

// instance returns another Store on the rig's tables, with a pool of its
// own.
func (r *feedRig) instance(t *testing.T, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	opts.Dialect, opts.TablePrefix = r.e.dialect, r.prefix
	s, err := sqlstore.New(r.open(t), opts)
	require.NoError(t, err)
	return s
}

// exec runs a script's statement, with ? placeholders and {{p}} for the
// table prefix.
func (r *feedRig) exec(t *testing.T, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) {
	t.Helper()
	query = strings.ReplaceAll(query, "{{p}}", r.prefix)
	if r.e.dialect == sqlstore.Postgres {
		query = sqlq.Numbered(query)
	}
	_, err := ex.ExecContext(context.Background(), query, args...)
	require.NoError(t, err, query)
}

// recorder collects what one WatchChanges reports.
type recorder struct {
	ch   chan apitoken.Change
	done chan error
}

// watch runs WatchChanges on s until the test ends, and returns once it
// reported its first Reset.
func watch(t *testing.T, s *sqlstore.Store) *recorder {
	t.Helper()
	rec := &recorder{ch: make(chan apitoken.Change, 4096), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { rec.done <- s.WatchChanges(ctx, func(c apitoken.Change) { rec.ch <- c }) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-rec.done, context.Canceled)
	})
	select {
	case c := <-rec.ch:
		require.Equal(t, apitoken.Change{Reset: true}, c, "the first report is a Reset")
	case err := <-rec.done:
		require.FailNow(t, "WatchChanges ended before its first Reset", "%v", err)
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no Reset within 30s")
	}
	return rec
}

// take returns what was reported and not yet taken.
func (rec *recorder) take() []apitoken.Change {
	var cs []apitoken.Change
	for {
		select {
		case c := <-rec.ch:
			cs = append(cs, c)
		default:
			return cs
		}
	}
}

// next waits up to d for the next report.
func (rec *recorder) next(t *testing.T, d time.Duration) apitoken.Change {
	t.Helper()
	select {
	case c := <-rec.ch:
		return c
	case err := <-rec.done:
		require.FailNow(t, "WatchChanges ended", "%v", err)
	case <-time.After(d):
		require.FailNow(t, "nothing reported", "within %v", d)
	}
	return apitoken.Change{}
}

// feedToken returns a new token named name.
func feedToken(name string, typ apitoken.Type, perms ...string) *apitoken.Token {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &apitoken.Token{ID: uuid.NewString(), Name: name, Type: typ, Permissions: perms, CreatedAt: now, UpdatedAt: now}
}

// hash returns a distinct hash for each b.
func hash(b byte) apitoken.Hash { return apitoken.Hash{b, 0xfe} }

func changed(id string, hs ...apitoken.Hash) []apitoken.Change {
	return []apitoken.Change{{ID: id, Hashes: hs}}
}

// TestFeedEveryKindOfWrite: every write through another instance is
// reported once, with the key hashes the token has after it, and so is a
// script's raw SQL to the tokens and permissions tables; a use (Touch,
// TouchMany, a script setting last_used_at) is not.
func TestFeedEveryKindOfWrite(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			// Polls only when Sync asks.
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			rec := watch(t, r.watcher)
			w := r.writer
			sync := func() []apitoken.Change {
				t.Helper()
				require.NoError(t, r.watcher.Sync(ctx))
				return rec.take()
			}

			tok := feedToken("every", apitoken.Custom, "api::a.a.find", "api::b.b.find")
			require.NoError(t, w.Create(ctx, tok, hash(1)))
			assert.Equal(t, changed(tok.ID, hash(1)), sync(), "Create, with its permissions, is one change")

			_, err := w.Update(ctx, tok.ID, func(t *apitoken.Token) error {
				t.Description, t.Permissions = "new", []string{"api::c.c.find"}
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, changed(tok.ID, hash(1)), sync(), "Update")

			later := time.Now().Add(time.Hour)
			require.NoError(t, w.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: hash(2), UpdatedAt: time.Now(), PreviousValidUntil: later}))
			assert.Equal(t, changed(tok.ID, hash(2), hash(1)), sync(), "SetKey keeping the previous key")

			require.NoError(t, w.MoveKey(ctx, tok.ID, hash(2), hash(3), "salt2"))
			assert.Equal(t, changed(tok.ID, hash(3), hash(1)), sync(), "MoveKey")

			require.NoError(t, w.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: hash(4), UpdatedAt: time.Now()}))
			assert.Equal(t, changed(tok.ID, hash(4)), sync(), "SetKey")

			ok, err := w.Touch(ctx, tok.ID, time.Now(), time.Now())
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, w.TouchMany(ctx, []apitoken.Use{{ID: tok.ID, At: time.Now().Add(time.Minute), NotAfter: time.Now().Add(time.Minute)}}))
			r.exec(t, r.db, "UPDATE {{p}}tokens SET last_used_at = created_at WHERE id = ?", tok.ID)
			assert.Empty(t, sync(), "uses are not changes")

			r.exec(t, r.db, "INSERT INTO {{p}}permissions (token_id, action) VALUES (?, 'api::d.d.find')", tok.ID)
			assert.Equal(t, changed(tok.ID, hash(4)), sync(), "a script adds a permission")
			r.exec(t, r.db, "DELETE FROM {{p}}permissions WHERE token_id = ? AND action = 'api::c.c.find'", tok.ID)
			assert.Equal(t, changed(tok.ID, hash(4)), sync(), "a script removes a permission")
			r.exec(t, r.db, "UPDATE {{p}}tokens SET type = 'read-only' WHERE id = ?", tok.ID)
			assert.Equal(t, changed(tok.ID, hash(4)), sync(), "a script changes the type")
			r.exec(t, r.db, "UPDATE {{p}}tokens SET prev_key_hash = ? WHERE id = ?", hash(5).Hex(), tok.ID)
			assert.Equal(t, changed(tok.ID, hash(4), hash(5)), sync(), "a script sets a previous key")

			require.NoError(t, w.Delete(ctx, tok.ID))
			assert.Equal(t, changed(tok.ID), sync(), "Delete: no hashes")

			tok2 := feedToken("script", apitoken.ReadOnly)
			require.NoError(t, w.Create(ctx, tok2, hash(6)))
			assert.Equal(t, changed(tok2.ID, hash(6)), sync())
			r.exec(t, r.db, "DELETE FROM {{p}}tokens WHERE id = ?", tok2.ID)
			assert.Equal(t, changed(tok2.ID), sync(), "a script deletes a token")

			var n int
			require.NoError(t, r.db.QueryRow("SELECT COUNT(*) FROM "+r.prefix+"changes").Scan(&n))
			assert.Positive(t, n, "the log is in the database")
		})
	}
}

// TestFeedOutOfOrderCommit: a change whose transaction took its sequence
// number before another's but commits after it is still reported: on time
// while the watch waits for the gap, late once it gave up on it. SQLite
// has one writer at a time, so its numbers commit in order.
func TestFeedOutOfOrderCommit(t *testing.T) {
	for _, e := range engines {
		if e.dialect == sqlstore.SQLite {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			var offset atomic.Int64 // how far the watch's clock is ahead
			r.watcher.SetFeedClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			rec := watch(t, r.watcher)
			sync := func() []apitoken.Change {
				t.Helper()
				require.NoError(t, r.watcher.Sync(ctx))
				return rec.take()
			}
			a, b := feedToken("a", apitoken.ReadOnly), feedToken("b", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, a, hash(1)))
			require.NoError(t, r.writer.Create(ctx, b, hash(2)))
			require.Len(t, sync(), 2)

			// first writes a, taking a sequence number; second writes b,
			// taking the next, and commits first.
			interleave := func(describe string) (first *sql.Tx) {
				t.Helper()
				first, err := r.db.BeginTx(ctx, nil)
				require.NoError(t, err)
				r.exec(t, first, "UPDATE {{p}}tokens SET description = ? WHERE id = ?", describe, a.ID)
				second, err := r.db.BeginTx(ctx, nil)
				require.NoError(t, err)
				r.exec(t, second, "UPDATE {{p}}tokens SET description = ? WHERE id = ?", describe, b.ID)
				require.NoError(t, second.Commit())
				assert.Equal(t, changed(b.ID, hash(2)), sync(), "the later number, committed")
				return first
			}

			tx := interleave("on time")
			offset.Add(int64(sqlstore.GapTimeout / 2))
			assert.Empty(t, sync(), "the gap is waited for")
			require.NoError(t, tx.Commit())
			assert.Equal(t, changed(a.ID, hash(1)), sync(), "the earlier number, committed after")

			tx = interleave("late")
			offset.Add(int64(2 * sqlstore.GapTimeout))
			assert.Empty(t, sync(), "the watch gives up waiting")
			require.NoError(t, tx.Commit())
			assert.Equal(t, changed(a.ID, hash(1)), sync(), "a late commit is still reported")

			tx = interleave("rolled back")
			require.NoError(t, tx.Rollback())
			offset.Add(int64(2 * sqlstore.GapTimeout))
			assert.Empty(t, sync(), "a rolled-back change is not one")
			r.exec(t, r.db, "UPDATE {{p}}tokens SET description = 'after' WHERE id = ?", a.ID)
			assert.Equal(t, changed(a.ID, hash(1)), sync(), "the watch went on past the gap")
		})
	}
}

// TestFeedSync: Sync fails without a watch; each of concurrent Syncs
// returns only once the change its caller had just committed was
// delivered, with no poll but theirs; with two watches it waits for both.
func TestFeedSync(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			require.ErrorIs(t, r.watcher.Sync(ctx), sqlstore.ErrNotWatching)
			rec := watch(t, r.watcher)

			const n = 8
			var mu sync.Mutex
			delivered := make(map[string]bool)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					tok := feedToken(fmt.Sprint("sync", i), apitoken.ReadOnly)
					if !assert.NoError(t, r.writer.Create(ctx, tok, hash(byte(i)))) ||
						!assert.NoError(t, r.watcher.Sync(ctx)) {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, c := range rec.take() {
						delivered[c.ID] = true
					}
					assert.True(t, delivered[tok.ID], "delivered before Sync returned")
				})
			}
			wg.Wait()

			rec2 := watch(t, r.watcher)
			tok := feedToken("two", apitoken.ReadOnly)
			require.NoError(t, r.writer.Create(ctx, tok, hash(99)))
			require.NoError(t, r.watcher.Sync(ctx))
			assert.Equal(t, changed(tok.ID, hash(99)), rec.take())
			assert.Equal(t, changed(tok.ID, hash(99)), rec2.take())

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			assert.ErrorIs(t, r.watcher.Sync(cancelled), context.Canceled)
		})
	}
}

// TestFeedPrune: pruning removes old entries, from any instance; a watch
// that had not read what was pruned reports Reset and goes on, and one that
// had does not.
func TestFeedPrune(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute})
			behind := watch(t, r.watcher)
			current := r.instance(t, sqlstore.Options{PollInterval: time.Minute})
			ahead := watch(t, current)

			a := feedToken("a", apitoken.Custom, "api::a.a.find")
			require.NoError(t, r.writer.Create(ctx, a, hash(1)))
			require.NoError(t, current.Sync(ctx))
			assert.Equal(t, changed(a.ID, hash(1)), ahead.take())
			// behind has not polled since a was created.
			require.NoError(t, r.writer.PruneChanges(ctx, 0))
			require.NoError(t, r.writer.PruneChanges(ctx, 0), "pruning again is harmless")
			var n int
			require.NoError(t, r.db.QueryRow("SELECT COUNT(*) FROM "+r.prefix+"changes").Scan(&n))
			assert.Equal(t, 1, n, "all but the mark where the log was cut")

			require.NoError(t, r.watcher.Sync(ctx))
			assert.Equal(t, []apitoken.Change{{Reset: true}}, behind.take(), "a watch behind the cut is reset")
			require.NoError(t, current.Sync(ctx))
			assert.Empty(t, ahead.take(), "a watch past the cut is not")

			require.NoError(t, r.writer.SetKey(ctx, a.ID, apitoken.NewKey{Hash: hash(2), UpdatedAt: time.Now()}))
			require.NoError(t, r.watcher.Sync(ctx))
			assert.Equal(t, changed(a.ID, hash(2)), behind.take(), "and both go on")
			require.NoError(t, current.Sync(ctx))
			assert.Equal(t, changed(a.ID, hash(2)), ahead.take())

			require.NoError(t, r.writer.PruneChanges(ctx, time.Hour))
			require.NoError(t, r.db.QueryRow("SELECT COUNT(*) FROM "+r.prefix+"changes").Scan(&n))
			assert.Greater(t, n, 1, "recent entries stay")
		})
	}
}

// TestFeedLatency: with the default PollInterval, a change made by another
// instance is reported without Sync, and how soon is logged.
func TestFeedLatency(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			rec := watch(t, r.watcher)
			// Each change is made just after a poll delivered the last
			// one, so each waits about the whole interval: the worst case.
			var worst time.Duration
			const n = 5
			for i := range n {
				tok := feedToken(fmt.Sprint("latency", i), apitoken.ReadOnly)
				require.NoError(t, r.writer.Create(ctx, tok, hash(byte(i))))
				start := time.Now()
				c := rec.next(t, 10*time.Second)
				took := time.Since(start)
				require.Equal(t, tok.ID, c.ID)
				worst = max(worst, took)
			}
			// The bound is the interval plus one poll, about 251 ms
			// here; it is logged rather than asserted, since a loaded
			// machine stretches any wall-clock bound.
			t.Logf("%s: poll every %v: reported within %v", e.name, sqlstore.DefaultPollInterval, worst)
		})
	}
}

// TestFeedLostDatabase: a watch whose database goes away returns an error,
// not ctx's, rather than spin or hang, and so does a Sync waiting on it;
// a new watch fails at once. PostgreSQL and MySQL are cut off by a proxy
// that resets every connection and refuses new ones; SQLite's pool is
// closed.
func TestFeedLostDatabase(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			cut := func() {}
			watchDB := r.open(t)
			if e.dialect == sqlstore.MySQL {
				// The driver logs every reset connection.
				mysql.SetLogger(log.New(io.Discard, "", 0))
			}
			if e.dialect != sqlstore.SQLite {
				proxied, target := viaProxy(t, e, r.dsn)
				p, err := faultproxy.New(target)
				require.NoError(t, err)
				t.Cleanup(func() { p.Close() })
				watchDB, err = sql.Open(e.driver, proxied(p.Addr()))
				require.NoError(t, err)
				t.Cleanup(func() { watchDB.Close() })
				cut = func() { p.SetMode(faultproxy.Refuse); p.Reset() }
			} else {
				cut = func() { watchDB.Close() }
			}
			s, err := sqlstore.New(watchDB, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix, PollInterval: time.Minute})
			require.NoError(t, err)
			done := make(chan error, 1)
			started := make(chan struct{})
			var once sync.Once
			go func() {
				done <- s.WatchChanges(ctx, func(apitoken.Change) { once.Do(func() { close(started) }) })
			}()
			<-started
			require.NoError(t, s.Sync(ctx))

			cut()
			start := time.Now()
			assert.Error(t, s.Sync(ctx), "Sync on a lost database")
			select {
			case err := <-done:
				t.Logf("returned after %v: %v", time.Since(start), err)
				require.Error(t, err)
				assert.NotErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), "sqlstore: watch changes")
			case <-time.After(10 * time.Second):
				t.Fatal("WatchChanges did not return when its database went away")
			}
			assert.ErrorIs(t, s.Sync(ctx), sqlstore.ErrNotWatching)
			assert.Error(t, s.WatchChanges(ctx, func(apitoken.Change) { t.Error("a watch on a lost database reported") }))
		})
	}
}

// TestFeedStalledDatabase: a watch whose database stops answering (a hung
// server, a black-holed network: no error, no reply) fails within the poll
// timeout, so that the cache falls back to its TTL instead of taking
// silence for a quiet log. The proxy holds the traffic; PostgreSQL's driver
// has no read timeout of its own.
func TestFeedStalledDatabase(t *testing.T) {
	for _, e := range engines {
		if e.dialect == sqlstore.SQLite {
			continue // in-process: it cannot stall
		}
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			proxied, target := viaProxy(t, e, r.dsn)
			p, err := faultproxy.New(target)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			dsn := proxied(p.Addr())
			if e.dialect == sqlstore.MySQL {
				cfg, err := mysql.ParseDSN(dsn)
				require.NoError(t, err)
				cfg.ReadTimeout, cfg.WriteTimeout = 0, 0 // none, as by default
				dsn = cfg.FormatDSN()
			}
			watchDB, err := sql.Open(e.driver, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { watchDB.Close() })
			s, err := sqlstore.New(watchDB, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix, PollInterval: 10 * time.Millisecond})
			require.NoError(t, err)
			s.SetPollTimeout(200 * time.Millisecond)
			done := make(chan error, 1)
			rec := make(chan struct{}, 1)
			go func() {
				done <- s.WatchChanges(ctx, func(apitoken.Change) {
					select {
					case rec <- struct{}{}:
					default:
					}
				})
			}()
			<-rec
			require.NoError(t, s.Sync(ctx))

			p.SetMode(faultproxy.Stall)
			t.Cleanup(func() { p.SetMode(faultproxy.Pass) })
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "sqlstore: watch changes")
			case <-time.After(10 * time.Second):
				t.Fatal("WatchChanges went on waiting on a stalled database")
			}
		})
	}
}

// TestFeedChangedAtIsWriteTime: on PostgreSQL a change is stamped with the
// time it was written, not its transaction's start (now()), which would
// make a long transaction's changes look older than the changes of others
// that it raced, and a watch could start above them.
func TestFeedChangedAtIsWriteTime(t *testing.T) {
	for _, e := range engines {
		if e.dialect != sqlstore.Postgres {
			continue
		}
		r := newFeedRig(t, e, sqlstore.Options{})
		var def string
		require.NoError(t, r.db.QueryRow(`SELECT column_default FROM information_schema.columns
			WHERE table_name = $1 AND column_name = 'changed_at'`, r.prefix+"changes").Scan(&def))
		assert.Equal(t, "clock_timestamp()", def)
	}
}

// viaProxy returns the target host:port of dsn, and a function that writes
// dsn through another address, with short timeouts.
func viaProxy(t *testing.T, e engine, dsn string) (func(addr string) string, string) {
	t.Helper()
	if e.dialect == sqlstore.Postgres {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		target := u.Host
		return func(addr string) string {
			u.Host = addr
			q := u.Query()
			q.Set("connect_timeout", "2")
			u.RawQuery = q.Encode()
			return u.String()
		}, target
	}
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	target := cfg.Addr
	return func(addr string) string {
		cfg.Addr = addr
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
		return cfg.FormatDSN()
	}, target
}

// ids returns the ids of cs that are not Resets.
func ids(cs []apitoken.Change) []string {
	var out []string
	for _, c := range cs {
		if !c.Reset {
			out = append(out, c.ID)
		}
	}
	return out
}

// TestFeedReportsEveryWriter: changes made by another Store instance on the
// same tables, and by a script with plain SQL, are reported; the watch
// returns an error when its database goes away.
func TestFeedReportsEveryWriter(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			watchDB := r.open(t) // closed by the test, to lose the database
			watcher, err := sqlstore.New(watchDB, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix, PollInterval: 20 * time.Millisecond})
			require.NoError(t, err)
			rec := &recorder{ch: make(chan apitoken.Change, 4096), done: make(chan error, 1)}
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() { rec.done <- watcher.WatchChanges(wctx, func(c apitoken.Change) { rec.ch <- c }) }()
			require.Eventually(t, func() bool { return watcher.Sync(ctx) == nil }, 10*time.Second, 10*time.Millisecond)

			tok := feedToken("w", apitoken.FullAccess)
			require.NoError(t, r.writer.Create(ctx, tok, apitoken.Hash{9}))
			require.NoError(t, watcher.Sync(ctx))
			assert.Equal(t, []string{tok.ID}, ids(rec.take()), "created by another instance")

			r.exec(t, r.db, "UPDATE {{p}}tokens SET type = 'read-only' WHERE id = ?", tok.ID)
			require.NoError(t, watcher.Sync(ctx))
			assert.Equal(t, []string{tok.ID}, ids(rec.take()), "downgraded by a script")

			r.exec(t, r.db, "DELETE FROM {{p}}tokens")
			require.NoError(t, watcher.Sync(ctx))
			assert.Contains(t, ids(rec.take()), tok.ID, "deleted by a script")

			require.NoError(t, watchDB.Close())
			select {
			case err := <-rec.done:
				assert.Error(t, err, "the watch reports its lost database")
				assert.NotErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("WatchChanges did not return when its database closed")
			}
			assert.ErrorIs(t, watcher.Sync(ctx), sqlstore.ErrNotWatching)
		})
	}
}
