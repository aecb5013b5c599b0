// Package pgnotify wakes sqlstore's change feed on PostgreSQL as soon as a
// change commits, through LISTEN on a connection of its own, instead of at
// the next poll:
//
//	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, Wake: pgnotify.Wake(dsn)})
//
// Each running WatchChanges holds one connection, outside the *sql.DB's
// pool. It is a package of its own so that sqlstore imports no driver; it
// uses pgx.
package pgnotify

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The timing of a listening connection.
const (
	// checkEvery is how long a connection may be silent before it is
	// pinged: a peer gone without a word sends no error either.
	checkEvery = time.Minute
	// pingTimeout bounds that ping, and the close of a connection.
	pingTimeout = 5 * time.Second
	// minRetry and maxRetry bound the wait before reconnecting, which
	// doubles while connecting fails.
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// Wake returns a sqlstore.Options.Wake that listens on PostgreSQL at dsn, a
// pgx connection string (a URL or key=value pairs). The function connects
// and LISTENs to channel, and returns once it does, or with the error of
// that first connection. Then until ctx ends, its channel receives a value
// after notifications (one value may stand for many) and after each
// reconnection, since notifications may have been lost meanwhile. A lost
// connection is made again, waiting longer after each failed attempt, up to
// five seconds. The channel is closed, and the connection too, once ctx has
// ended.
func Wake(dsn string) func(ctx context.Context, channel string) (<-chan struct{}, error) {
	return func(ctx context.Context, channel string) (<-chan struct{}, error) {
		config, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("pgnotify: %w", err)
		}
		conn, err := listen(ctx, config, channel)
		if err != nil {
			return nil, err
		}
		woken := make(chan struct{}, 1)
		go run(ctx, config, channel, conn, woken)
		return woken, nil
	}
}

// listen returns a new connection that LISTENs to channel.
func listen(ctx context.Context, config *pgx.ConnConfig, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, config.Copy())
	if err != nil {
		return nil, fmt.Errorf("pgnotify: %w", err)
	}
	// Quoted, so that the name is taken as it is, whatever it holds.
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("pgnotify: listen: %w", err)
	}
	return conn, nil
}

// run waits for notifications on conn, connecting again when it is lost,
// until ctx ends; then it closes conn and woken.
func run(ctx context.Context, config *pgx.ConnConfig, channel string, conn *pgx.Conn, woken chan<- struct{}) {
	defer close(woken)
	retry := minRetry
	for {
		if conn != nil && wait(ctx, conn) {
			wake(woken)
			continue
		}
		if conn != nil {
			closeConn(conn)
			conn = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		c, err := listen(ctx, config, channel)
		if err != nil {
			retry = min(2*retry, maxRetry)
			continue
		}
		conn, retry = c, minRetry
		wake(woken) // what was notified while it was away
	}
}

// wait waits for a notification on conn and reports whether one came. It
// pings conn when nothing came for checkEvery, and reports false when that
// fails or ctx ends. (A wait that times out leaves a pgx connection usable.)
func wait(ctx context.Context, conn *pgx.Conn) bool {
	for {
		wctx, cancel := context.WithTimeout(ctx, checkEvery)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil || wctx.Err() == nil || conn.IsClosed():
			return false
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return false
		}
	}
}

// wake sends on woken unless a wake-up is already waiting there.
func wake(woken chan<- struct{}) {
	select {
	case woken <- struct{}{}:
	default:
	}
}

// closeConn closes conn, even when the context it was used with has ended.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	conn.Close(ctx)
}
