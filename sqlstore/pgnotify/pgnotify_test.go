package pgnotify_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/sqlstore/pgnotify"
)

// TestWakeIsPush: with a poll interval of a minute, a change made through
// another Store is reported within a second, so by the notification.
func TestWakeIsPush(t *testing.T) {
	dsn := testenv.DSN(t, testenv.PostgresEnv)
	ctx := context.Background()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 5)
	rand.Read(b)
	prefix := "n" + hex.EncodeToString(b) + "_"
	t.Cleanup(func() {
		for _, drop := range []string{"TABLE %spermissions", "TABLE %stokens", "TABLE %schanges", "TABLE %smigrations",
			"FUNCTION %stokens_changed()", "FUNCTION %spermissions_changed()"} {
			kind, name, _ := strings.Cut(fmt.Sprintf(drop, prefix), " ")
			_, err := db.Exec("DROP " + kind + " IF EXISTS " + name)
			assert.NoError(t, err)
		}
	})
	writer, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, TablePrefix: prefix})
	require.NoError(t, err)
	require.NoError(t, writer.Migrate(ctx))
	watcher, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, TablePrefix: prefix,
		PollInterval: time.Minute, Wake: pgnotify.Wake(dsn)})
	require.NoError(t, err)

	got := make(chan string, 10)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- watcher.WatchChanges(wctx, func(c apitoken.Change) {
			if !c.Reset {
				got <- c.ID
			}
		})
	}()
	require.Eventually(t, func() bool { return watcher.Sync(ctx) == nil }, 10*time.Second, 10*time.Millisecond)

	now := time.Now().UTC()
	tok := &apitoken.Token{ID: uuid.NewString(), Name: "pushed", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}
	start := time.Now()
	require.NoError(t, writer.Create(ctx, tok, apitoken.Hash{5}))
	select {
	case id := <-got:
		assert.Equal(t, tok.ID, id)
		t.Logf("reported %v after the commit", time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("not reported within a second with a one-minute poll: no push")
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
