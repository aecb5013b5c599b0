package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// saltID returns the public id of the salt in the file at path.
func saltID(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	h, err := apitoken.NewHasher(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return h.ID()
}

// copyFile copies the database file src to dst, as a backup without its
// salt file would be.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o600))
}

func TestSaltLostRefused(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "ci", "--quiet"))
	id := saltID(t, db+".salt")
	copied := filepath.Join(t.TempDir(), "copy.db")
	copyFile(t, db, copied)

	for _, args := range [][]string{{"list"}, {"show", "ci"}, {"create", "--name", "new"}, {"salt-status"}, {"verify", "--key", "-"}} {
		r := run(t, key, append([]string{"-db", copied}, args...)...)
		assert.Equal(t, 1, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, id, "%v names the salt id the tokens were made with", args)
		assert.Contains(t, r.stderr, "API_TOKEN_SALT", "%v says how to restore it", args)
		assert.Contains(t, r.stderr, copied+".salt", "%v names the salt file", args)
		assert.NotContains(t, r.stderr, "GENERATED", args)
		assert.NoFileExists(t, copied+".salt", "%v made a salt for a database that has tokens", args)
	}

	// Restoring the file brings the keys back.
	copyFile(t, db+".salt", copied+".salt")
	r := run(t, key, "-db", copied, "verify", "--key", "-")
	assert.Equal(t, 0, r.code, r.stderr)
}

func TestWrongSaltRefused(t *testing.T) {
	db := newDB(t)
	key := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "ci", "--quiet"))
	id := saltID(t, db+".salt")
	env["API_TOKEN_SALT"] = "another-salt-0123456789"
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })

	r := run(t, key, "-db", db, "verify", "--key", "-")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "unknown salt "+id)
	assert.NotContains(t, r.stderr, "another-salt", "never the salt itself")

	// salt-status reports rather than refuses, and tells a configured
	// previous salt from one nobody has.
	out := runOK(t, "-db", db, "salt-status")
	assert.Contains(t, out, "unknown salt "+id+": 1 token; their keys cannot be verified until that salt is configured")
	assert.NotContains(t, out, "move to the current salt")

	salt, err := os.ReadFile(db + ".salt")
	require.NoError(t, err)
	env["API_TOKEN_PREVIOUS_SALTS"] = strings.TrimSpace(string(salt))
	t.Cleanup(func() { delete(env, "API_TOKEN_PREVIOUS_SALTS") })
	out = runOK(t, "-db", db, "salt-status")
	assert.Contains(t, out, "previous salt "+id+": 1 token")
	assert.Contains(t, out, "move to the current salt when next used")
	assert.NotContains(t, out, "unknown salt")
	r = run(t, key, "-db", db, "verify", "--key", "-")
	assert.Equal(t, 0, r.code, r.stderr)
}
