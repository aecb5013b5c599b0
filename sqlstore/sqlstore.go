package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// Dialect names the SQL engine behind a *sql.DB. The store cannot tell it
// from the driver without importing drivers, so the caller says which.
type Dialect int

// The supported engines.
const (
	// SQLite, through modernc.org/sqlite (driver name "sqlite").
	SQLite Dialect = iota + 1
	// Postgres, PostgreSQL 12 or later through
	// github.com/jackc/pgx/v5/stdlib (driver name "pgx").
	Postgres
	// MySQL, MySQL 8 or MariaDB 10.5 or later through
	// github.com/go-sql-driver/mysql (driver name "mysql").
	MySQL
)

// String returns the engine's name, as used in test names and errors.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// DefaultTablePrefix starts the names of the store's tables and indexes when
// Options.TablePrefix is empty.
const DefaultTablePrefix = "apitoken_"

// maxPrefixLen keeps every index name within the 63 characters PostgreSQL
// allows (and MySQL's 64).
const maxPrefixLen = 32

// Options configure a Store.
type Options struct {
	// Dialect is the engine behind the *sql.DB. Required.
	Dialect Dialect

	// TablePrefix starts the names of the store's tables and indexes, so
	// that they can share a database with the application's. Default
	// DefaultTablePrefix, "apitoken_". It may hold only lower-case ASCII
	// letters, digits and underscores, must not start with a digit, and is
	// at most 32 characters: it is spliced into SQL, and must mean the same
	// table on every engine without quoting.
	TablePrefix string

	// PollInterval is how often WatchChanges reads the change log when
	// nothing wakes it sooner. Default DefaultPollInterval, 250 ms, which
	// bounds how long a change made elsewhere goes unreported; held
	// between 10 ms and one minute. With Wake set, a longer interval is a
	// fair choice: the poll is then the fallback.
	PollInterval time.Duration

	// Wake, when set on PostgreSQL, lets WatchChanges poll as soon as a
	// change commits instead of at the next PollInterval: the triggers
	// notify the channel named channel (<prefix>changes) and Wake listens
	// to it. WatchChanges calls Wake once, with a context that ends when
	// WatchChanges returns, and returns Wake's error. Wake returns once it
	// listens; its channel receives a value after notifications (one value
	// may stand for many) and after reconnecting, since notifications may
	// have been lost meanwhile, and is closed once ctx has ended, which
	// WatchChanges waits for. See package pgnotify. Other engines do not
	// notify, and do not call Wake.
	Wake func(ctx context.Context, channel string) (<-chan struct{}, error)

	// Replica, when set, is a read-only copy of the database (a streaming
	// replica of the primary, with the same tables) that serves Get,
	// GetByHash and List, so that lookups spare the primary. Default nil:
	// every read goes to db. Writes, Migrate, the change feed, Sync and
	// KeyHashes always use db. It may be db itself.
	//
	// A replica lags, and a stale row must not let a revoked, regenerated
	// or downgraded key through. So the replica serves only while a
	// WatchChanges runs on the Store (a cache over it runs one; without a
	// cache, run one yourself), and once it has caught up with the primary
	// as it was when the watch started; and a token that the log reports
	// changed, or that this Store wrote, is read from the primary until the
	// replica's own log holds the change. A token the replica does not have
	// is looked for on the primary, so that a key created elsewhere works at
	// once (unknown keys thus cost a query on each database; a cache's
	// negative entries and filter absorb them). A read from the replica
	// gets half the time left to its context; when the replica fails or
	// hangs, the primary answers with the other half, and reads stay on the
	// primary until the watch has seen the replica answer again. See the
	// package README for what this guarantees.
	//
	// Replica must reach a single server (or servers that are replayed in
	// step): its progress is read from its own log, and must hold for every
	// read that follows.
	Replica *sql.DB
}

// Store is an apitoken.Store over database/sql, for SQLite, PostgreSQL and
// MySQL/MariaDB. It is safe for concurrent use: all state is in the database,
// and each write is one transaction or one statement. It is also an
// apitoken.ChangeFeed, fed by triggers on its tables.
//
// Create the schema with Migrate before first use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	prefix  string
	q       queries

	// The GetByHash statement, prepared on first use: it runs on every
	// authenticated request, and without it the MySQL driver prepares,
	// executes and closes a statement each time, three round trips.
	stmtMu sync.Mutex
	stmt   atomic.Pointer[sql.Stmt]

	feed feedState

	replica  *replica // nil without Options.Replica
	replicaQ replicaQueries

	ratesPruned atomic.Int64 // Unix milliseconds of the window start of TakeRate's next prune
}

var (
	_ apitoken.Store        = (*Store)(nil)
	_ apitoken.BatchToucher = (*Store)(nil)
	_ apitoken.ChangeFeed   = (*Store)(nil)
)

// New returns a Store that keeps tokens in db. It does not touch the
// database; call Migrate to create or upgrade the tables.
//
// db needs no particular DSN parameters. See the package documentation for
// pool settings and, on SQLite, the pragmas that suit a token store.
func New(db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: db is nil")
	}
	switch opts.Dialect {
	case SQLite, Postgres, MySQL:
	default:
		return nil, fmt.Errorf("sqlstore: Options.Dialect must be SQLite, Postgres or MySQL, got %v", opts.Dialect)
	}
	prefix := opts.TablePrefix
	if prefix == "" {
		prefix = DefaultTablePrefix
	}
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: opts.Dialect, prefix: prefix}
	s.q = buildQueries(opts.Dialect, prefix)
	s.feed.init(opts.Dialect, prefix, opts.PollInterval, opts.Wake)
	s.replica = newReplica(opts.Replica)
	s.replicaQ = buildReplicaQueries(opts.Dialect, prefix)
	return s, nil
}

// validPrefix reports why prefix cannot start table names, or nil.
func validPrefix(prefix string) error {
	if len(prefix) > maxPrefixLen {
		return fmt.Errorf("sqlstore: Options.TablePrefix %q is longer than %d characters", prefix, maxPrefixLen)
	}
	if prefix[0] >= '0' && prefix[0] <= '9' {
		return fmt.Errorf("sqlstore: Options.TablePrefix %q must not start with a digit", prefix)
	}
	for _, c := range []byte(prefix) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("sqlstore: Options.TablePrefix %q may hold only a-z, 0-9 and _", prefix)
		}
	}
	return nil
}

// table returns the full name of one of the store's tables.
func (s *Store) table(name string) string { return s.prefix + name }

// rebind turns the ? placeholders of query into $1, $2, … for PostgreSQL.
func rebind(d Dialect, query string) string {
	if d != Postgres {
		return query
	}
	return sqlq.Numbered(query)
}
