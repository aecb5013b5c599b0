// Package pgnotify wakes a sqlstore change feed on PostgreSQL as soon as a
// change commits, rather than at its next poll: sqlstore's triggers notify
// a channel, and a Listener LISTENs to it on a connection of its own,
// through pgx.
//
//	l, err := pgnotify.New(dsn)
//	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, Wake: l.Wake})
//
// Each running WatchChanges holds one connection, outside the *sql.DB's
// pool. It is a package of its own so that sqlstore imports no driver.
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
	maxRetry = 10 * time.Second
)

// Listener listens for notifications on PostgreSQL connections to one
// database. Its Wake is a sqlstore.Options.Wake. It is safe for concurrent
// use.
type Listener struct {
	config *pgx.ConnConfig
}

// New returns a Listener that connects with connString, a pgx connection
// string (a URL or key=value pairs). It does not connect yet.
func New(connString string) (*Listener, error) {
	config, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgnotify: %w", err)
	}
	return &Listener{config: config}, nil
}

// NewConfig returns a Listener that connects with config, which it copies.
func NewConfig(config *pgx.ConnConfig) *Listener {
	return &Listener{config: config.Copy()}
}

// Wake connects and LISTENs to channel, and returns once it does, or with
// the error. Then until ctx ends, its channel receives a value after
// notifications on channel (one value for all that arrived since the last
// was taken) and after each reconnection, since notifications may have been
// missed while the connection was down. When the connection fails it
// reconnects by itself, waiting longer after each failed attempt, up to
// ten seconds. The channel is closed, and the connection too, once ctx has
// ended.
func (l *Listener) Wake(ctx context.Context, channel string) (<-chan struct{}, error) {
	conn, err := l.listen(ctx, channel)
	if err != nil {
		return nil, err
	}
	woken := make(chan struct{}, 1)
	go l.run(ctx, conn, channel, woken)
	return woken, nil
}

// listen returns a new connection that LISTENs to channel.
func (l *Listener) listen(ctx context.Context, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.config.Copy())
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

// run waits for notifications on conn, reconnecting when it fails, until
// ctx ends; then it closes conn and woken.
func (l *Listener) run(ctx context.Context, conn *pgx.Conn, channel string, woken chan<- struct{}) {
	defer close(woken)
	retry := minRetry
	for {
		if conn != nil && l.wait(ctx, conn) {
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
		c, err := l.listen(ctx, channel)
		if err != nil {
			retry = min(2*retry, maxRetry)
			continue
		}
		conn, retry = c, minRetry
		wake(woken)
	}
}

// wait waits for a notification on conn and reports whether one came. It
// pings conn when nothing came for checkEvery, and reports false when that
// fails or ctx ends.
func (l *Listener) wait(ctx context.Context, conn *pgx.Conn) bool {
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
