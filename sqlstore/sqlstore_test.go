package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/storetest"
)

func TestStore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			storetest.Run(t, func(t *testing.T) apitoken.Store { return newStore(t, db, e.dialect) })
		})
	}
}

// TestSQLiteOneConnection runs the suite on a bare SQLite file (no
// busy_timeout, no WAL, no foreign_keys) through a single connection, the
// simplest setup the README offers. The store must not depend on the
// pragmas.
func TestSQLiteOneConnection(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "bare.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	storetest.Run(t, func(t *testing.T) apitoken.Store { return newStore(t, db, sqlstore.SQLite) })
}

// TestMySQLTimeSettings checks that times survive whatever parseTime and loc
// the DSN sets: the store writes and reads UTC wall-clock time itself.
func TestMySQLTimeSettings(t *testing.T) {
	base := testenv.DSN(t, testenv.MySQLEnv)
	for _, params := range []string{"parseTime=true", "parseTime=true&loc=Asia%2FTokyo", "parseTime=false&loc=America%2FNew_York"} {
		t.Run(params, func(t *testing.T) {
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			db, err := sql.Open("mysql", base+sep+params)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			s := newStore(t, db, sqlstore.MySQL)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 678_999_999, time.FixedZone("x", 5*3600))
			exp := at.Add(time.Hour)
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "t", Type: apitoken.ReadOnly,
				CreatedAt: at, UpdatedAt: at, ExpiresAt: &exp}
			if err := s.Create(ctx, tok, apitoken.Hash{1}); err != nil {
				t.Fatal(err)
			}
			if wrote, err := s.Touch(ctx, tok.ID, at, at); err != nil || !wrote {
				t.Fatalf("Touch = %v, %v", wrote, err)
			}
			got, err := s.GetByHash(ctx, apitoken.Hash{1})
			if err != nil {
				t.Fatal(err)
			}
			want := at.UTC().Truncate(time.Millisecond)
			if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
			}
			if !got.LastUsedAt.Equal(want) || !got.ExpiresAt.Equal(want.Add(time.Hour)) {
				t.Errorf("LastUsedAt = %v, ExpiresAt = %v, want %v and an hour later", got.LastUsedAt, got.ExpiresAt, want)
			}
			if wrote, err := s.Touch(ctx, tok.ID, at.Add(time.Minute), at.Add(-time.Millisecond)); err != nil || wrote {
				t.Errorf("Touch within the interval = %v, %v; want no write", wrote, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	// New must not touch the database: this one does not exist.
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct {
		opts sqlstore.Options
		ok   bool
	}{
		{sqlstore.Options{Dialect: sqlstore.Postgres}, true},
		{sqlstore.Options{Dialect: sqlstore.SQLite, TablePrefix: "my_app_tokens_"}, true},
		{sqlstore.Options{Dialect: sqlstore.MySQL, TablePrefix: strings.Repeat("a", 32)}, true},
		{sqlstore.Options{Dialect: sqlstore.MySQL, TablePrefix: strings.Repeat("a", 33)}, false},
		{sqlstore.Options{}, false},
		{sqlstore.Options{Dialect: 9}, false},
		{sqlstore.Options{Dialect: sqlstore.SQLite, TablePrefix: "Tokens_"}, false},
		{sqlstore.Options{Dialect: sqlstore.SQLite, TablePrefix: "t; DROP TABLE x; --"}, false},
		{sqlstore.Options{Dialect: sqlstore.SQLite, TablePrefix: "1st_"}, false},
	} {
		_, err := sqlstore.New(db, tt.opts)
		if (err == nil) != tt.ok {
			t.Errorf("New(%+v) error = %v, want ok = %v", tt.opts, err, tt.ok)
		}
	}
	if _, err := sqlstore.New(nil, sqlstore.Options{Dialect: sqlstore.SQLite}); err == nil {
		t.Error("New(nil) succeeded")
	}
}

// TestDeadline checks that an expired deadline comes back as
// context.DeadlineExceeded on every engine, whatever the driver says.
func TestDeadline(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := newStore(t, e.open(t), e.dialect)
			ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
			defer cancel()
			_, err := s.GetByHash(ctx, apitoken.Hash{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("GetByHash: %v, want DeadlineExceeded", err)
			}
			_, err = s.Touch(ctx, "x", time.Now(), time.Now())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Touch: %v, want DeadlineExceeded", err)
			}
		})
	}
}

// TestUnchangedWrites checks that an Update or SetKey that rewrites the same
// values is not taken for an unknown id: MySQL reports no affected rows for
// it unless the DSN sets clientFoundRows.
func TestUnchangedWrites(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := newStore(t, e.open(t), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "same", Type: apitoken.ReadOnly, CreatedAt: at, UpdatedAt: at}
			if err := s.Create(ctx, tok, apitoken.Hash{5}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := s.Update(ctx, tok.ID, func(*apitoken.Token) error { return nil }); err != nil {
					t.Errorf("Update with the same values: %v", err)
				}
				if err := s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: apitoken.Hash{5}, UpdatedAt: at}); err != nil {
					t.Errorf("SetKey with the same values: %v", err)
				}
			}
		})
	}
}

// TestTouchMany checks the batch form of Touch that the Service's background
// writer uses: each use obeys its own condition, unknown ids are ignored.
func TestTouchMany(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := newStore(t, e.open(t), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			fresh, stale := at.Add(-time.Minute), at.Add(-2*time.Hour)
			var ids []string
			for i, last := range []*time.Time{nil, &fresh, &stale} {
				tok := &apitoken.Token{ID: uuid.NewString(), Name: fmt.Sprint("t", i), Type: apitoken.ReadOnly,
					CreatedAt: at, UpdatedAt: at, LastUsedAt: last}
				if err := s.Create(ctx, tok, apitoken.Hash{byte(i + 1)}); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, tok.ID)
			}
			var uses []apitoken.Use
			for _, id := range append(ids, "unknown") {
				uses = append(uses, apitoken.Use{ID: id, At: at, NotAfter: at.Add(-time.Hour)})
			}
			if err := s.TouchMany(ctx, uses); err != nil {
				t.Fatal(err)
			}
			for i, want := range []time.Time{at, fresh, at} {
				got, err := s.Get(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				if got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
					t.Errorf("token %d: LastUsedAt = %v, want %v", i, got.LastUsedAt, want)
				}
			}
		})
	}
}
