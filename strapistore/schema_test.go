package strapistore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/go-apitoken/apitoken/internal/sqlq"
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
	for _, stmt := range strapiDDL(d, v, sdb.prefix) {
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

// strapiDDL returns the statements that create Strapi's api token tables,
// column for column as Strapi's database layer makes them (see the
// README's sources): three tables, the link table's foreign keys with ON
// DELETE CASCADE and unique pair index, and for v5 the documents index. The
// v5 tables are the newest: with encrypted_key and kind (admin tokens share
// the table); v4 has neither.
// The created_by_id / updated_by_id foreign keys to admin_users are left out:
// there is no admin_users table here, and the store does not touch them.
func strapiDDL(d strapistore.Dialect, v strapistore.Version, prefix string) []string {
	types := map[string]map[strapistore.Dialect]string{
		"pk":     {strapistore.SQLite: "integer not null primary key autoincrement", strapistore.Postgres: "serial PRIMARY KEY", strapistore.MySQL: "int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY"},
		"str":    {strapistore.SQLite: "varchar(255) null", strapistore.Postgres: "varchar(255)", strapistore.MySQL: "varchar(255) DEFAULT NULL"},
		"text":   {strapistore.SQLite: "text null", strapistore.Postgres: "text", strapistore.MySQL: "longtext"},
		"time":   {strapistore.SQLite: "datetime null", strapistore.Postgres: "timestamp(6) without time zone", strapistore.MySQL: "datetime(6) DEFAULT NULL"},
		"bigint": {strapistore.SQLite: "bigint null", strapistore.Postgres: "bigint", strapistore.MySQL: "bigint DEFAULT NULL"},
		"int":    {strapistore.SQLite: "integer null", strapistore.Postgres: "integer", strapistore.MySQL: "int unsigned DEFAULT NULL"},
		"float":  {strapistore.SQLite: "float null", strapistore.Postgres: "double precision", strapistore.MySQL: "double unsigned DEFAULT NULL"},
	}
	v5 := v == strapistore.V5
	table := func(name string, cols ...string) string {
		var defs []string
		for _, c := range cols {
			if c == "" {
				continue
			}
			col, typ, _ := strings.Cut(c, " ")
			if t, ok := types[typ]; ok {
				typ = t[d]
			}
			defs = append(defs, col+" "+typ)
		}
		return "CREATE TABLE " + prefix + name + " (" + strings.Join(defs, ", ") + ")"
	}
	only5 := func(c string) string {
		if v5 {
			return c
		}
		return ""
	}
	tokens := table("api_tokens", "id pk", only5("document_id str"), "name str", "description str", "type str", "access_key str",
		only5("encrypted_key text"), only5("kind str"), "last_used_at time", "expires_at time", "lifespan bigint", "created_at time", "updated_at time",
		only5("published_at time"), "created_by_id int", "updated_by_id int", only5("locale str"))
	perms := table("api_token_permissions", "id pk", only5("document_id str"), "action str", "created_at time", "updated_at time",
		only5("published_at time"), "created_by_id int", "updated_by_id int", only5("locale str"))
	link, order, fk, ifk, uq := "api_token_permissions_token_links", "api_token_permission_order", "_fk", "_inv_fk", "_unique"
	if v5 {
		link, order, fk, ifk, uq = "api_token_permissions_token_lnk", "api_token_permission_ord", "_fk", "_ifk", "_uq"
	}
	links := table(link, "id pk", "api_token_permission_id int", "api_token_id int", order+" float",
		"CONSTRAINT strapi_"+link+fk+" FOREIGN KEY (api_token_permission_id) REFERENCES "+prefix+"api_token_permissions (id) ON DELETE CASCADE",
		"CONSTRAINT strapi_"+link+ifk+" FOREIGN KEY (api_token_id) REFERENCES "+prefix+"api_tokens (id) ON DELETE CASCADE")
	stmts := []string{tokens, perms, links,
		"CREATE UNIQUE INDEX strapi_" + link + uq + " ON " + prefix + link + " (api_token_permission_id, api_token_id)"}
	if v5 {
		stmts = append(stmts,
			"CREATE INDEX strapi_api_tokens_documents_idx ON "+prefix+"api_tokens (document_id, locale, published_at)",
			"CREATE INDEX strapi_api_token_permissions_documents_idx ON "+prefix+"api_token_permissions (document_id, locale, published_at)")
	}
	return stmts
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
