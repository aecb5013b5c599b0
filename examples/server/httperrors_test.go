package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStrapiErrorBodies checks that what the demo answers outside the token
// middleware has Strapi's error body too: unknown routes, wrong methods,
// cross-origin refusals.
func TestStrapiErrorBodies(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "errors.db"), map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword})
	body := func(status int, name, msg string) string {
		return `{"data":null,"error":{"status":` + strconv.Itoa(status) + `,"name":"` + name + `","message":"` + msg + `","details":{}}}`
	}
	tests := []struct {
		method, path string
		headers      []string
		status       int
		body         string
		allow        string
	}{
		{"GET", "/api/nope", nil, 404, body(404, "NotFoundError", "Not Found"), ""},
		{"GET", "/api/articles/", nil, 404, body(404, "NotFoundError", "Not Found"), ""},
		{"GET", "/nope", nil, 404, body(404, "NotFoundError", "Not Found"), ""},
		{"PATCH", "/api/articles", nil, 405, body(405, "MethodNotAllowedError", "Method Not Allowed"), "GET, HEAD, POST"},
		{"GET", "/graphql", nil, 405, body(405, "MethodNotAllowedError", "Method Not Allowed"), "POST"},
		{"PUT", "/admin/login", nil, 405, body(405, "MethodNotAllowedError", "Method Not Allowed"), "GET, HEAD, POST"},
		{"DELETE", "/admin/logout", nil, 405, body(405, "MethodNotAllowedError", "Method Not Allowed"), "GET, HEAD, POST"},
		{"POST", "/admin/login", []string{"Sec-Fetch-Site: cross-site"}, 403, body(403, "ForbiddenError", "Cross-origin request refused"), ""},
	}
	for _, tt := range tests {
		r := s.do(t, tt.method, tt.path, "", tt.headers...)
		assert.Equal(t, tt.status, r.status, "%s %s", tt.method, tt.path)
		assert.JSONEq(t, tt.body, r.body, "%s %s", tt.method, tt.path)
		assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"), "%s %s", tt.method, tt.path)
		if tt.allow != "" {
			assert.Equal(t, tt.allow, r.header.Get("Allow"), "%s %s", tt.method, tt.path)
		}
	}
	// The mux's redirects stay redirects.
	r := s.do(t, "GET", "/admin", "")
	assert.Equal(t, http.StatusMovedPermanently, r.status)
}

func TestErrorNames(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{
		400: "BadRequestError", 403: "ForbiddenError", 404: "NotFoundError", 405: "MethodNotAllowedError",
		414: "RequestURITooLongError", 421: "MisdirectedRequestError", 429: "TooManyRequestsError",
		500: "InternalServerError", 503: "ServiceUnavailableError", 418: "ImATeapotError", 299: "Error",
	} {
		assert.Equal(t, want, errorName(status), "%d", status)
	}
}

func TestRecoverAnswersJSON(t *testing.T) {
	t.Parallel()
	h := recoverPanics(testLogger(t), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/articles", nil))
	assert.Equal(t, 500, w.Code)
	assert.JSONEq(t, `{"data":null,"error":{"status":500,"name":"InternalServerError","message":"Internal Server Error","details":{}}}`, w.Body.String())

	abort := recoverPanics(testLogger(t), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	require.PanicsWithValue(t, http.ErrAbortHandler, func() {
		abort.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}, "ErrAbortHandler must reach the server, which then aborts the response")
}

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }
