package ginauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/ginauth"
)

func init() { gin.SetMode(gin.TestMode) }

const find, create, remove = "api::article.article.find", "api::article.article.create", "api::article.article.delete"

// TestMiddleware: each token type and state against gin routes over real
// HTTP; refused requests get the middleware's answers and reach no later
// handler, allowed ones find their token in the request context.
func TestMiddleware(t *testing.T) {
	clk := apitokentest.NewClock()
	svc := apitokentest.New(t, apitoken.Config{Clock: clk})
	var reached atomic.Int64
	answer := func(c *gin.Context) {
		reached.Add(1)
		tok, ok := apitoken.FromContext(c.Request.Context())
		if !ok {
			c.String(http.StatusInternalServerError, "no token")
			return
		}
		c.String(http.StatusOK, tok.Name)
	}
	r := gin.New()
	r.GET("/api/articles", ginauth.Require(svc, find), answer)
	r.POST("/api/articles", ginauth.Require(svc, create), answer)
	r.GET("/admin/stats", ginauth.Require(svc), answer) // no action: full-access only
	r.DELETE("/api/articles/:id", ginauth.Authenticated(svc), func(c *gin.Context) {
		if err := apitoken.Can(c.Request.Context(), remove); err != nil {
			c.AbortWithStatus(apitoken.StatusCode(err))
			return
		}
		answer(c)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	svc.Actions().Register(remove) // Authenticated routes declare no action
	keys := apitokentest.Mint(t, svc, create, remove)
	_, week, err := svc.Create(t.Context(), apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	clk.Add(8 * 24 * time.Hour)

	for _, tt := range []struct {
		method, path, authorization string
		status                      int
		body                        string // the token's name, or the error's message
	}{
		{"GET", "/api/articles", "Bearer " + keys.ReadOnly, 200, "read-only"},
		{"POST", "/api/articles", "Bearer " + keys.ReadOnly, 403, "Forbidden"},
		{"POST", "/api/articles", "Bearer " + keys.Custom, 200, "custom"},
		{"GET", "/api/articles", "Bearer " + keys.Custom, 403, "Forbidden"},
		{"GET", "/admin/stats", "Bearer " + keys.FullAccess, 200, "full-access"},
		{"GET", "/admin/stats", "Bearer " + keys.ReadOnly, 403, "Forbidden"},
		{"DELETE", "/api/articles/1", "Bearer " + keys.Custom, 200, "custom"},
		{"DELETE", "/api/articles/1", "Bearer " + keys.ReadOnly, 403, ""},
		{"GET", "/api/articles", "Bearer " + week, 401, "Token expired"},
		{"GET", "/api/articles", "", 401, "Missing or invalid credentials"},
		{"GET", "/api/articles", "Basic " + keys.FullAccess, 401, "Missing or invalid credentials"},
		{"GET", "/api/articles", "Bearer " + strings.Repeat("0", 256), 401, "Missing or invalid credentials"},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		require.NoError(t, err)
		if tt.authorization != "" {
			req.Header.Set("Authorization", tt.authorization)
		}
		before := reached.Load()
		status, body, header := do(t, req)
		assert.Equal(t, tt.status, status, "%s %s %q: %s", tt.method, tt.path, tt.authorization, body)
		switch {
		case tt.status == 200:
			assert.Equal(t, tt.body, body)
		case tt.body != "":
			var e struct{ Error struct{ Message string } }
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Equal(t, tt.body, e.Error.Message)
			assert.NotEmpty(t, header.Get("WWW-Authenticate"), "the middleware's challenge")
			assert.Equal(t, before, reached.Load(), "a refused request reaches no handler")
		}
	}
}

// TestTwoHeaders: two Authorization headers are refused as the middleware
// refuses them.
func TestTwoHeaders(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{})
	r := gin.New()
	r.GET("/", ginauth.Require(svc, find), func(c *gin.Context) { t.Error("reached the handler") })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	keys := apitokentest.Mint(t, svc)
	req, err := http.NewRequest("GET", srv.URL, nil)
	require.NoError(t, err)
	req.Header.Add("Authorization", "Bearer "+keys.FullAccess)
	req.Header.Add("Authorization", "Bearer "+keys.FullAccess)
	status, body, _ := do(t, req)
	assert.Equal(t, 400, status, body)
}

func do(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b), res.Header
}
