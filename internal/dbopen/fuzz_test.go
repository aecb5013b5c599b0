package dbopen

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary -db values to Parse: it never panics, never
// accepts control characters, and never shows a URL's password in its
// errors or in the target's display form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"apitoken.db", "/var/lib/x.db", "postgres://u:hunter2secret@h:5432/db?sslmode=disable", "mysql://u:hunter2secret@h/db",
		"mysql://u:p%40ss@h:3306/db?parseTime=true", "sqlite://x", "x.db?_pragma=foo", ":memory:", "ftp://a/b", "postgres://", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		target, err := Parse(value)
		if err == nil {
			require.False(t, strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }),
				"accepted a control character: %q", value)
		}
		if !strings.Contains(value, "://") {
			return // a file path, shown as given
		}
		u, uerr := url.Parse(value)
		if uerr != nil || u.User == nil {
			return
		}
		pw, ok := u.User.Password()
		if !ok || len(pw) < 6 {
			return
		}
		u.User = url.User(u.User.Username())
		if strings.Contains(u.String(), pw) {
			return // the same text is also the host, a path or a parameter, which are shown
		}
		shown := target.String()
		if err != nil {
			shown += err.Error()
		}
		require.NotContains(t, shown, pw, "%q: password shown", value)
	})
}
