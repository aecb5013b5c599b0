// Package dbopen opens the database that the demo server and the CLI keep
// tokens in, from the one -db value (or APITOKEN_DB) they both take: a
// SQLite file path, a postgres:// URL or a mysql:// URL.
//
// It is the one place outside tests that imports the SQL drivers, so that
// the library packages stay driver-free.
package dbopen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/sqlstore/pgnotify"
)

// EnvVar is the environment variable that gives the -db value when the flag
// is not set.
const EnvVar = "APITOKEN_DB"

// DefaultPath is the SQLite file used when neither -db nor APITOKEN_DB is set.
const DefaultPath = "apitoken.db"

// maxValueLen bounds a -db value: it arrives from flags and the environment.
const maxValueLen = 4096

// sqlitePragmas are set on every SQLite connection: WAL lets readers work
// while a token is written, busy_timeout makes a writer wait for the lock
// instead of failing, and foreign_keys makes the permission rows follow
// their token.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// Target is a parsed -db value: which engine, and how to reach it.
type Target struct {
	Dialect sqlstore.Dialect
	Driver  string // database/sql driver name: "sqlite", "pgx" or "mysql"
	DSN     string // the driver's data source name; may hold a password: never log it
	Path    string // the SQLite file; "" for a server database

	display string // the value with any password replaced, for messages
}

// String returns the target for logs and messages, without its password.
func (t Target) String() string { return t.display }

// SidecarPath returns where a file that belongs with the database lives,
// such as its salt: next to the SQLite file (apitoken.db.salt), or for a
// server database in the working directory (apitoken.salt).
func (t Target) SidecarPath(suffix string) string {
	if t.Path != "" {
		return t.Path + "." + suffix
	}
	return "apitoken." + suffix
}

// Value returns value, or the APITOKEN_DB variable read with getenv when
// value is empty, or DefaultPath.
func Value(value string, getenv func(string) string) string {
	if value != "" {
		return value
	}
	if v := getenv(EnvVar); v != "" {
		return v
	}
	return DefaultPath
}

// Parse reads a -db value: a SQLite file path, or a URL whose scheme is
// postgres, postgresql or mysql. An empty value is DefaultPath. It checks
// the value but does not connect.
func Parse(value string) (Target, error) {
	if value == "" {
		value = DefaultPath
	}
	if len(value) > maxValueLen {
		return Target{}, fmt.Errorf("dbopen: database value is %d bytes, longer than %d", len(value), maxValueLen)
	}
	if strings.IndexFunc(value, unicode.IsControl) >= 0 {
		return Target{}, errors.New("dbopen: database value must not contain control characters")
	}
	scheme, _, isURL := strings.Cut(value, "://")
	if !isURL {
		return parseSQLite(value)
	}
	// Drivers want the scheme in lower case.
	value = strings.ToLower(scheme) + value[len(scheme):]
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return parsePostgres(value)
	case "mysql":
		return parseMySQL(value)
	case "sqlite", "sqlite3", "file":
		return Target{}, fmt.Errorf("dbopen: for SQLite give the file path itself, e.g. -db %s, not a %s:// URL", DefaultPath, scheme)
	}
	return Target{}, fmt.Errorf("dbopen: unknown database scheme %q: want a SQLite file path, postgres://…, postgresql://… or mysql://…", truncate(scheme, 20))
}

func parseSQLite(path string) (Target, error) {
	switch {
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return Target{}, fmt.Errorf("dbopen: %q is not a file path: tokens must outlive the process; give a path such as %s", truncate(path, 40), DefaultPath)
	case strings.ContainsAny(path, "?#"):
		// The driver reads everything after '?' as options, which would
		// let a path inject pragmas.
		return Target{}, errors.New("dbopen: a SQLite path must not contain '?' or '#'")
	case strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)):
		return Target{}, fmt.Errorf("dbopen: SQLite path %q names a directory; give a file such as %s", truncate(path, 60), filepath.Join(path, DefaultPath))
	}
	return Target{
		Dialect: sqlstore.SQLite,
		Driver:  "sqlite",
		DSN:     path + "?" + sqlitePragmas,
		Path:    path,
		display: path,
	}, nil
}

func parsePostgres(value string) (Target, error) {
	u, err := url.Parse(value)
	if err != nil {
		return Target{}, errors.New("dbopen: malformed postgres URL: want postgres://user:password@host:port/database?sslmode=…")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return Target{}, errors.New("dbopen: postgres URL has no host: want postgres://user:password@host:port/database")
	}
	if _, err := pgx.ParseConfig(value); err != nil {
		// pgx masks the password in its errors; the URL's is not repeated.
		return Target{}, fmt.Errorf("dbopen: postgres URL %s: %s", redact(u), lastPart(err))
	}
	return Target{Dialect: sqlstore.Postgres, Driver: "pgx", DSN: value, display: redact(u)}, nil
}

// parseMySQL turns mysql://user:password@host:port/database?param=value into
// the driver's user:password@tcp(host:port)/database?param=value, so that
// both kinds of server take the same URL form.
func parseMySQL(value string) (Target, error) {
	u, err := url.Parse(value)
	if err != nil {
		return Target{}, errors.New("dbopen: malformed mysql URL: want mysql://user:password@host:port/database")
	}
	if u.Host == "" {
		return Target{}, errors.New("dbopen: mysql URL has no host: want mysql://user:password@host:port/database")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return Target{}, errors.New("dbopen: malformed mysql URL: want mysql://user:password@host:port/database")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.ContainsAny(db, "/?") {
		return Target{}, fmt.Errorf("dbopen: mysql URL %s must name one database: mysql://…@host:port/database", redact(u))
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = db
	// Times come back as time.Time in UTC; the store copes either way, but
	// this is what its README recommends.
	cfg.ParseTime = true
	cfg.Timeout = 10 * time.Second
	dsn := cfg.FormatDSN()
	if u.RawQuery != "" {
		// Query parameters are the driver's own (tls, parseTime, loc, …):
		// let it check them by parsing the whole DSN.
		sep := "?"
		if strings.Contains(dsn[strings.LastIndexByte(dsn, '/'):], "?") {
			sep = "&"
		}
		full, err := mysql.ParseDSN(dsn + sep + u.RawQuery)
		if err != nil {
			return Target{}, fmt.Errorf("dbopen: mysql URL %s: bad parameter: %s", redact(u), lastPart(err))
		}
		dsn = full.FormatDSN()
	}
	return Target{Dialect: sqlstore.MySQL, Driver: "mysql", DSN: dsn, display: redact(u)}, nil
}

// Open opens and pings the database of t. A SQLite file that does not exist
// is created with mode 0600 (see createPrivate).
func Open(ctx context.Context, t Target) (*sql.DB, error) {
	if t.Path != "" {
		if err := createPrivate(t.Path); err != nil {
			return nil, err
		}
	}
	return connect(ctx, t, t.DSN)
}

// connect opens the database of t with dsn, and pings it.
func connect(ctx context.Context, t Target, dsn string) (*sql.DB, error) {
	db, err := sql.Open(t.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("dbopen: %s: %w", t, err)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	if t.Dialect != sqlstore.SQLite {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxLifetime(5 * time.Minute)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if t.Dialect != sqlstore.SQLite { // a server that does not answer
			return nil, fmt.Errorf("dbopen: cannot reach %s: %w: %w", t, apitoken.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("dbopen: cannot open %s: %w", t, err)
	}
	return db, nil
}

// OpenStore opens the database of t and brings the token tables up to
// date. It returns ErrStrapiDB, creating nothing, for a Strapi database
// that has no token tables of ours. The caller closes the *sql.DB.
func OpenStore(ctx context.Context, t Target) (*sqlstore.Store, *sql.DB, error) {
	if err := refuseStrapi(ctx, t); err != nil {
		return nil, nil, err
	}
	db, err := Open(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	opts := sqlstore.Options{Dialect: t.Dialect}
	if t.Dialect == sqlstore.Postgres {
		// Changes wake the change feed at commit, not at the next poll.
		opts.Wake = pgnotify.Wake(t.DSN)
	}
	store, err := sqlstore.New(db, opts)
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("dbopen: %s: %w", t, err)
	}
	return store, db, nil
}

// createPrivate creates an empty file at path with mode 0600 exactly,
// whatever the umask, unless a file is there already, which keeps its mode.
// SQLite would create the database 0644 less the umask, and it holds the key
// hashes; SQLite gives the -wal and -shm files it makes next to the database
// the database's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			// A symlink to nothing: SQLite would create its target
			// with the umask's mode.
			return fmt.Errorf("dbopen: %s is a symbolic link to a file that does not exist; create the database at the link's target, or remove the link", path)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("dbopen: cannot open %s: %w", path, err)
	}
	err = f.Chmod(0o600) // the umask may have taken the owner's bits
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dbopen: cannot create %s: %w", path, err)
	}
	return nil
}

// redact returns u for messages and logs: its password replaced, in the
// user part as url.URL.Redacted does and in any query parameter whose name
// says it holds a secret (pgx reads ?password= and ?sslpassword=).
func redact(u *url.URL) string {
	c := *u
	q := c.Query()
	changed := false
	for name := range q {
		n := strings.ToLower(name)
		if strings.Contains(n, "pass") || strings.Contains(n, "secret") || strings.Contains(n, "token") || strings.Contains(n, "key") {
			q[name] = []string{"xxxxx"}
			changed = true
		}
	}
	if changed {
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}

// lastPart returns the message of err without the prefixes that might echo
// the value being parsed.
func lastPart(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return truncate(msg, 120)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
