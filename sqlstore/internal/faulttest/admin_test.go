package faulttest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/faultproxy"
)

// testAdminFaults: every admin route that needs the store answers 503 with
// Strapi's error body while the database is down or hangs, never 500, and
// works again once it is back.
func testAdminFaults(t *testing.T, e engine) {
	r := newRig(t, e)
	tok, _, err := r.svc.Create(context.Background(), apitoken.CreateParams{Name: "kept"})
	require.NoError(t, err)
	routes := [][3]string{
		{"GET", "/api-tokens", ""},
		{"GET", "/api-tokens/" + tok.ID, ""},
		{"POST", "/api-tokens", `{"name":"new"}`},
		{"PUT", "/api-tokens/" + tok.ID, `{"description":"d"}`},
		{"POST", "/api-tokens/" + tok.ID + "/regenerate", ""},
		{"DELETE", "/api-tokens/" + tok.ID, ""},
	}
	for _, mode := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.Stall} {
		r.proxy.SetMode(mode)
		r.proxy.Reset()
		for _, rt := range routes {
			status, body := r.admin(t, rt[0], rt[1], rt[2])
			assert.Equal(t, 503, status, "mode %v: %s %s: %s", mode, rt[0], rt[1], body)
			assert.JSONEq(t, `{"data":null,"error":{"status":503,"name":"ServiceUnavailableError","message":"Token store unavailable","details":{}}}`, body)
		}
		r.proxy.SetMode(faultproxy.Pass)
		waitFor(t, "the admin API after an outage", func() bool {
			status, _ := r.admin(t, "GET", "/api-tokens", "")
			return status == 200
		})
	}
	status, body := r.admin(t, "GET", "/api-tokens/"+tok.ID, "")
	require.Equal(t, 200, status, body)
	var got struct{ Data apitoken.Token }
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "kept", got.Data.Name, "nothing was lost")
}

// admin sends an admin API request with a deadline, as a browser or script
// would give up, and returns the status and body.
func (r *rig) admin(t *testing.T, method, path, body string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.server.URL+"/admin"+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the server always answers")
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(raw)
}
