package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestCancelMidWrite cancels the context inside a multi-statement write,
// after the token row and the first batch of permissions have been written
// in the transaction, and checks that nothing of the write remains: a new
// token is absent, with no stray permission rows, and an updated one is as
// it was.
func TestCancelMidWrite(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			db := openHooked(t, e)
			s, prefix := newStorePrefix(t, db, e.dialect)
			bg := context.Background()

			// 1200 permissions: the token INSERT, then three
			// permission INSERTs of at most 500 rows.
			perms := make([]string, 1200)
			for i := range perms {
				perms[i] = fmt.Sprintf("api::a%04d.a.find", i)
			}
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "big", Type: apitoken.Custom, Permissions: perms,
				CreatedAt: time.Now(), UpdatedAt: time.Now()}
			ctx := cancelAtStatement(bg, 3) // the second permission INSERT
			require.ErrorIs(t, s.Create(ctx, tok, apitoken.Hash{7}), context.Canceled, "Create")
			_, err := s.Get(bg, tok.ID)
			assert.ErrorIs(t, err, apitoken.ErrNotFound, "Get after a cancelled Create")
			assert.Zero(t, countPermissions(t, db, prefix, tok.ID), "permission rows left by a cancelled Create")

			// An update cancelled after the old permissions were
			// deleted and some new ones written leaves the old ones.
			old := &apitoken.Token{ID: uuid.NewString(), Name: "kept", Type: apitoken.Custom,
				Permissions: []string{"api::x.x.find"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
			require.NoError(t, s.Create(bg, old, apitoken.Hash{8}))
			// The lock, SELECT, UPDATE, DELETE, INSERT, [INSERT].
			_, err = s.Update(cancelAtStatement(bg, 6), old.ID, func(u *apitoken.Token) error {
				u.Name, u.Permissions = "renamed", perms
				return nil
			})
			require.ErrorIs(t, err, context.Canceled, "Update")
			got, err := s.GetByHash(bg, apitoken.Hash{8})
			require.NoError(t, err)
			assert.Equal(t, "kept", got.Name, "after a cancelled Update, the token is unchanged")
			assert.Equal(t, []string{"api::x.x.find"}, got.Permissions, "after a cancelled Update, the token is unchanged")

			// The same writes go through with a live context.
			require.NoError(t, s.Create(bg, tok, apitoken.Hash{7}))
			assert.Equal(t, len(perms), countPermissions(t, db, prefix, tok.ID), "permission rows")
		})
	}
}

// cancelAtStatement returns a context that the hooked connections cancel
// when the n-th statement run under it starts, before the database sees it.
func cancelAtStatement(parent context.Context, n int64) context.Context {
	ctx, cancel := context.WithCancel(parent)
	var count atomic.Int64
	return context.WithValue(ctx, hookKey{}, func(query string) {
		if count.Add(1) == n {
			cancel()
		}
	})
}

func countPermissions(t *testing.T, db *sql.DB, prefix, id string) int {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM " + prefix + "permissions WHERE token_id = '" + id + "'"
	require.NoError(t, db.QueryRow(q).Scan(&n))
	return n
}

// hookKey is the context key of a statement hook: func(query string).
type hookKey struct{}

// openHooked opens the engine's database through connections that call the
// context's statement hook before each statement.
func openHooked(t *testing.T, e engine) *sql.DB {
	t.Helper()
	dsn := e.dsn(t)
	plain, err := sql.Open(e.driver, dsn) // for its driver only
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	db := sql.OpenDB(hookConnector{drv: plain.Driver(), dsn: dsn})
	t.Cleanup(func() { db.Close() })
	return db
}

type hookConnector struct {
	drv driver.Driver
	dsn string
}

func (c hookConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return hookConn{conn}, nil
}

func (c hookConnector) Driver() driver.Driver { return c.drv }

// hookConn forwards to the driver's connection, which for the three drivers
// implements every optional interface used here.
type hookConn struct{ driver.Conn }

func runHook(ctx context.Context, query string) {
	if f, ok := ctx.Value(hookKey{}).(func(string)); ok {
		f(query)
	}
}

func (c hookConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	runHook(ctx, query)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c hookConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	runHook(ctx, query)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c hookConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c hookConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c hookConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c hookConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c hookConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
