package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// engine is a database the tests run against.
type engine struct {
	name    string
	dialect sqlstore.Dialect
	driver  string
	dsn     func(t testing.TB) string
}

var engines = []engine{
	{"sqlite", sqlstore.SQLite, "sqlite", sqliteDSN},
	{"postgres", sqlstore.Postgres, "pgx", func(t testing.TB) string { return testenv.DSN(t, testenv.PostgresEnv) }},
	{"mysql", sqlstore.MySQL, "mysql", func(t testing.TB) string { return testenv.DSN(t, testenv.MySQLEnv) }},
}

// sqliteDSN returns a new database file in the test's temporary directory,
// with the settings the README recommends.
func sqliteDSN(t testing.TB) string {
	return "file:" + filepath.Join(t.TempDir(), "tokens.db") +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
}

// open opens the engine's database, closed when the test ends.
func (e engine) open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open(e.driver, e.dsn(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	configure(db, e.dialect)
	return db
}

// configure applies the README's pool settings.
func configure(db *sql.DB, d sqlstore.Dialect) {
	if d == sqlstore.SQLite {
		return // several connections, so that concurrency is exercised
	}
	db.SetMaxOpenConns(25)
	db.SetMaxIdleConns(25)
	db.SetConnMaxLifetime(5 * time.Minute)
}

// freshPrefix returns a table prefix no other test uses, so that tests on a
// shared database start empty and do not meet.
func freshPrefix(t testing.TB) string {
	b := make([]byte, 5)
	rand.Read(b)
	return "t" + hex.EncodeToString(b) + "_"
}

// newStore returns a migrated, empty store in db whose tables are dropped
// when the test ends.
func newStore(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s, _ := newStorePrefix(t, db, d)
	return s
}

// newStorePrefix is newStore that also returns the store's table prefix.
func newStorePrefix(t testing.TB, db *sql.DB, d sqlstore.Dialect) (*sqlstore.Store, string) {
	t.Helper()
	prefix := freshPrefix(t)
	s, err := sqlstore.New(db, sqlstore.Options{Dialect: d, TablePrefix: prefix})
	require.NoError(t, err)
	dropTables(t, db, d, prefix)
	require.NoError(t, s.Migrate(context.Background()))
	return s, prefix
}

// dropTables drops the store's tables when the test ends, so that the shared
// PostgreSQL and MySQL databases do not fill up.
func dropTables(t testing.TB, db *sql.DB, d sqlstore.Dialect, prefix string) {
	t.Cleanup(func() {
		// The tables take their triggers with them; PostgreSQL's
		// trigger functions are dropped after them.
		drops := []string{"TABLE permissions", "TABLE tokens", "TABLE changes", "TABLE notices", "TABLE rates", "TABLE migrations"}
		if d == sqlstore.Postgres {
			drops = append(drops, "FUNCTION tokens_changed()", "FUNCTION permissions_changed()")
		}
		for _, drop := range drops {
			kind, name, _ := strings.Cut(drop, " ")
			_, err := db.Exec("DROP " + kind + " IF EXISTS " + prefix + name)
			assert.NoError(t, err, "dropping %s%s", prefix, name)
		}
	})
}
