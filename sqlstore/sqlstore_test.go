package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	storetest.Run(t, func(t *testing.T) apitoken.Store { return newStore(t, db, sqlstore.SQLite) })
}

// TestMySQLTimeSettings checks that times survive whatever parseTime and loc
// the DSN sets: the store writes and reads UTC wall-clock time itself.
func TestMySQLTimeSettings(t *testing.T) {
	t.Parallel()
	base := testenv.DSN(t, testenv.MySQLEnv)
	for _, params := range []string{"parseTime=true", "parseTime=true&loc=Asia%2FTokyo", "parseTime=false&loc=America%2FNew_York"} {
		t.Run(params, func(t *testing.T) {
			t.Parallel()
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			db, err := sql.Open("mysql", base+sep+params)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s := newStore(t, db, sqlstore.MySQL)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 678_999_999, time.FixedZone("x", 5*3600))
			exp := at.Add(time.Hour)
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "t", Type: apitoken.ReadOnly,
				CreatedAt: at, UpdatedAt: at, ExpiresAt: &exp}
			require.NoError(t, s.Create(ctx, tok, apitoken.Hash{1}))
			wrote, err := s.Touch(ctx, tok.ID, at, at)
			require.NoError(t, err, "Touch")
			require.True(t, wrote, "Touch wrote nothing")
			got, err := s.GetByHash(ctx, apitoken.Hash{1})
			require.NoError(t, err)
			want := at.UTC().Truncate(time.Millisecond)
			assert.True(t, got.CreatedAt.Equal(want), "CreatedAt = %v, want %v", got.CreatedAt, want)
			assert.Same(t, time.UTC, got.CreatedAt.Location(), "CreatedAt = %v, want it in UTC", got.CreatedAt)
			require.NotNil(t, got.LastUsedAt)
			require.NotNil(t, got.ExpiresAt)
			assert.True(t, got.LastUsedAt.Equal(want), "LastUsedAt = %v, want %v", got.LastUsedAt, want)
			assert.True(t, got.ExpiresAt.Equal(want.Add(time.Hour)), "ExpiresAt = %v, want %v", got.ExpiresAt, want.Add(time.Hour))
			wrote, err = s.Touch(ctx, tok.ID, at.Add(time.Minute), at.Add(-time.Millisecond))
			assert.NoError(t, err, "Touch within the interval")
			assert.False(t, wrote, "Touch within the interval wrote; want no write")
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	// New must not touch the database: this one does not exist.
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
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
		if tt.ok {
			assert.NoError(t, err, "New(%+v)", tt.opts)
		} else {
			assert.Error(t, err, "New(%+v)", tt.opts)
		}
	}
	_, err = sqlstore.New(nil, sqlstore.Options{Dialect: sqlstore.SQLite})
	assert.Error(t, err, "New(nil) succeeded")
}

// TestDeadline checks that an expired deadline comes back as
// context.DeadlineExceeded on every engine, whatever the driver says.
func TestDeadline(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, e.open(t), e.dialect)
			ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
			defer cancel()
			_, err := s.GetByHash(ctx, apitoken.Hash{})
			assert.ErrorIs(t, err, context.DeadlineExceeded, "GetByHash")
			_, err = s.Touch(ctx, "x", time.Now(), time.Now())
			assert.ErrorIs(t, err, context.DeadlineExceeded, "Touch")
		})
	}
}

// TestUnchangedWrites checks that an Update or SetKey that rewrites the same
// values is not taken for an unknown id: MySQL reports no affected rows for
// it unless the DSN sets clientFoundRows.
func TestUnchangedWrites(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, e.open(t), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "same", Type: apitoken.ReadOnly, CreatedAt: at, UpdatedAt: at}
			require.NoError(t, s.Create(ctx, tok, apitoken.Hash{5}))
			for range 2 {
				_, err := s.Update(ctx, tok.ID, func(*apitoken.Token) error { return nil })
				assert.NoError(t, err, "Update with the same values")
				err = s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: apitoken.Hash{5}, UpdatedAt: at})
				assert.NoError(t, err, "SetKey with the same values")
			}
		})
	}
}

// TestTouchManyChunks: a batch longer than one statement takes is written
// whole, each use with its own time and condition.
func TestTouchManyChunks(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, e.open(t), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			const n = 450 // three statements
			var uses []apitoken.Use
			for i := range n {
				tok := &apitoken.Token{ID: uuid.NewString(), Name: fmt.Sprint("c", i), Type: apitoken.ReadOnly, CreatedAt: at, UpdatedAt: at}
				require.NoError(t, s.Create(ctx, tok, apitoken.Hash{byte(i), byte(i >> 8), 1}))
				use := at.Add(time.Duration(i) * time.Second)
				uses = append(uses, apitoken.Use{ID: tok.ID, At: use, NotAfter: use.Add(-time.Hour)})
			}
			require.NoError(t, s.TouchMany(ctx, uses))
			for _, u := range uses {
				got, err := s.Get(ctx, u.ID)
				require.NoError(t, err)
				require.NotNil(t, got.LastUsedAt)
				assert.True(t, got.LastUsedAt.Equal(u.At), "%s: %v, want %v", u.ID, got.LastUsedAt, u.At)
			}
			// Within the interval: nothing changes.
			later := make([]apitoken.Use, len(uses))
			for i, u := range uses {
				later[i] = apitoken.Use{ID: u.ID, At: u.At.Add(time.Minute), NotAfter: u.At.Add(-time.Second)}
			}
			require.NoError(t, s.TouchMany(ctx, later))
			got, err := s.Get(ctx, uses[n-1].ID)
			require.NoError(t, err)
			assert.True(t, got.LastUsedAt.Equal(uses[n-1].At), "a use within the interval rewrote LastUsedAt")
		})
	}
}

// TestTouchMany checks the batch form of Touch that the Service's background
// writer uses: each use obeys its own condition, unknown ids are ignored.
func TestTouchMany(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, e.open(t), e.dialect)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			fresh, stale := at.Add(-time.Minute), at.Add(-2*time.Hour)
			var ids []string
			for i, last := range []*time.Time{nil, &fresh, &stale} {
				tok := &apitoken.Token{ID: uuid.NewString(), Name: fmt.Sprint("t", i), Type: apitoken.ReadOnly,
					CreatedAt: at, UpdatedAt: at, LastUsedAt: last}
				require.NoError(t, s.Create(ctx, tok, apitoken.Hash{byte(i + 1)}))
				ids = append(ids, tok.ID)
			}
			var uses []apitoken.Use
			for _, id := range append(ids, "unknown") {
				uses = append(uses, apitoken.Use{ID: id, At: at, NotAfter: at.Add(-time.Hour)})
			}
			require.NoError(t, s.TouchMany(ctx, uses))
			for i, want := range []time.Time{at, fresh, at} {
				got, err := s.Get(ctx, ids[i])
				require.NoError(t, err)
				if assert.NotNil(t, got.LastUsedAt, "token %d: LastUsedAt", i) {
					assert.True(t, got.LastUsedAt.Equal(want), "token %d: LastUsedAt = %v, want %v", i, got.LastUsedAt, want)
				}
			}
		})
	}
}
