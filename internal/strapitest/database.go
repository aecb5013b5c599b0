package strapitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// DB is an empty database made for one test: a SQLite file, a PostgreSQL
// schema or a MySQL database, dropped when the test ends. The caller's test
// binary registers the drivers ("sqlite", "pgx", "mysql").
type DB struct {
	*sql.DB
	Dialect sqlstore.Dialect
	Value   string // the -db value (file path or URL) that reaches it
	Path    string // the SQLite file; "" for a server
}

// NewDB makes an empty database for t on engine d. PostgreSQL and MySQL
// come from testenv's variables; without them t is skipped (failed in CI).
func NewDB(t testing.TB, d sqlstore.Dialect) *DB {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 5)
	rand.Read(b)
	name := "strapitest_" + hex.EncodeToString(b)
	db := &DB{Dialect: d}
	driver, dsn := "sqlite", ""
	switch d {
	case sqlstore.SQLite:
		db.Path = filepath.Join(t.TempDir(), name+".db")
		db.Value, dsn = db.Path, db.Path
	case sqlstore.Postgres:
		base := testenv.DSN(t, testenv.PostgresEnv)
		create(t, "pgx", base, "CREATE SCHEMA "+name, "DROP SCHEMA "+name+" CASCADE")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		driver, db.Value = "pgx", base+sep+"search_path="+name
		dsn = db.Value
	case sqlstore.MySQL:
		cfg, err := mysql.ParseDSN(testenv.DSN(t, testenv.MySQLEnv))
		if err != nil {
			t.Fatal(err)
		}
		create(t, "mysql", cfg.FormatDSN(), "CREATE DATABASE "+name, "DROP DATABASE "+name)
		db.Value = "mysql://" + cfg.User + ":" + cfg.Passwd + "@" + cfg.Addr + "/" + name
		cfg.DBName = name
		driver, dsn = "mysql", cfg.FormatDSN()
	}
	var err error
	if db.DB, err = sql.Open(driver, dsn); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// create runs up on the server of dsn, and down when the test ends.
func create(t testing.TB, driver, dsn, up, down string) {
	t.Helper()
	admin, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(up); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(down); err != nil {
			t.Errorf("%s: %v", down, err)
		}
		admin.Close()
	})
}

// Exec runs query, written with ? placeholders, and fails t on error.
func (db *DB) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if db.Dialect == sqlstore.Postgres {
		query = sqlq.Numbered(query)
	}
	if _, err := db.DB.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// Time returns tm as Strapi writes it: Unix milliseconds on SQLite, a UTC
// wall-clock timestamp on PostgreSQL and MySQL.
func (db *DB) Time(tm time.Time) any {
	if db.Dialect == sqlstore.SQLite {
		return tm.UnixMilli()
	}
	return tm.UTC().Format("2006-01-02 15:04:05.000")
}

// Tables returns the names of the tables in the database, sorted.
func (db *DB) Tables(t testing.TB) []string {
	t.Helper()
	query := map[sqlstore.Dialect]string{
		sqlstore.SQLite:   "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
		sqlstore.Postgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
		sqlstore.MySQL:    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
	}[db.Dialect]
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// CreateTables makes Strapi v4's (or v5's) API token tables in db, with Strapi's
// default prefix.
func (db *DB) CreateTables(t testing.TB, v5 bool) {
	t.Helper()
	for _, stmt := range DDL(db.Dialect, v5, "strapi_") {
		db.Exec(t, stmt)
	}
}
