package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestExpiringIdleRevoke: list --expiring and --idle pick the tokens to
// renew or retire, and revoke-idle deletes the idle ones, or with
// --dry-run only names them.
func TestExpiringIdleRevoke(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "week", "--duration", "7d")
	runOK(t, "-db", db, "create", "--name", "forever")

	var list []apitoken.Token
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "list", "--expiring", "8d", "--json")), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "week", list[0].Name)
	assert.Contains(t, runOK(t, "-db", db, "list", "--idle", "1h"), "No tokens", "nothing is an hour old")

	out := runOK(t, "-db", db, "revoke-idle", "--idle", "1ns", "--dry-run")
	assert.Contains(t, out, `Would delete token "forever"`)
	assert.Contains(t, out, `Would delete token "week"`)
	assert.Contains(t, runOK(t, "-db", db, "list"), "forever", "a dry run deletes nothing")
	assert.Contains(t, runOK(t, "-db", db, "revoke-idle", "--idle", "1h"), "No idle tokens.")
	out = runOK(t, "-db", db, "revoke-idle", "--idle", "1ns")
	assert.Contains(t, out, `Deleted token "forever"`)
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "list", "--json")), &list))
	assert.Empty(t, list)

	for _, args := range [][]string{
		{"list", "--idle", "soon"},
		{"list", "--idle", "unlimited"},
		{"list", "--expiring", "-3d"},
		{"list", "--expiring", "7d", "--idle", "7d"},
		{"revoke-idle"},
		{"revoke-idle", "--idle", "99999999999999999999d"},
	} {
		r := run(t, "", append([]string{"-db", db}, args...)...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
}
