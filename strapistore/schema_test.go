package strapistore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/internal/strapitest"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/strapistore"
)

// engine is a database the tests run against.
type engine struct {
	name    string
	dialect strapistore.Dialect
}

var engines = []engine{{"sqlite", strapistore.SQLite}, {"postgres", strapistore.Postgres}, {"mysql", strapistore.MySQL}}

var versions = []strapistore.Version{strapistore.V4, strapistore.V5}

// strapiDB is a Strapi schema made for one test.
type strapiDB struct {
	db      *sql.DB
	dialect strapistore.Dialect
	version strapistore.Version
	prefix  string // with its schema or database, as Options.TablePrefix
}

// forEach runs fn for every engine and Strapi version, each in a subtest.
func forEach(t *testing.T, fn func(t *testing.T, newDB func(t *testing.T) *strapiDB)) {
	for _, e := range engines {
		for _, v := range versions {
			t.Run(fmt.Sprintf("%s/v%d", e.name, v), func(t *testing.T) {
				fn(t, func(t *testing.T) *strapiDB { return newStrapiDB(t, e.dialect, v) })
			})
		}
	}
}

// newStrapiDB creates Strapi's api token tables, as Strapi would, in a fresh
// SQLite file, PostgreSQL schema or MySQL database that goes away with the
// test.
func newStrapiDB(t *testing.T, d strapistore.Dialect, v strapistore.Version) *strapiDB {
	t.Helper()
	ctx := context.Background()
	sdb := &strapiDB{dialect: d, version: v, prefix: strapistore.DefaultTablePrefix}
	var err error
	switch d {
	case strapistore.SQLite:
		// busy_timeout lets concurrent writers wait, as the README says.
		dsn := "file:" + filepath.Join(t.TempDir(), "strapi.db") + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
		sdb.db, err = sql.Open("sqlite", dsn)
	case strapistore.Postgres:
		sdb.db, err = sql.Open("pgx", testenv.DSN(t, testenv.PostgresEnv))
	case strapistore.MySQL:
		sdb.db, err = sql.Open("mysql", testenv.DSN(t, testenv.MySQLEnv))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.db.Close() })
	if d != strapistore.SQLite {
		sdb.db.SetMaxOpenConns(25)
		sdb.db.SetMaxIdleConns(25)
		schema := "strapi_" + randomHex(5)
		if _, err := sdb.db.ExecContext(ctx, map[strapistore.Dialect]string{
			strapistore.Postgres: "CREATE SCHEMA " + schema,
			strapistore.MySQL:    "CREATE DATABASE " + schema + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		}[d]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			drop := "DROP DATABASE " + schema
			if d == strapistore.Postgres {
				drop = "DROP SCHEMA " + schema + " CASCADE"
			}
			if _, err := sdb.db.Exec(drop); err != nil {
				t.Errorf("dropping %s: %v", schema, err)
			}
		})
		sdb.prefix = schema + "." + strapistore.DefaultTablePrefix
	}
	for _, stmt := range strapitest.DDL(d, v == strapistore.V5, sdb.prefix) {
		if _, err := sdb.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return sdb
}

// store returns a strapistore.Store over the schema.
func (s *strapiDB) store(t testing.TB) *strapistore.Store {
	t.Helper()
	st, err := strapistore.New(s.db, strapistore.Options{Version: s.version, Dialect: s.dialect, TablePrefix: s.prefix})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// links is the name of the link table.
func (s *strapiDB) links() string {
	if s.version == strapistore.V5 {
		return s.prefix + "api_token_permissions_token_lnk"
	}
	return s.prefix + "api_token_permissions_token_links"
}

// orderCol is the link table's order column.
func (s *strapiDB) orderCol() string {
	if s.version == strapistore.V5 {
		return "api_token_permission_ord"
	}
	return "api_token_permission_order"
}

// exec runs a statement written with ? placeholders.
func (s *strapiDB) exec(t testing.TB, query string, args ...any) sql.Result {
	t.Helper()
	res, err := s.db.Exec(s.rebind(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

func (s *strapiDB) rebind(query string) string {
	if s.dialect != strapistore.Postgres {
		return query
	}
	return sqlq.Numbered(query)
}

// insertID runs an INSERT written with ? placeholders and returns the new id.
func (s *strapiDB) insertID(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	if s.dialect == strapistore.Postgres {
		var id int64
		if err := s.db.QueryRow(s.rebind(query)+" RETURNING id", args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return id
	}
	id, err := s.exec(t, query, args...).LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// time returns t as Strapi writes it: Unix milliseconds on SQLite (knex's
// better-sqlite3 client binds a Date as its valueOf), a UTC wall-clock
// timestamp on PostgreSQL and MySQL.
func (s *strapiDB) time(t time.Time) any {
	if s.dialect == strapistore.SQLite {
		return t.UnixMilli()
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
