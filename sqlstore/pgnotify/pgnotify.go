// Package pgnotify wakes sqlstore's change feed on PostgreSQL as soon as a
// change commits, through LISTEN on a connection of its own, instead of at
// the next poll:
//
//	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, Wake: pgnotify.Wake(dsn)})
//
// It is a package of its own so that sqlstore imports no driver; it uses
// pgx.
package pgnotify

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxRetry bounds the wait before a lost connection is made again.
const maxRetry = 5 * time.Second

// Wake returns a sqlstore.Options.Wake that listens on PostgreSQL at dsn. The
// channel it returns receives a value after notifications (one value may
// stand for many) and after each reconnection, since notifications may have
// been lost meanwhile; it is closed once ctx has ended. Wake returns once it
// listens, or the error of its first connection.
func Wake(dsn string) func(ctx context.Context, channel string) (<-chan struct{}, error) {
	return func(ctx context.Context, channel string) (<-chan struct{}, error) {
		conn, err := listen(ctx, dsn, channel)
		if err != nil {
			return nil, err
		}
		woken := make(chan struct{}, 1)
		go run(ctx, dsn, channel, conn, woken)
		return woken, nil
	}
}

func listen(ctx context.Context, dsn, channel string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// run waits for notifications on conn, connecting again when it is lost,
// until ctx ends.
func run(ctx context.Context, dsn, channel string, conn *pgx.Conn, woken chan struct{}) {
	defer close(woken)
	wake := func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	}
	wait := 100 * time.Millisecond
	for {
		for conn != nil {
			if _, err := conn.WaitForNotification(ctx); err != nil {
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
				break
			}
			wait = 100 * time.Millisecond
			wake()
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, maxRetry)
		if c, err := listen(ctx, dsn, channel); err == nil {
			conn = c
			wake() // what was notified while it was away
		}
	}
}
