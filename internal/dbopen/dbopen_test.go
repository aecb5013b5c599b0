package dbopen

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		dialect sqlstore.Dialect
		driver  string
		display string
	}{
		{"", sqlstore.SQLite, "sqlite", "apitoken.db"},
		{"data/tokens.db", sqlstore.SQLite, "sqlite", "data/tokens.db"},
		{"/var/lib/app/tokens.sqlite", sqlstore.SQLite, "sqlite", "/var/lib/app/tokens.sqlite"},
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", sqlstore.Postgres, "pgx", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"postgresql://app@db/app", sqlstore.Postgres, "pgx", "postgresql://app@db/app"},
		{"POSTGRES://app@db/app", sqlstore.Postgres, "pgx", "postgres://app@db/app"},
		{"mysql://root:pw@127.0.0.1:3306/test", sqlstore.MySQL, "mysql", "mysql://root:xxxxx@127.0.0.1:3306/test"},
		{"mysql://root@db/test?tls=preferred", sqlstore.MySQL, "mysql", "mysql://root@db/test?tls=preferred"},
		{"postgres://app@db/app?sslmode=disable&password=hunter2Pw", sqlstore.Postgres, "pgx", "postgres://app@db/app?password=xxxxx&sslmode=disable"},
		{"postgres://app@db/app?sslpassword=hunter2Pw", sqlstore.Postgres, "pgx", "postgres://app@db/app?sslpassword=xxxxx"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.value)
		if !assert.NoError(t, err, "Parse(%q)", tt.value) {
			continue
		}
		assert.Equal(t, tt.dialect, got.Dialect, "Parse(%q)", tt.value)
		assert.Equal(t, tt.driver, got.Driver, "Parse(%q)", tt.value)
		assert.Equal(t, tt.display, got.String(), "Parse(%q)", tt.value)
	}
}

func TestParseSQLiteDSN(t *testing.T) {
	t.Parallel()
	got, err := Parse("tokens.db")
	require.NoError(t, err)
	for _, want := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"} {
		assert.Contains(t, got.DSN, want, "DSN")
	}
	assert.Equal(t, "tokens.db.salt", got.SidecarPath("salt"), "SidecarPath")
	pg, _ := Parse("postgres://db/app")
	assert.Equal(t, "apitoken.salt", pg.SidecarPath("salt"), "postgres SidecarPath")
}

func TestParseMySQLDSN(t *testing.T) {
	t.Parallel()
	// A password holding the characters that delimit the driver's DSN.
	got, err := Parse("mysql://app:p%40ss%2Fw%3Frd%29@db.example:3307/tokens?timeout=3s")
	require.NoError(t, err)
	cfg, err := mysql.ParseDSN(got.DSN)
	require.NoError(t, err, "driver cannot read %q", got.DSN)
	assert.Equal(t, "app", cfg.User, "config = %+v", cfg)
	assert.Equal(t, "p@ss/w?rd)", cfg.Passwd, "config = %+v", cfg)
	assert.Equal(t, "db.example:3307", cfg.Addr, "config = %+v", cfg)
	assert.Equal(t, "tokens", cfg.DBName, "config = %+v", cfg)
	assert.Equal(t, "tcp", cfg.Net, "config = %+v", cfg)
	assert.True(t, cfg.ParseTime, "ParseTime")
	assert.Equal(t, "3s", cfg.Timeout.String(), "Timeout")
	assert.NotContains(t, got.String(), "p@ss", "String() shows the password")
	def, _ := Parse("mysql://app@db/tokens")
	defCfg, _ := mysql.ParseDSN(def.DSN)
	assert.Equal(t, "db:3306", defCfg.Addr, "default port")
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, want string
	}{
		{"redis://localhost:6379/0", "unknown database scheme"},
		{"sqlite:///tmp/x.db", "give the file path itself"},
		{"file:x.db?mode=memory", "not a file path"},
		{":memory:", "not a file path"},
		{"x.db?_pragma=writable_schema(1)", "must not contain '?'"},
		{"x.db#frag", "must not contain '?'"},
		{"data/", "names a directory"},
		{"x.db\x00evil", "control characters"},
		{"x.db\nmore", "control characters"},
		{strings.Repeat("a", 5000), "longer than"},
		{"postgres://", "no host"},
		{"postgres://user:hunter2@db:notaport/app", "postgres URL"},
		{"postgres://u@db/app?sslmode=bogus", "postgres URL"},
		{"mysql://root@db", "must name one database"},
		{"mysql://root@db/a/b", "must name one database"},
		{"mysql:///test", "no host"},
		{"mysql://root:hunter2@db/test?tls=nosuchconfig", "bad parameter"},
		{"mysql://root:hunter2@db/test#x", "malformed mysql URL"},
		{"mysql://root:hunter2@[::1/test", "malformed mysql URL"},
		{strings.Repeat("x", 30) + "://h/db", "unknown database scheme"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.value)
		if !assert.Error(t, err, "Parse(%q) succeeded, want error containing %q", truncate(tt.value, 40), tt.want) {
			continue
		}
		assert.ErrorContains(t, err, tt.want, "Parse(%q)", truncate(tt.value, 40))
		assert.NotContains(t, err.Error(), "hunter2", "Parse(%q) error shows the password", tt.value)
		assert.LessOrEqual(t, len(err.Error()), 300, "Parse(%q) error length", truncate(tt.value, 40))
	}
}

// parseAndOpen is Parse then OpenStore, as the server and the CLI do.
func parseAndOpen(ctx context.Context, value string) (*sqlstore.Store, *sql.DB, Target, error) {
	target, err := Parse(value)
	if err != nil {
		return nil, nil, target, err
	}
	store, db, err := OpenStore(ctx, target)
	return store, db, target, err
}

func TestOpenStoreSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	store, db, target, err := parseAndOpen(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, path, target.Path, "target %+v", target)
	require.NotNil(t, store, "target %+v", target)
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	assert.NoError(t, err, "journal_mode")
	assert.Equal(t, "wal", mode, "journal_mode")
	var fk int
	err = db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)
	assert.NoError(t, err, "foreign_keys")
	assert.Equal(t, 1, fk, "foreign_keys")
	// Opening again migrates nothing and works.
	_, db2, _, err := parseAndOpen(ctx, path)
	require.NoError(t, err)
	db2.Close()
}

func TestOpenMissingDirectory(t *testing.T) {
	t.Parallel()
	_, _, _, err := parseAndOpen(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	assert.ErrorContains(t, err, "cannot open")
}

func TestOpenServers(t *testing.T) {
	for _, env := range []string{testenv.PostgresEnv, testenv.MySQLEnv} {
		t.Run(env, func(t *testing.T) {
			dsn := testenv.DSN(t, env)
			if env == testenv.MySQLEnv {
				// The tests give the driver's form; turn it into our URL.
				cfg, err := mysql.ParseDSN(dsn)
				require.NoError(t, err)
				dsn = "mysql://" + cfg.User + ":" + cfg.Passwd + "@" + cfg.Addr + "/" + cfg.DBName
			}
			_, db, _, err := parseAndOpen(context.Background(), dsn)
			require.NoError(t, err)
			db.Close()
		})
	}
}
