package dbopen

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

func TestParse(t *testing.T) {
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
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.value, err)
			continue
		}
		if got.Dialect != tt.dialect || got.Driver != tt.driver || got.String() != tt.display {
			t.Errorf("Parse(%q) = %v %s %q, want %v %s %q", tt.value, got.Dialect, got.Driver, got.String(), tt.dialect, tt.driver, tt.display)
		}
	}
}

func TestParseSQLiteDSN(t *testing.T) {
	got, err := Parse("tokens.db")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"} {
		if !strings.Contains(got.DSN, want) {
			t.Errorf("DSN %q lacks %s", got.DSN, want)
		}
	}
	if got.SidecarPath("salt") != "tokens.db.salt" {
		t.Errorf("SidecarPath = %q", got.SidecarPath("salt"))
	}
	pg, _ := Parse("postgres://db/app")
	if pg.SidecarPath("salt") != "apitoken.salt" {
		t.Errorf("postgres SidecarPath = %q", pg.SidecarPath("salt"))
	}
}

func TestParseMySQLDSN(t *testing.T) {
	// A password holding the characters that delimit the driver's DSN.
	got, err := Parse("mysql://app:p%40ss%2Fw%3Frd%29@db.example:3307/tokens?timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(got.DSN)
	if err != nil {
		t.Fatalf("driver cannot read %q: %v", got.DSN, err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss/w?rd)" || cfg.Addr != "db.example:3307" || cfg.DBName != "tokens" || cfg.Net != "tcp" {
		t.Errorf("config = %+v", cfg)
	}
	if !cfg.ParseTime || cfg.Timeout.String() != "3s" {
		t.Errorf("ParseTime %v, Timeout %v; want true, 3s", cfg.ParseTime, cfg.Timeout)
	}
	if strings.Contains(got.String(), "p@ss") {
		t.Errorf("String() shows the password: %s", got)
	}
	def, _ := Parse("mysql://app@db/tokens")
	if cfg, _ := mysql.ParseDSN(def.DSN); cfg.Addr != "db:3306" {
		t.Errorf("default port: Addr = %q", cfg.Addr)
	}
}

func TestParseRefuses(t *testing.T) {
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
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", truncate(tt.value, 40), tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", truncate(tt.value, 40), err, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error shows the password: %v", tt.value, err)
		}
		if len(err.Error()) > 300 {
			t.Errorf("Parse(%q) error is %d bytes long", truncate(tt.value, 40), len(err.Error()))
		}
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
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	store, db, target, err := parseAndOpen(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if target.Path != path || store == nil {
		t.Fatalf("target %+v", target)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	// Opening again migrates nothing and works.
	_, db2, _, err := parseAndOpen(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
}

func TestOpenMissingDirectory(t *testing.T) {
	_, _, _, err := parseAndOpen(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	if err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Fatalf("err = %v, want a cannot open error", err)
	}
}

func TestOpenServers(t *testing.T) {
	for _, env := range []string{testenv.PostgresEnv, testenv.MySQLEnv} {
		t.Run(env, func(t *testing.T) {
			dsn := testenv.DSN(t, env)
			if env == testenv.MySQLEnv {
				// The tests give the driver's form; turn it into our URL.
				cfg, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatal(err)
				}
				dsn = "mysql://" + cfg.User + ":" + cfg.Passwd + "@" + cfg.Addr + "/" + cfg.DBName
			}
			_, db, _, err := parseAndOpen(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		})
	}
}
