package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
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

// TestSaltStatusOldKey: a token regenerated with overlap after a salt
// rotation, before its key moved, keeps its old key on the old salt.
// salt-status counts it there, with the end of the overlap, and the other
// commands refuse to run without the old salt while the old key works.
func TestSaltStatusOldKey(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	oldKey := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "ci", "--quiet"))
	oldSalt, err := os.ReadFile(db + ".salt")
	require.NoError(t, err)
	oldID := saltID(t, db+".salt")
	const newSalt = "the-new-salt-0123456789abc"
	newHasher, err := apitoken.NewHasher(newSalt)
	require.NoError(t, err)
	env["API_TOKEN_SALT"], env["API_TOKEN_PREVIOUS_SALTS"] = newSalt, strings.TrimSpace(string(oldSalt))
	t.Cleanup(func() {
		delete(env, "API_TOKEN_SALT")
		delete(env, "API_TOKEN_PREVIOUS_SALTS")
	})

	target, err := dbopen.Parse(db)
	require.NoError(t, err)
	store, sqldb, err := dbopen.OpenStore(ctx, target)
	require.NoError(t, err)
	defer sqldb.Close()
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: newSalt, PreviousSalts: []string{strings.TrimSpace(string(oldSalt))}})
	require.NoError(t, err)
	defer svc.Close(ctx)
	list, err := svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	tok, _, err := svc.RegenerateWithOverlap(ctx, list[0].ID, 24*time.Hour)
	require.NoError(t, err)
	require.NotNil(t, tok.PreviousKeyExpiresAt)
	until := tok.PreviousKeyExpiresAt.UTC().Format(time.RFC3339)

	out := runOK(t, "-db", db, "salt-status")
	assert.Contains(t, out, "current salt "+newHasher.ID()+": 1 token\n")
	assert.Contains(t, out, "previous salt "+oldID+": 1 token; current keys move to the current salt when next used, "+
		"but the old keys of 1 token, kept by a regeneration with overlap, never move: this salt is needed until "+until+"\n")
	var n saltStatus
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "salt-status", "--json")), &n))
	assert.Equal(t, map[string]int{oldID: 1}, n.Previous)
	require.Contains(t, n.Overlaps, oldID)
	assert.Equal(t, 1, n.Overlaps[oldID].Tokens)
	assert.True(t, n.Overlaps[oldID].Until.Equal(*tok.PreviousKeyExpiresAt), "overlaps = %+v", n.Overlaps)
	r := run(t, oldKey, "-db", db, "verify", "--key", "-")
	assert.Equal(t, 0, r.code, "the old key works during the overlap: %s", r.stderr)

	// Without the old salt the old key would die early: refused, and
	// reported.
	delete(env, "API_TOKEN_PREVIOUS_SALTS")
	r = run(t, oldKey, "-db", db, "verify", "--key", "-")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "unknown salt "+oldID+": 1 token(s) (1 by the old key of a regeneration with overlap, "+
		"which works until "+until+")")
	out = runOK(t, "-db", db, "salt-status")
	assert.Contains(t, out, "unknown salt "+oldID+": 1 token (the old keys of 1 token, kept by a regeneration with overlap until "+
		until+"); their keys cannot be verified")
	assert.NotContains(t, out, strings.TrimSpace(string(oldSalt)), "never the salt itself")
}
