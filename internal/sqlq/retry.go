package sqlq

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Deadlock reports whether err is PostgreSQL's or MySQL's answer to a
// transaction it aborted to break a deadlock or a serialization conflict:
// one that may simply be run again. Drivers are not imported, so it goes
// by what each one exposes: pgconn.PgError's SQLState method (40P01,
// 40001), and MySQLError's "Error 1213" text.
func Deadlock(err error) bool {
	if err == nil {
		return false
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		return st.SQLState() == "40P01" || st.SQLState() == "40001"
	}
	return strings.Contains(err.Error(), "Error 1213")
}

// MaxRetryWait bounds how long Retry runs a write again.
const MaxRetryWait = 10 * time.Second

// Retry runs f, and runs it again, with pauses growing from 1 ms to 50 ms,
// while it fails with an error that again says running again cures (SQLite's
// busy write lock, a deadlock's victim), for up to MaxRetryWait or until ctx
// ends.
func Retry(ctx context.Context, again func(error) bool, f func() error) error {
	err := f()
	pause := time.Millisecond
	deadline := time.Now().Add(MaxRetryWait)
	for err != nil && again(err) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
		err = f()
	}
	return err
}
