package strapistore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// querier is what a write runs its statements on: a *sql.Tx, or on SQLite a
// *sql.Conn inside BEGIN IMMEDIATE.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// nameLock returns the name of the lock that serializes the writes of
// tokens called name. Strapi's schema has no unique index on the name, and
// a transaction cannot lock a row that does not exist yet, so the check for
// a taken name and the write hold this lock.
func (s *Store) nameLock(name string) string {
	h := fnv.New64a()
	h.Write([]byte(s.tokens))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return fmt.Sprintf("strapistore:%016x", h.Sum64())
}

// mysqlLockWait bounds the wait for a MySQL named lock when the context has
// no deadline.
const mysqlLockWait = 30 * time.Second

// inTx runs fn in one transaction, holding lock (if not "") until it ends:
//   - SQLite: BEGIN IMMEDIATE takes the database's write lock at once, which
//     serializes every write and so also the name check. Set busy_timeout on
//     the connection so that writers wait for each other instead of failing.
//   - PostgreSQL: a transaction-scoped advisory lock.
//   - MySQL: a named lock (GET_LOCK) on the connection, released after the
//     transaction ends.
func (s *Store) inTx(ctx context.Context, lock string, fn func(q querier) error) error {
	// A deadlock victim (InnoDB's gap locks make writes to neighbouring
	// tokens' permission rows deadlock) runs again: an unrelated write
	// must not fail for it.
	return sqlq.Retry(ctx, sqlq.Deadlock, func() error { return s.tx(ctx, lock, fn) })
}

// tx is one run of inTx.
func (s *Store) tx(ctx context.Context, lock string, fn func(q querier) error) error {
	switch {
	case s.dialect == SQLite:
		return s.sqliteTx(ctx, fn)
	case s.dialect == MySQL && lock != "":
		return s.mysqlLockedTx(ctx, lock, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lock != "" { // PostgreSQL
		h := fnv.New64a()
		h.Write([]byte(lock))
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) sqliteTx(ctx context.Context, fn func(q querier) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err = fn(conn); err == nil {
		_, err = conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		// The transaction may have ended with the error; a failing
		// ROLLBACK then leaves the connection in doubt, so drop it.
		if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
			discard(conn)
		}
	}
	return err
}

func (s *Store) mysqlLockedTx(ctx context.Context, lock string, fn func(q querier) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	wait := mysqlLockWait
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lock, max(1, int(wait.Seconds()))).Scan(&got); err != nil {
		return err
	}
	if got.Int64 != 1 {
		return fmt.Errorf("strapistore: timed out waiting for the lock on a token name")
	}
	defer func() {
		// A connection that may still hold the lock must not go back
		// to the pool.
		var released sql.NullInt64
		err := conn.QueryRowContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock).Scan(&released)
		if err != nil || released.Int64 != 1 {
			discard(conn)
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// discard makes database/sql close conn instead of reusing it.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
}

// insertID runs an INSERT and returns the id the database gave the row.
func (s *Store) insertID(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	if s.dialect == Postgres {
		var id int64
		err := q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// wrap prefixes a driver error with the package name, leaving the store's
// sentinels and context errors as they are.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return apitoken.ErrNotFound
	case errors.Is(err, apitoken.ErrNotFound), errors.Is(err, apitoken.ErrNameTaken), errors.Is(err, errors.ErrUnsupported):
		return err
	}
	return fmt.Errorf("strapistore: %s: %w", op, err)
}
