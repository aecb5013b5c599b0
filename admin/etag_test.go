package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestIfMatch: GET, POST and PUT send the token's version as an ETag, and a
// PUT with If-Match is made only while the token still has that version.
func TestIfMatch(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	c := e.create(`{"name":"etag","type":"full-access"}`)
	r := e.do("GET", "/api-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	read := r.header.Get("ETag")
	assert.Regexp(t, `^"[0-9a-f]{24}"$`, read)

	r = e.do("POST", "/api-tokens/"+c.ID+"/regenerate", "")
	require.Equal(t, 201, r.status)
	r = e.do("PUT", "/api-tokens/"+c.ID, `{"type":"read-only"}`, "If-Match", read)
	require.Equal(t, 200, r.status, "a new key does not make an edit stale: %s", r.raw)
	edited := r.header.Get("ETag")
	assert.NotEqual(t, read, edited)

	r = e.do("PUT", "/api-tokens/"+c.ID, `{"type":"full-access"}`, "If-Match", read)
	assert.Equal(t, 412, r.status, r.raw)
	require.NotNil(t, r.Error)
	assert.Equal(t, "PreconditionFailedError", r.Error.Name)
	assert.Contains(t, r.Error.Message, "reload")
	var got apitoken.Token
	require.NoError(t, json.Unmarshal(e.do("GET", "/api-tokens/"+c.ID, "").Data, &got))
	assert.Equal(t, apitoken.ReadOnly, got.Type, "a stale write changes nothing")

	for _, tt := range []struct {
		ifMatch string
		status  int
	}{
		{`"nope", ` + edited, 200},
		{`*`, 200},
		{`W/` + edited, 412}, // weak tags never match If-Match
		{`W/`, 400},
		{`"0123456789abcdef01234567", *`, 400}, // "*" in a list would excuse the stale tag
		{`"nope"`, 412},
		{edited[1:], 400},
		{`"a"b"`, 400},
		{strings.Repeat(`"x", `, 16) + edited, 400},
	} {
		r = e.do("PUT", "/api-tokens/"+c.ID, `{"description":"d"}`, "If-Match", tt.ifMatch)
		assert.Equal(t, tt.status, r.status, "If-Match: %s: %s", tt.ifMatch, r.raw)
		if r.status == 200 {
			edited = r.header.Get("ETag")
		}
	}
	assert.Equal(t, 404, e.do("PUT", "/api-tokens/nope", `{"description":"d"}`, "If-Match", "*").status)
}

// TestConcurrentEdits: a downgrade to read-only racing edits of the
// description is never undone, and every PUT that answered 200 stands.
func TestConcurrentEdits(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	for round := range 20 {
		c := e.create(fmt.Sprintf(`{"name":"race-%d","type":"full-access"}`, round))
		var wg sync.WaitGroup
		wg.Go(func() {
			assert.Equal(t, 200, e.do("PUT", "/api-tokens/"+c.ID, `{"type":"read-only"}`).status)
		})
		for i := range 3 {
			wg.Go(func() {
				assert.Equal(t, 200, e.do("PUT", "/api-tokens/"+c.ID, fmt.Sprintf(`{"description":"edit %d"}`, i)).status)
			})
		}
		wg.Wait()
		var got apitoken.Token
		require.NoError(t, json.Unmarshal(e.do("GET", "/api-tokens/"+c.ID, "").Data, &got))
		require.Equal(t, apitoken.ReadOnly, got.Type, "round %d: the downgrade was undone", round)
		assert.Regexp(t, `^edit [0-2]$`, got.Description)
	}
}

// TestExpiredLifespan: the update permission cannot revive an expired
// token by giving it a new lifespan.
func TestExpiredLifespan(t *testing.T) {
	clk := apitokentest.NewClock()
	e := newEnv(t, apitoken.Config{Clock: clk})
	c := e.create(`{"name":"dead","type":"full-access","lifespan":604800000}`)
	clk.Add(8 * 24 * time.Hour)
	r := e.do("PUT", "/api-tokens/"+c.ID, `{"lifespan":null}`)
	assert.Equal(t, 400, r.status)
	require.NotNil(t, r.Error)
	assert.Equal(t, "ValidationError", r.Error.Name)
	require.NotEmpty(t, r.Error.Details.Errors)
	assert.Equal(t, []string{"lifespan"}, r.Error.Details.Errors[0].Path)
	req, err := http.NewRequest("GET", e.server.URL+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.AccessKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 401, res.StatusCode, "the key stays expired")
}
func ptr[T any](v T) *T { return &v }
