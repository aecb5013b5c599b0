// Package sqlq holds what the SQL stores share about writing queries and
// the values they store.
package sqlq

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// Numbered turns the ? placeholders of query into PostgreSQL's $1, $2, ….
// Queries must hold no question mark in a literal.
func Numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LifespanArg returns d as both stores' lifespan column holds it, as Strapi
// does: milliseconds, or NULL for apitoken.Unlimited.
func LifespanArg(d apitoken.Duration) any {
	if d == apitoken.Unlimited {
		return nil
	}
	return d.Milliseconds()
}

// Lifespan reads back what LifespanArg stored: NULL is apitoken.Unlimited.
func Lifespan(ms sql.NullInt64) apitoken.Duration {
	return apitoken.Duration(time.Duration(ms.Int64) * time.Millisecond)
}
