package sqlq

import (
	"errors"
	"strings"
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
