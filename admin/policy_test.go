package admin_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestPolicyFields: the admin API sets, shows and clears a token's policy,
// and refuses a bad one with Strapi's validation body.
func TestPolicyFields(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	c := e.create(`{"name":"partner","type":"read-only","allowedIPs":["203.0.113.0/24","2001:db8::1"],
		"rateLimit":{"requests":100,"window":60000},"quota":{"limit":1000,"refill":"monthly"}}`)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::1/128")}, c.AllowedIPs)
	assert.Equal(t, &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}, c.RateLimit)
	require.NotNil(t, c.Quota)
	assert.Equal(t, int64(1000), c.Quota.Remaining)
	assert.False(t, c.Disabled)

	r := e.do("PUT", "/api-tokens/"+c.ID, `{"disabled":true,"rateLimit":{"requests":0},"allowedIPs":[]}`)
	require.Equal(t, 200, r.status, r.raw)
	var got apitoken.Token
	require.NoError(t, json.Unmarshal(r.Data, &got))
	assert.True(t, got.Disabled)
	assert.Nil(t, got.RateLimit, "cleared")
	assert.Nil(t, got.AllowedIPs, "cleared")
	assert.NotNil(t, got.Quota, "untouched")

	r = e.do("GET", "/api-tokens", "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.raw, `"disabled":true`, "the list shows it")

	plain := e.create(`{"name":"plain","type":"read-only"}`)
	r = e.do("GET", "/api-tokens/"+plain.ID, "")
	for _, field := range []string{"disabled", "allowedIPs", "rateLimit", "quota"} {
		assert.NotContains(t, r.raw, `"`+field+`"`, "a token without a policy keeps Strapi's shape")
	}

	for body, msg := range map[string]string{
		`{"name":"x","allowedIPs":["nope"]}`:                  "not an IP address or network: nope",
		`{"name":"x","allowedIPs":"10.0.0.1"}`:                "",
		`{"name":"x","rateLimit":{"requests":5,"window":10}}`: "rateLimit.window",
		`{"name":"x","quota":{"limit":5,"refill":"weekly"}}`:  "quota.refill",
		`{"name":"x","Disabled":true}`:                        "",
		`{"name":"x","disabled":true,"disabled":false}`:       "",
		`{"name":"x","quota":{"limit":1e300}}`:                "",
	} {
		r := e.do("POST", "/api-tokens", body)
		assert.Equal(t, 400, r.status, body)
		if msg != "" {
			assert.Contains(t, r.Error.Message, msg, body)
		}
	}
	r = e.do("GET", "/api-tokens", "")
	assert.NotContains(t, r.raw, `"name":"x"`, "nothing bad was stored")
}
