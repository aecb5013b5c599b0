package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// replicaRig is a feedRig whose watcher reads from a replica: a second
// database with the same tables, which the test "replicates" into by copying
// the primary's rows when it chooses, so that it sets the replica's lag
// exactly. The copy marks every token's description replicaMark (the
// harmless difference that shows which database answered a read), and the
// replica has no triggers, as a real replica replays the primary's log rows
// rather than firing its own.
type replicaRig struct {
	*feedRig
	replica    *sql.DB
	replicaDSN string
	store      *sqlstore.Store // r.watcher, reading from the replica
}

// replicaDatabase is a database standing in for a replica.
type replicaDatabase struct {
	db  *sql.DB
	dsn string
}

// replicaMark is the description of every token on the replica.
const replicaMark = "read from the replica"

// newReplicaRig returns a rig whose store polls only when Sync asks, with
// tables of its own in rd, from replicaDB. No watch runs yet.
func newReplicaRig(t *testing.T, e engine, rd replicaDatabase) *replicaRig {
	t.Helper()
	rdb := rd.db
	r := &replicaRig{replica: rdb, replicaDSN: rd.dsn}
	r.feedRig = newFeedRig(t, e, sqlstore.Options{PollInterval: time.Minute, Replica: rdb})
	r.store = r.watcher
	schema, err := sqlstore.New(rdb, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix})
	require.NoError(t, err)
	dropTables(t, rdb, e.dialect, r.prefix)
	require.NoError(t, schema.Migrate(context.Background()))
	dropTriggers(t, rdb, e.dialect, r.prefix)
	return r
}

// replicaDB returns a pool on a new, empty database standing in for a
// replica of e's test database, dropped when the test ends. Rigs share it,
// each with its own tables.
func replicaDB(t *testing.T, e engine) replicaDatabase {
	t.Helper()
	var dsn string
	switch e.dialect {
	case sqlstore.SQLite:
		dsn = e.dsn(t) // a file of its own
	case sqlstore.Postgres:
		base := e.dsn(t)
		name := strings.TrimSuffix(freshPrefix(t), "_") + "_replica"
		admin := e.open(t)
		_, err := admin.Exec("CREATE DATABASE " + name)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			assert.NoError(t, err)
		})
		u, err := url.Parse(base)
		require.NoError(t, err)
		u.Path = "/" + name
		dsn = u.String()
	case sqlstore.MySQL:
		base := e.dsn(t)
		name := strings.TrimSuffix(freshPrefix(t), "_") + "_replica"
		admin := e.open(t)
		_, err := admin.Exec("CREATE DATABASE " + name)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.Exec("DROP DATABASE IF EXISTS " + name)
			assert.NoError(t, err)
		})
		cfg, err := mysql.ParseDSN(base)
		require.NoError(t, err)
		cfg.DBName = name
		dsn = cfg.FormatDSN()
	}
	db, err := sql.Open(e.driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() }) // before the database is dropped
	configure(db, e.dialect)
	return replicaDatabase{db, dsn}
}

// dropTriggers drops the change-log triggers of the store's tables in db.
func dropTriggers(t *testing.T, db *sql.DB, d sqlstore.Dialect, prefix string) {
	t.Helper()
	var drops []string
	if d == sqlstore.Postgres {
		drops = []string{"tokens_change ON " + prefix + "tokens", "tokens_update_change ON " + prefix + "tokens",
			"permissions_change ON " + prefix + "permissions"}
	} else {
		for _, table := range []string{"tokens", "permissions"} {
			for _, op := range []string{"insert", "update", "delete"} {
				drops = append(drops, table+"_"+op+"_change")
			}
		}
	}
	for _, drop := range drops {
		_, err := db.Exec("DROP TRIGGER " + prefix + drop)
		require.NoError(t, err, drop)
	}
}

// replicate makes the replica a copy of the primary as it is now: every
// row of the tokens, permissions and change log, read in one snapshot and
// written in one transaction, as a replica replays what committed.
func (r *replicaRig) replicate(t testing.TB) {
	t.Helper()
	require.NoError(t, r.copyAll(context.Background()), "replicating")
}

func (r *replicaRig) copyAll(ctx context.Context) error {
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if r.e.dialect == sqlstore.SQLite {
		opts = nil // a read transaction is a snapshot; modernc takes no isolation level
	}
	src, err := r.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer src.Rollback() //nolint:errcheck // read-only
	dst, err := r.replica.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer dst.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, table := range []string{"permissions", "tokens", "changes"} {
		if _, err := dst.ExecContext(ctx, "DELETE FROM "+r.prefix+table); err != nil {
			return err
		}
	}
	for _, table := range []string{"tokens", "permissions", "changes"} {
		if err := r.copyTable(ctx, src, dst, table); err != nil {
			return fmt.Errorf("copying %s: %w", table, err)
		}
	}
	if _, err := dst.ExecContext(ctx, r.rebind("UPDATE "+r.prefix+"tokens SET description = ?"), replicaMark); err != nil {
		return err
	}
	return dst.Commit()
}

// copyTable copies every row of one table, 100 rows a statement.
func (r *replicaRig) copyTable(ctx context.Context, src, dst *sql.Tx, table string) error {
	rows, err := src.QueryContext(ctx, "SELECT * FROM "+r.prefix+table)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		override := ""
		if r.e.dialect == sqlstore.Postgres && table == "changes" {
			override = " OVERRIDING SYSTEM VALUE" // seq is GENERATED ALWAYS
		}
		query := fmt.Sprintf("INSERT INTO %s%s (%s)%s VALUES %s", r.prefix, table, strings.Join(cols, ", "), override,
			strings.TrimSuffix(strings.Repeat(tuple+", ", len(batch)/len(cols)), ", "))
		_, err := dst.ExecContext(ctx, r.rebind(query), batch...)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		batch = append(batch, vals...)
		if len(batch) >= 100*len(cols) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// rebind numbers the placeholders of query for PostgreSQL.
func (r *replicaRig) rebind(query string) string {
	if r.e.dialect != sqlstore.Postgres {
		return query
	}
	return sqlq.Numbered(query)
}

// watchReplica runs WatchChanges on the rig's store until stop is called
// or the test ends, and returns once the watch polls.
func (r *replicaRig) watchReplica(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.store.WatchChanges(ctx, func(apitoken.Change) {}) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
		}
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool { return r.store.Sync(ctx) == nil }, 10*time.Second, time.Millisecond)
	return stop
}

// catchUp replicates, and has the store see it: the replica then serves.
func (r *replicaRig) catchUp(t *testing.T) {
	t.Helper()
	r.replicate(t)
	require.NoError(t, r.store.Sync(context.Background()))
	st := r.store.ReplicaStats()
	require.True(t, st.InUse, "the replica caught up, and does not serve: %+v", st)
	require.Zero(t, st.Pinned, "the replica caught up, and tokens are pinned: %+v", st)
}

// from returns which database answered a read that found tok: "replica"
// or "primary".
func from(tok *apitoken.Token) string {
	if tok.Description == replicaMark {
		return "replica"
	}
	return "primary"
}
