package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/sqlstore/pgnotify"
)

// postgres is the PostgreSQL engine of engines.
var postgres = engines[1]

// TestPgnotifyWakes: with pgnotify.Wake, a change is reported well
// within a poll interval of a minute, so by the push; after the listening
// connection is killed Wake reconnects and pushes again.
func TestPgnotifyWakes(t *testing.T) {
	ctx := context.Background()
	r := newFeedRig(t, postgres, sqlstore.Options{PollInterval: time.Minute, Wake: pgnotify.Wake(testenv.DSN(t, testenv.PostgresEnv))})
	rec := watch(t, r.watcher)

	pushed := func(i int) time.Duration {
		t.Helper()
		tok := feedToken(fmt.Sprint("push", i), apitoken.ReadOnly)
		require.NoError(t, r.writer.Create(ctx, tok, hash(byte(i))))
		start := time.Now()
		c := rec.next(t, 20*time.Second) // a poll would take a minute: this is the push
		took := time.Since(start)
		require.Equal(t, tok.ID, c.ID)
		return took
	}
	var worst time.Duration
	for i := range 5 {
		worst = max(worst, pushed(i))
	}
	t.Logf("pushed within %v (worst of 5)", worst)

	// Kill the listening connection; Wake reconnects, and says so
	// with a wake-up, which makes a poll that finds nothing new.
	listen := `LISTEN "` + r.prefix + `changes"`
	var killed int
	require.NoError(t, r.db.QueryRow("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1", listen).Scan(&killed))
	require.Equal(t, 1, killed, "one listening connection")
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, r.db.QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE query = $1", listen).Scan(&n))
		return n == 1
	}, 10*time.Second, 20*time.Millisecond, "listening again")
	t.Logf("pushed within %v after reconnecting", pushed(99))
}

// TestPgnotifyChannelName: a channel name that is not a plain identifier
// is quoted, not spliced.
func TestPgnotifyChannelName(t *testing.T) {
	dsn := testenv.DSN(t, testenv.PostgresEnv)
	ctx, cancel := context.WithCancel(context.Background())
	const name = `Odd "name"; NOTIFY x`
	woken, err := pgnotify.Wake(dsn)(ctx, name)
	require.NoError(t, err)

	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "SELECT pg_notify($1, '')", name)
	require.NoError(t, err)
	select {
	case _, ok := <-woken:
		require.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up")
	}

	cancel()
	select {
	case _, ok := <-woken:
		assert.False(t, ok, "closed once ctx ends")
	case <-time.After(10 * time.Second):
		t.Fatal("the channel was not closed after ctx ended")
	}
}

// TestPgnotifyUnreachable: a Wake that cannot connect makes
// WatchChanges fail at once, before any Reset.
func TestPgnotifyUnreachable(t *testing.T) {
	for _, dsn := range []string{"postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "postgres://[bad"} {
		r := newFeedRig(t, postgres, sqlstore.Options{Wake: pgnotify.Wake(dsn)})
		err := r.watcher.WatchChanges(context.Background(), func(apitoken.Change) { t.Error("reported") })
		assert.ErrorContains(t, err, "pgnotify", dsn)
	}
}

// TestFeedPostgresWriterRole: a role allowed to write only the tokens and
// permissions tables can still change them, since the triggers write the
// log as their owner; and a temporary table of its own named like the log
// does not catch the change.
func TestFeedPostgresWriterRole(t *testing.T) {
	ctx := context.Background()
	r := newFeedRig(t, postgres, sqlstore.Options{PollInterval: time.Minute})
	rec := watch(t, r.watcher)
	tok := feedToken("role", apitoken.ReadOnly)
	require.NoError(t, r.writer.Create(ctx, tok, hash(1)))
	require.NoError(t, r.watcher.Sync(ctx))
	rec.take()

	role := r.prefix + "writer"
	r.exec(t, r.db, "CREATE ROLE "+role)
	t.Cleanup(func() {
		r.db.Exec("DROP OWNED BY " + role)
		r.db.Exec("DROP ROLE " + role)
	})
	r.exec(t, r.db, "GRANT SELECT, INSERT, UPDATE, DELETE ON {{p}}tokens, {{p}}permissions TO "+role)

	db := r.open(t) // its own pool: the session ends with it, before the role is dropped
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	r.exec(t, conn, "SET ROLE "+role)
	r.exec(t, conn, "CREATE TEMPORARY TABLE {{p}}changes (seq bigint, token_id text, changed_at timestamptz)")
	r.exec(t, conn, "UPDATE {{p}}tokens SET type = 'full-access' WHERE id = ?", tok.ID)
	require.NoError(t, conn.Close())
	require.NoError(t, db.Close())

	require.NoError(t, r.watcher.Sync(ctx))
	assert.Equal(t, changed(tok.ID, hash(1)), rec.take())
}
