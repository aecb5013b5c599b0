package sqlstore

import (
	"fmt"
	"time"
)

// Times are stored in UTC at millisecond precision on every engine, truncated
// rather than rounded (MySQL would round), so that a time reads back the same
// wherever it was written:
//
//   - SQLite: INTEGER milliseconds since the Unix epoch.
//   - PostgreSQL: timestamptz(3).
//   - MySQL: DATETIME(3) holding the UTC wall clock, sent as text so that
//     neither the driver's loc parameter nor the session time zone shifts it.

// mysqlTime is the text form of a DATETIME(3).
const mysqlTime = "2006-01-02 15:04:05.000"

// arg returns t as a query argument for the dialect.
func arg(d Dialect, t time.Time) any {
	t = t.UTC().Truncate(time.Millisecond)
	switch d {
	case SQLite:
		return t.UnixMilli()
	case MySQL:
		return t.Format(mysqlTime)
	}
	return t
}

// argPtr is arg for an optional time: nil is NULL.
func argPtr(d Dialect, t *time.Time) any {
	if t == nil {
		return nil
	}
	return arg(d, *t)
}

// dbTime scans a stored time, or NULL, in whichever form the engine and its
// DSN return it.
type dbTime struct {
	dialect Dialect
	t       time.Time
	valid   bool
}

// Scan implements sql.Scanner.
func (dt *dbTime) Scan(v any) error {
	dt.valid = v != nil
	switch v := v.(type) {
	case nil:
		dt.t = time.Time{}
	case int64: // SQLite
		dt.t = time.UnixMilli(v).UTC()
	case time.Time:
		if dt.dialect == MySQL {
			// With parseTime the driver reads the stored UTC wall
			// clock in its loc; take the wall clock back as UTC.
			dt.t = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		} else {
			dt.t = v.UTC()
		}
	case []byte:
		return dt.parse(string(v))
	case string:
		return dt.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot read a time from %T", v)
	}
	return nil
}

// parse reads MySQL's text form, which the driver returns without parseTime.
func (dt *dbTime) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqlstore: reading a time: %w", err)
	}
	dt.t = t
	return nil
}

// ptr returns the time, or nil for NULL.
func (dt *dbTime) ptr() *time.Time {
	if !dt.valid {
		return nil
	}
	t := dt.t
	return &t
}
