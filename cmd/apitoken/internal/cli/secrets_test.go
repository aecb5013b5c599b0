package cli

import (
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leak returns a piece of key, at least 16 bytes long, that s shows, or "".
func leak(s, key string) string {
	const n = 16
	for i := 0; i+n <= len(key); i++ {
		if strings.Contains(s, key[i:i+n]) {
			return key[i : i+n]
		}
	}
	return ""
}

// TestNoKeyEchoed puts a key wherever a command line can take an argument by
// mistake: no message may show it, nor any 16 bytes of it.
func TestNoKeyEchoed(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	prefixed := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "ci", "--quiet"))
	hex := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "hex", "--hex-keys", "--quiet"))
	for _, key := range []string{prefixed, hex} {
		for _, args := range [][]string{
			{"verify", key},
			{"verify", "--key=-", "--action", key},
			{"verify", "--key", key, "--action", key},
			{"verify", "--key", key, "extra"},
			{key},
			{"show", key},
			{"delete", key},
			{"list", key},
			{"list", "--" + key},
			{"list", "-" + key + "=x"},
			{"list", "---" + key},
			{"list", "--json=" + key},
			{"--json=" + key, "list"},
			{"--" + key, "list"},
			{"create", "--name", "x", "--duration", key},
			{"create", "--name", "x", "--type", key},
			{"create", "--name", "x", "--type", "custom", "--permission", key},
			{"create", "--name", "x", "--quiet=" + key},
			{"create", "--name", "x", "--kind", key},
			{"create", "--name", "x", "--kind", "admin", "--owner", key, "--permission", "admin::api-tokens.read"},
			{"create", "--name", "x", "--kind", "admin", "--owner", "o", "--permission", key},
			{"create", "--name", "x", "--kind", "admin", "--owner", "o", "--permission", "admin::a." + key},
			{"create", "--name", "x", "--kind", "admin", "--owner", "o", "--owner-permissions", key, "--permission", "admin::api-tokens.read"},
			{"list", "--kind", key},
			{"list", "-db", key},
			{"import-strapi", "--from", key},
			{"import-strapi", "--from", "x.db", "--strapi", key},
		} {
			r := run(t, key+"\n", append([]string{"-db", db}, args...)...)
			assert.NotZero(t, r.code, "%.40q", args)
			assert.Empty(t, leak(r.stderr, key), "stderr of %.60q: %s", args, r.stderr)
			assert.Empty(t, leak(r.stdout, key), "stdout of %.60q", args)
		}
	}
}

// TestFileModes checks that the SQLite file the CLI creates is readable by
// its owner alone, whatever the umask, like the salt file next to it.
func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "ci")
	for _, path := range []string{db, db + ".salt"} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), path)
	}
}

// TestHelpListsEveryCommand: -h names each command the CLI runs.
func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	out := runOK(t, "-h")
	for name := range commands {
		assert.Regexp(t, `\n  `+name+`( |\n)`, out, "-h lacks %s", name)
	}
}
