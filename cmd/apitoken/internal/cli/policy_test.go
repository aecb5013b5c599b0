package cli

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestPolicyFlags: create and update set, show and clear a token's
// restrictions; malformed ones are usage mistakes that change nothing.
func TestPolicyFlags(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var tok apitoken.Token
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "create", "--name", "partner", "--json",
		"--allow-ip", "203.0.113.0/24", "--allow-ip", "2001:db8::1", "--rate-limit", "100/1m", "--quota", "5000/monthly")), &tok))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::1/128")}, tok.AllowedIPs)
	assert.Equal(t, &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}, tok.RateLimit)
	require.NotNil(t, tok.Quota)
	assert.Equal(t, apitoken.Monthly, tok.Quota.Refill)

	out := runOK(t, "-db", db, "show", "partner")
	assert.Contains(t, out, "from 203.0.113.0/24 2001:db8::1/128; 100 requests per 1m0s; 5000 of 5000 uses left, refilled monthly")

	runOK(t, "-db", db, "update", "partner", "--disable", "--allow-any-ip", "--rate-limit", "none")
	assert.Contains(t, runOK(t, "-db", db, "show", "partner"), "restrictions:  disabled; 5000 of 5000 uses left")
	runOK(t, "-db", db, "update", "partner", "--enable", "--quota", "none")
	assert.Contains(t, runOK(t, "-db", db, "show", "partner"), "restrictions:  none")

	for _, args := range [][]string{
		{"update", "partner", "--rate-limit", "100"},
		{"update", "partner", "--rate-limit", "x/1m"},
		{"update", "partner", "--rate-limit", "100/forever"},
		{"update", "partner", "--quota", "-5"},
		{"update", "partner", "--quota", "5/weekly"},
		{"update", "partner", "--disable", "--enable"},
		{"update", "partner", "--allow-ip", "10.0.0.1", "--allow-any-ip"},
		{"create", "--name", "x", "--quota", "1e3"},
	} {
		r := run(t, "", append([]string{"-db", db}, args...)...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
	r := run(t, "", "-db", db, "update", "partner", "--allow-ip", "not-an-ip")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "not an IP address or network: not-an-ip")
	assert.Contains(t, runOK(t, "-db", db, "show", "partner"), "restrictions:  none", "nothing changed")
}
