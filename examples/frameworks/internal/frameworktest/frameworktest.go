// Package frameworktest checks that an example server on a web framework
// guards its routes as apitoken's middleware does on net/http.
package frameworktest

import (
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

// Run serves the handler that routes returns over real HTTP and checks its
// routes with a token of each type and state. The routes are those of the
// examples: GET /api/articles (api::article.article.find), GET
// /api/articles/{id} (findOne), each answering {"id": the path's id, "for":
// the token's name}, and POST /api/articles (create), answering 201.
func Run(t *testing.T, routes func(*apitoken.Service) http.Handler) {
	clk := apitokentest.NewClock()
	svc := apitokentest.New(t, apitoken.Config{Clock: clk})
	srv := httptest.NewServer(routes(svc))
	t.Cleanup(srv.Close)
	keys := apitokentest.Mint(t, svc, "api::article.article.create")
	_, week, err := svc.Create(t.Context(), apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	clk.Add(8 * 24 * time.Hour)

	for _, tt := range []struct {
		method, path, authorization string
		status                      int
		want                        string // the token's name, or the error's message
	}{
		{"GET", "/api/articles", "Bearer " + keys.ReadOnly, 200, "read-only"},
		{"GET", "/api/articles/abc", "Bearer " + keys.ReadOnly, 200, "read-only"},
		{"POST", "/api/articles", "Bearer " + keys.ReadOnly, 403, "Forbidden"},
		{"POST", "/api/articles", "Bearer " + keys.Custom, 201, ""},
		{"GET", "/api/articles", "Bearer " + keys.Custom, 403, "Forbidden"},
		{"POST", "/api/articles", "Bearer " + keys.FullAccess, 201, ""},
		{"GET", "/api/articles/abc", "bearer " + keys.FullAccess, 200, "full-access"},
		{"GET", "/api/articles", "Bearer " + week, 401, "Token expired"},
		{"GET", "/api/articles", "", 401, "Missing or invalid credentials"},
		{"GET", "/api/articles", "Basic " + keys.FullAccess, 401, "Missing or invalid credentials"},
		{"GET", "/api/articles", "Bearer " + strings.Repeat("0", 256), 401, "Missing or invalid credentials"},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"data":{"title":"t"}}`))
		require.NoError(t, err)
		if tt.authorization != "" {
			req.Header.Set("Authorization", tt.authorization)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		name := tt.method + " " + tt.path + " " + tt.authorization
		if !assert.Equal(t, tt.status, res.StatusCode, "%s: %s", name, raw) {
			continue
		}
		var body struct {
			Data struct {
				ID  string `json:"id"`
				For string `json:"for"`
			} `json:"data"`
			Error *struct {
				Status  int    `json:"status"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if tt.status == 201 {
			continue
		}
		require.NoError(t, json.Unmarshal(raw, &body), "%s: %s", name, raw)
		if tt.status == 200 {
			assert.Equal(t, tt.want, body.Data.For, name)
			if strings.HasSuffix(tt.path, "/abc") {
				assert.Equal(t, "abc", body.Data.ID, "%s: the framework's path parameter", name)
			}
			continue
		}
		require.NotNil(t, body.Error, "%s: %s", name, raw)
		assert.Equal(t, tt.status, body.Error.Status, name)
		assert.Equal(t, tt.want, body.Error.Message, name)
		assert.True(t, strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Bearer realm="api"`), "%s: the challenge", name)
	}

	// Two Authorization headers: 400, as on net/http.
	req, err := http.NewRequest("GET", srv.URL+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Add("Authorization", "Bearer "+keys.FullAccess)
	req.Header.Add("Authorization", "Bearer "+keys.FullAccess)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
}
