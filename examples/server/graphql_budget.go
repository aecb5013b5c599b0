package main

import (
	"context"
	"sync/atomic"
	"unicode/utf8"
)

// responseBudget counts down the bytes that the string values of a
// response may still take. It is safe for concurrent use: the library
// resolves fields in parallel. A nil budget is unlimited.
type responseBudget struct{ left atomic.Int64 }

type budgetKey struct{}

func budgetFrom(ctx context.Context) *responseBudget {
	b, _ := ctx.Value(budgetKey{}).(*responseBudget)
	return b
}

// charge takes what s adds to the response from the budget and returns s,
// or "" once the budget is spent: the response is then refused, so the
// rest of it need not be built.
func (b *responseBudget) charge(s string) string {
	if b == nil {
		return s
	}
	// A string longer than what is left is refused without a scan: an
	// echoed argument may be a megabyte, repeated by every alias.
	if left := b.left.Load(); left < 0 || int64(len(s))+2 > left {
		b.left.Store(-1)
		return ""
	}
	if b.left.Add(-jsonSize(s)) < 0 {
		return ""
	}
	return s
}

// take takes n bytes from the budget, and reports whether they were
// there; when not, the budget is spent.
func (b *responseBudget) take(n int64) bool { return b == nil || b.left.Add(-n) >= 0 }

// spent reports whether the response went over its budget.
func (b *responseBudget) spent() bool { return b != nil && b.left.Load() < 0 }

// jsonSize returns the size of s as a JSON string, as encoding/json writes
// it: quoted, with control characters, quotes, backslashes, <, > and &
// escaped, U+2028 and U+2029 too, and invalid bytes replaced. It counts
// every escape at its longest, six bytes.
func jsonSize(s string) int64 {
	n := int64(len(s)) + 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				n += 5
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 5 // written as \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 3
		}
		i += size
	}
	return n
}
