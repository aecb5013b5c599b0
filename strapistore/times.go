package strapistore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeArg returns t as the engine stores Strapi's datetime columns: Unix
// milliseconds on SQLite (knex's better-sqlite3 client binds a Date as its
// valueOf), a UTC time elsewhere (timestamp without time zone on PostgreSQL,
// datetime(6) on MySQL). A nil t is NULL.
func (s *Store) timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.timeValue(*t)
}

func (s *Store) timeValue(t time.Time) any {
	if s.dialect == SQLite {
		return t.UnixMilli()
	}
	return t.UTC()
}

// nullTime scans any of the forms a Strapi datetime column comes back in:
// time.Time (PostgreSQL, MySQL with parseTime, SQLite text the driver
// parsed), text (MySQL without parseTime, SQLite) or Unix milliseconds
// (SQLite, as Strapi writes it). Times without a zone are UTC.
type nullTime struct {
	Time  time.Time
	Valid bool
}

// timeLayouts are the text forms of a datetime, most likely first.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(v any) error {
	n.Time, n.Valid = time.Time{}, false
	switch v := v.(type) {
	case nil:
		return nil
	case time.Time:
		n.Time, n.Valid = v.UTC(), !v.IsZero()
		return nil
	case int64:
		n.Time, n.Valid = time.UnixMilli(v).UTC(), true
		return nil
	case float64:
		n.Time, n.Valid = time.UnixMilli(int64(v)).UTC(), true
		return nil
	case []byte:
		return n.parse(string(v))
	case string:
		return n.parse(v)
	}
	return fmt.Errorf("strapistore: cannot read a time from %T", v)
}

func (n *nullTime) parse(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		return nil // MySQL's zero date
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		n.Time, n.Valid = time.UnixMilli(ms).UTC(), true
		return nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			n.Time, n.Valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("strapistore: cannot read a time from %q", s)
}

// ptr returns the time, or nil when it is NULL.
func (n nullTime) ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}
