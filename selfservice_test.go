package apitoken_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestSelfService: a token reads itself, never its key, and, granted
// SelfRotateAction, rotates its own key over real HTTP.
func TestSelfService(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	srv := httptest.NewServer(http.StripPrefix("/api/tokens", svc.SelfHandler()))
	t.Cleanup(srv.Close)
	call := func(method, path, key, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/api/tokens"+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
		return res.StatusCode, out
	}

	ro, roKey := mustCreate(t, svc, apitoken.CreateParams{Name: "reader", Lifespan: apitoken.Days30})
	status, out := call("GET", "/self", roKey, "")
	require.Equal(t, http.StatusOK, status)
	data := out["data"].(map[string]any)
	assert.Equal(t, ro.ID, data["id"])
	assert.Equal(t, "read-only", data["type"])
	assert.NotNil(t, data["expiresAt"])
	raw, _ := json.Marshal(out)
	assert.NotContains(t, string(raw), roKey, "never its key")
	assert.NotContains(t, string(raw), "accessKey")
	status, _ = call("POST", "/self/rotate", roKey, "")
	assert.Equal(t, http.StatusForbidden, status, "read-only tokens may not rotate")

	ci, ciKey := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{apitoken.SelfRotateAction}})
	status, out = call("POST", "/self/rotate", ciKey, `{"overlap": 3600000}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	newKey := out["data"].(map[string]any)["accessKey"].(string)
	require.NotEqual(t, ciKey, newKey)
	_, err := svc.Verify(ctx, ciKey)
	assert.NoError(t, err, "the old key works for the overlap")
	status, out = call("POST", "/self/rotate", newKey, "")
	assert.Equal(t, http.StatusConflict, status, "no second rotation during the overlap: %v", out)
	status, _ = call("POST", "/self/rotate", ciKey, "")
	assert.Equal(t, http.StatusConflict, status, "nor by the old key")

	clk.Add(time.Hour)
	_, err = svc.Verify(ctx, ciKey)
	assert.Error(t, err, "the old key stopped at the overlap's end")
	status, out = call("POST", "/self/rotate", newKey, "")
	require.Equal(t, http.StatusOK, status, "%v", out)
	third := out["data"].(map[string]any)["accessKey"].(string)
	_, err = svc.Verify(ctx, newKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "without an overlap the old key stops at once")
	got, err := svc.Verify(ctx, third)
	require.NoError(t, err)
	assert.Equal(t, ci.ID, got.ID)

	for _, body := range []string{`{"overlap": -1}`, `{"overlap": 99999999999999}`, `{"overlap": "1h"}`,
		`{"Overlap": 1}`, `{"other": 1}`, `[`, strings.Repeat(" ", 2<<10) + "{}"} {
		status, _ = call("POST", "/self/rotate", third, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
	}
	_, err = svc.Verify(ctx, third)
	assert.NoError(t, err, "a refused body changed nothing")
	status, _ = call("GET", "/self", "not-a-key", "")
	assert.Equal(t, http.StatusUnauthorized, status)
}

// TestSelfRotateAudit: a token rotating itself is named in the event as
// the token the change was made with.
func TestSelfRotateAudit(t *testing.T) {
	events := make(chan apitoken.Event, 10)
	svc, _ := newService(t, apitoken.Config{OnEvent: func(_ context.Context, e apitoken.Event) { events <- e }})
	srv := httptest.NewServer(http.StripPrefix("/api/tokens", svc.SelfHandler()))
	t.Cleanup(srv.Close)
	ci, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.FullAccess})
	<-events // created
	req, err := http.NewRequest("POST", srv.URL+"/api/tokens/self/rotate", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	e := <-events
	assert.Equal(t, apitoken.EventRegenerated, e.Kind)
	assert.Equal(t, ci.ID, e.ActorTokenID)
	assert.Empty(t, e.Actor, "a content token has no owner")
}
