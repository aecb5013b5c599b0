package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// changes collects what a WatchChanges reports.
type changes struct {
	mu  sync.Mutex
	ids []string
}

func (c *changes) add(ch apitoken.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ch.Reset {
		c.ids = append(c.ids, ch.ID)
	}
}

func (c *changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.ids
	c.ids = nil
	return ids
}

// TestFeedReportsEveryWriter: changes made by another Store instance on the
// same tables, and by a script with plain SQL, are reported; the watch
// returns an error when its database goes away.
func TestFeedReportsEveryWriter(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := e.dsn(t) // one database, three connection pools
			open := func() *sql.DB {
				db, err := sql.Open(e.driver, dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				return db
			}
			db := open()
			_, prefix := newStorePrefix(t, db, e.dialect)
			other, err := sqlstore.New(open(), sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
			require.NoError(t, err)

			watchDB := open()
			watcher, err := sqlstore.New(watchDB, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix, PollInterval: 20 * time.Millisecond})
			require.NoError(t, err)
			var got changes
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- watcher.WatchChanges(wctx, got.add) }()
			require.Eventually(t, func() bool { return watcher.Sync(ctx) == nil }, 10*time.Second, 10*time.Millisecond)

			now := time.Now().UTC().Truncate(time.Millisecond)
			tok := &apitoken.Token{ID: uuid.NewString(), Name: "w", Type: apitoken.FullAccess, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, other.Create(ctx, tok, apitoken.Hash{9}))
			require.NoError(t, watcher.Sync(ctx))
			assert.Equal(t, []string{tok.ID}, got.take(), "created by another instance")

			update := "UPDATE " + prefix + "tokens SET type = 'read-only' WHERE id = ?"
			if e.dialect == sqlstore.Postgres {
				update = "UPDATE " + prefix + "tokens SET type = 'read-only' WHERE id = $1"
			}
			_, err = db.ExecContext(ctx, update, tok.ID)
			require.NoError(t, err)
			require.NoError(t, watcher.Sync(ctx))
			assert.Equal(t, []string{tok.ID}, got.take(), "downgraded by a script")

			_, err = db.ExecContext(ctx, "DELETE FROM "+prefix+"tokens")
			require.NoError(t, err)
			require.NoError(t, watcher.Sync(ctx))
			assert.Contains(t, got.take(), tok.ID, "deleted by a script")

			require.NoError(t, watchDB.Close())
			select {
			case err := <-done:
				assert.Error(t, err, "the watch reports its lost database")
				assert.NotErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("WatchChanges did not return when its database closed")
			}
			assert.ErrorIs(t, watcher.Sync(ctx), sqlstore.ErrNotWatching)
		})
	}
}
