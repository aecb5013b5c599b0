package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-apitoken/apitoken"
)

// wrap translates a driver error from op at the store's boundary:
// sql.ErrNoRows becomes apitoken.ErrNotFound, a duplicate name
// apitoken.ErrNameTaken, and an error caused by ctx ending matches
// context.Canceled or context.DeadlineExceeded even when the driver reports
// it in its own words (SQLite says "interrupted"). Anything else is wrapped
// with the package prefix.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isSentinel(err):
		return err
	case ctx.Err() != nil:
		if errors.Is(err, ctx.Err()) {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		return fmt.Errorf("sqlstore: %s: %w (%v)", op, ctx.Err(), err)
	case errors.Is(err, sql.ErrNoRows):
		return apitoken.ErrNotFound
	case s.nameTaken(err):
		return apitoken.ErrNameTaken
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// nameTaken reports whether err is a unique violation of the name
// constraint. Drivers are not imported, so it goes by what each one exposes:
// pgconn.PgError's SQLState method and its message naming the constraint,
// MySQLError's "Error 1062" text naming the key, and SQLite's message naming
// the column. A violation of another unique index (the id or the key hash)
// is not a taken name and stays a plain error.
func (s *Store) nameTaken(err error) bool {
	msg := err.Error()
	switch s.dialect {
	case Postgres:
		var st interface{ SQLState() string }
		return errors.As(err, &st) && st.SQLState() == "23505" &&
			strings.Contains(msg, `"`+s.prefix+`tokens_name_uq"`)
	case MySQL:
		// "Error 1062 (23000): Duplicate entry 'x' for key 'p_tokens_name_uq'";
		// MySQL 8 writes the key as 'p_tokens.p_tokens_name_uq'. The
		// entry echoes the duplicate value, so match the end only.
		return strings.Contains(msg, "Error 1062") &&
			(strings.HasSuffix(msg, "'"+s.prefix+"tokens_name_uq'") ||
				strings.HasSuffix(msg, "."+s.prefix+"tokens_name_uq'"))
	case SQLite:
		return strings.Contains(msg, "UNIQUE constraint failed: "+s.prefix+"tokens.name")
	}
	return false
}

// sqliteBusy reports whether err is SQLite's "database is locked", which a
// connection without a busy timeout returns at once when another holds the
// write lock.
func sqliteBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
