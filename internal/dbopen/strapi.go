package dbopen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-apitoken/apitoken/sqlstore"
)

// OpenReadOnly opens and pings the database of t for reading, without
// changing anything in it: a SQLite file, which must exist, is opened
// read-only and left in its journal mode; PostgreSQL sessions are read-only
// (default_transaction_read_only). MySQL sessions are not: the caller must
// not write.
func OpenReadOnly(ctx context.Context, t Target) (*sql.DB, error) {
	dsn := t.DSN
	switch t.Dialect {
	case sqlstore.SQLite:
		// A URI filename: SQLite decodes %HH in it.
		dsn = "file:" + strings.ReplaceAll(t.Path, "%", "%25") + "?mode=ro&_pragma=busy_timeout(5000)"
	case sqlstore.Postgres:
		u, err := url.Parse(t.DSN)
		if err != nil { // Parse has checked it; url's error would show the password
			return nil, fmt.Errorf("dbopen: malformed URL %s", t)
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	return connect(ctx, t, dsn)
}

// ErrStrapiDB is returned by OpenStore for Strapi's database, to which it
// does not add tables.
var ErrStrapiDB = errors.New("dbopen: a Strapi database")

// refuseStrapi returns ErrStrapiDB when the database of t has Strapi's
// token table and not ours: migrating would put apitoken's tables into
// Strapi's database. Where both are, someone chose to keep them together.
// It looks through a read-only connection, because opening a SQLite file
// for writing switches it to WAL.
func refuseStrapi(ctx context.Context, t Target) error {
	has, err := tables(ctx, t, strapiTokensTable, storeTable)
	if err != nil || !has[0] || has[1] {
		return err
	}
	return fmt.Errorf("%w: %s has %s and none of apitoken's tables, which are not added to it", ErrStrapiDB, t, strapiTokensTable)
}

// HasStore reports whether the database of t already has apitoken's token
// table, looking through a read-only connection: a dry run plans against
// an empty store rather than create the tables it would change nothing in.
func HasStore(ctx context.Context, t Target) (bool, error) {
	has, err := tables(ctx, t, storeTable)
	return has[0], err
}

// storeTable is apitoken's token table with its default prefix.
const storeTable = sqlstore.DefaultTablePrefix + "tokens"

// tables reports which of names the database of t has, looking through a
// read-only connection, because opening a SQLite file for writing switches
// it to WAL. A SQLite file that does not exist (yet) has none.
func tables(ctx context.Context, t Target, names ...string) ([]bool, error) {
	has := make([]bool, len(names))
	if t.Path != "" {
		if _, err := os.Stat(t.Path); err != nil {
			return has, nil // a new file, or one Open will report on
		}
	}
	db, err := OpenReadOnly(ctx, t)
	if err != nil {
		return has, err
	}
	defer db.Close()
	for i, name := range names {
		has[i] = hasTable(ctx, db, name)
	}
	return has, nil
}

// strapiTokensTable is Strapi's token table with its default prefix.
const strapiTokensTable = "strapi_api_tokens"

// hasTable reports whether db has the table name, in its default schema.
func hasTable(ctx context.Context, db *sql.DB, name string) bool {
	rows, err := db.QueryContext(ctx, "SELECT 1 FROM "+name+" WHERE 1 = 0")
	if err != nil {
		return false
	}
	rows.Close()
	return true
}
