// Package sqlq holds what the SQL stores share about writing queries.
package sqlq

import (
	"strconv"
	"strings"
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
