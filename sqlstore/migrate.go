package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The schema, one directory per dialect, one file per version:
// NNNN_name.sql, with {{prefix}} standing for Options.TablePrefix.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one version of the schema.
type migration struct {
	version    int
	name       string
	statements []string
}

// loadMigrations returns the dialect's migrations in version order, with the
// prefix spliced in and each file split into statements (the MySQL driver
// runs one statement per Exec unless the DSN enables multiStatements).
func loadMigrations(d Dialect, prefix string) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m := migration{version: v, name: e.Name()}
		stmts, err := splitStatements(string(b))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration file %s: %w", e.Name(), err)
		}
		for _, stmt := range stmts {
			m.statements = append(m.statements, strings.ReplaceAll(stmt, "{{prefix}}", prefix))
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

// Lines that hold only these markers enclose one statement that itself
// holds semicolons, such as a trigger's body or a PL/pgSQL function, as in
// goose's migrations.
const (
	statementBegin = "-- +StatementBegin"
	statementEnd   = "-- +StatementEnd"
)

// splitStatements splits a migration file into statements: at each
// semicolon, except between statementBegin and statementEnd, which enclose
// one statement whole. Comment lines are dropped.
func splitStatements(file string) ([]string, error) {
	var stmts, lines []string
	inBlock := false
	flush := func(whole bool) {
		text := strings.Join(lines, "")
		lines = lines[:0]
		if whole {
			text = strings.TrimSuffix(strings.TrimSpace(text), ";")
			stmts = append(stmts, strings.TrimSpace(text))
			return
		}
		for stmt := range strings.SplitSeq(text, ";") {
			if stmt = strings.TrimSpace(stmt); stmt != "" {
				stmts = append(stmts, stmt)
			}
		}
	}
	for line := range strings.Lines(file) {
		switch trimmed := strings.TrimSpace(line); {
		case trimmed == statementBegin && !inBlock:
			flush(false)
			inBlock = true
		case trimmed == statementEnd && inBlock:
			flush(true)
			inBlock = false
		case trimmed == statementBegin || trimmed == statementEnd:
			return nil, fmt.Errorf("unbalanced %q", trimmed)
		case !strings.HasPrefix(trimmed, "--"):
			lines = append(lines, line)
		}
	}
	if inBlock {
		return nil, fmt.Errorf("%s without %s", statementBegin, statementEnd)
	}
	flush(false)
	return stmts, nil
}

// Migrate creates the store's tables, or brings them to the newest version,
// and records each applied version in the <prefix>migrations table. Running
// it again is harmless, and so is running it from several instances at once:
// they take turns under a lock (an advisory lock on PostgreSQL, a named lock
// on MySQL, the write lock on SQLite) and each version is applied once.
//
// On PostgreSQL and SQLite each version is applied in a transaction. MySQL
// commits DDL statement by statement, so there the lock is what keeps
// instances apart, and the statements are written to be safe to run again
// if a migration is cut short.
func (s *Store) Migrate(ctx context.Context) error { return s.migrateTo(ctx, math.MaxInt) }

// migrateTo is Migrate applying the versions up to last only, so that the
// tests can make the schema of an older release and upgrade it.
func (s *Store) migrateTo(ctx context.Context, last int) error {
	ms, err := loadMigrations(s.dialect, s.prefix)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	ms = slices.DeleteFunc(ms, func(m migration) bool { return m.version > last })
	// A new SQLite connection runs the DSN's pragmas, and the first switch
	// of a file to WAL fails at once with SQLITE_BUSY, without waiting for
	// busy_timeout, while other instances open the same file.
	var conn *sql.Conn
	err = s.retryBusy(ctx, func() (err error) {
		conn, err = s.db.Conn(ctx)
		return err
	})
	if err != nil {
		return s.wrap(ctx, "migrate", err)
	}
	defer conn.Close()
	switch s.dialect {
	case SQLite:
		err = s.migrateSQLite(ctx, conn, ms)
	case Postgres:
		key := s.lockKey()
		err = s.migrateLocked(ctx, conn, ms,
			func() error { _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); return err },
			func(ctx context.Context) error {
				_, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", key)
				return err
			})
	case MySQL:
		name := s.lockName()
		err = s.migrateLocked(ctx, conn, ms,
			func() error { return mysqlLock(ctx, conn, name) },
			func(ctx context.Context) error {
				_, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", name)
				return err
			})
	}
	return s.wrap(ctx, "migrate", err)
}

// lockKey is PostgreSQL's advisory lock for migrating this prefix's tables.
func (s *Store) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/go-apitoken/apitoken/sqlstore migrate " + s.prefix))
	return int64(h.Sum64())
}

// lockName is MySQL's named lock for migrating this prefix's tables; at most
// 64 characters, as MySQL requires.
func (s *Store) lockName() string { return "apitoken.sqlstore.migrate." + s.prefix }

// migrateLocked applies ms on conn while holding a session lock, which it
// releases at the end. If the release fails, the connection is discarded,
// which releases the lock with the session.
func (s *Store) migrateLocked(ctx context.Context, conn *sql.Conn, ms []migration, lock func() error, unlock func(context.Context) error) error {
	if err := lock(); err != nil {
		discard(conn)
		return err
	}
	defer func() {
		// The lock must go even when ctx has ended.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if unlock(uctx) != nil {
			discard(conn)
		}
	}()
	return s.applyPending(ctx, conn, ms)
}

// applyPending applies, in order, the migrations of ms that conn's database
// lacks.
func (s *Store) applyPending(ctx context.Context, conn *sql.Conn, ms []migration) error {
	todo, err := s.pending(ctx, conn, ms)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// pending returns the migrations of ms that conn's database lacks, creating
// the table of applied versions first if need be.
func (s *Store) pending(ctx context.Context, conn *sql.Conn, ms []migration) ([]migration, error) {
	if err := s.createMigrationsTable(ctx, conn); err != nil {
		return nil, err
	}
	done, err := s.appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var todo []migration
	for _, m := range ms {
		if !done[m.version] {
			todo = append(todo, m)
		}
	}
	return todo, nil
}

// execer is a *sql.Conn or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// run executes m's statements and records m as applied, through ex.
func (s *Store) run(ctx context.Context, ex execer, m migration) error {
	for _, stmt := range m.statements {
		if _, err := ex.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	record := rebind(s.dialect, "INSERT INTO "+s.table("migrations")+" (version, name, applied_at) VALUES (?, ?, ?)")
	_, err := ex.ExecContext(ctx, record, m.version, m.name, arg(s.dialect, time.Now()))
	return err
}

// mysqlLock takes MySQL's named lock, waiting in short steps so that ctx is
// checked between them.
func mysqlLock(ctx context.Context, conn *sql.Conn, name string) error {
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 1)", name).Scan(&got); err != nil {
			return err
		}
		if got.Valid && got.Int64 == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// apply runs one migration and records it: in one transaction on
// PostgreSQL; on conn as it is elsewhere, since MySQL commits DDL anyway and
// SQLite's conn is already inside migrateSQLite's transaction.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	if s.dialect != Postgres {
		return s.run(ctx, conn, m)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := s.run(ctx, tx, m); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateSQLite applies ms in one BEGIN IMMEDIATE transaction, which takes
// the database's write lock before reading which versions are applied.
// Waiting for the lock is retried here, so that no busy_timeout is needed.
func (s *Store) migrateSQLite(ctx context.Context, conn *sql.Conn, ms []migration) (err error) {
	err = s.retryBusy(ctx, func() error {
		_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		return err
	})
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			_, err = conn.ExecContext(ctx, "COMMIT")
		}
		if err != nil {
			// A connection left inside a transaction must not go
			// back to the pool.
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				discard(conn)
			}
		}
	}()
	return s.applyPending(ctx, conn, ms)
}

// createMigrationsTable creates the table of applied versions. Its time
// column has each engine's type for times, as the tokens table does.
func (s *Store) createMigrationsTable(ctx context.Context, conn *sql.Conn) error {
	timeType := map[Dialect]string{SQLite: "INTEGER", Postgres: "timestamptz(3)", MySQL: "DATETIME(3)"}[s.dialect]
	ddl := "CREATE TABLE IF NOT EXISTS " + s.table("migrations") + ` (
		version    INTEGER      NOT NULL PRIMARY KEY,
		name       VARCHAR(255) NOT NULL,
		applied_at ` + timeType + ` NOT NULL
	)`
	if s.dialect == MySQL {
		ddl += " ENGINE=InnoDB"
	}
	_, err := conn.ExecContext(ctx, ddl)
	return err
}

// appliedVersions returns the versions recorded as applied.
func (s *Store) appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM "+s.table("migrations"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

// discard makes conn leave the pool when it is closed, taking any session
// lock or open transaction with it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
