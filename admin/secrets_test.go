package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
)

// TestNoKeyEscapes runs a whole create → use → regenerate → delete cycle
// with every log record captured at debug level, and proves that no key or
// hash appears in any log line, error or response body other than the one
// create or regenerate answers with.
func TestNoKeyEscapes(t *testing.T) {
	var logs testenv.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events []apitoken.Event
	e := newEnv(t, apitoken.Config{Logger: logger, TouchInterval: 1,
		OnEvent: func(_ context.Context, e apitoken.Event) { events = append(events, e) }})
	svc := e.svc

	var bodies []string // every response body but the two that must carry a key
	var keys []string
	c := e.create(`{"name":"secret","type":"custom","permissions":["api::article.article.find"]}`)
	keys = append(keys, c.AccessKey)
	for _, k := range []string{c.AccessKey, c.AccessKey + "x", strings.ToUpper(c.AccessKey)} {
		bodies = append(bodies, get(t, e.server.URL+"/api/articles", "Bearer "+k))
	}
	bodies = append(bodies, e.do("GET", "/api-tokens", "").raw, e.do("GET", "/api-tokens/"+c.ID, "").raw,
		e.do("PUT", "/api-tokens/"+c.ID, `{"description":"rotated soon"}`).raw,
		e.do("POST", "/api-tokens", `{"name":"secret"}`).raw)
	r := e.do("POST", "/api-tokens/"+c.ID+"/regenerate", "")
	require.Equal(t, 201, r.status)
	fresh := strings.Split(strings.Split(r.raw, `"accessKey":"`)[1], `"`)[0]
	keys = append(keys, fresh)
	bodies = append(bodies, get(t, e.server.URL+"/api/articles", "Bearer "+c.AccessKey), get(t, e.server.URL+"/api/articles", "Bearer "+fresh))
	_, verr := svc.Verify(context.Background(), c.AccessKey)
	bodies = append(bodies, e.do("DELETE", "/api-tokens/"+c.ID, "").raw, get(t, e.server.URL+"/api/articles", "Bearer "+fresh), verr.Error())
	require.NoError(t, svc.Close(context.Background()))

	hasher, err := apitoken.NewHasher(salt)
	require.NoError(t, err)
	all := strings.Join(bodies, "\n") + "\n" + logs.String()
	for _, ev := range events {
		all += "\n" + ev.TokenID + ev.TokenName + ev.Client
		if ev.Err != nil {
			all += ev.Err.Error()
		}
	}
	require.NotEmpty(t, logs.String(), "the cycle was logged")
	require.NotEmpty(t, events)
	for _, k := range keys {
		assert.NotContains(t, all, k)
		assert.NotContains(t, all, k[len(k)-40:], "not even the end of a key")
		assert.NotContains(t, all, hasher.Sum(k).Hex())
	}
}

func get(t *testing.T, url, auth string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.Status + " " + string(b)
}
