package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExpiredSessionChallenge: when the screen's session has ended, its
// fetches get a 401 it can show, not a Basic challenge that makes the
// browser ask for a password itself (or, headless, wait). Scripts still get
// the challenge.
func TestExpiredSessionChallenge(t *testing.T) {
	t.Parallel()
	a, h, clk := testAuth(t)
	cookie := &http.Cookie{Name: sessionCookie, Value: a.newSession()}
	request := func(method string, headers ...string) *http.Request {
		r := httptest.NewRequest(method, "/admin/api-tokens", strings.NewReader(`{"name":"x"}`))
		r.AddCookie(cookie)
		for _, kv := range headers {
			k, v, _ := strings.Cut(kv, ": ")
			r.Header.Set(k, v)
		}
		return r
	}
	// What the screen's fetch() sends: its own Accept, and the fetch
	// metadata every browser adds (page scripts cannot set them).
	screen := []string{"Accept: application/json", "Sec-Fetch-Mode: cors", "Sec-Fetch-Site: same-origin", "Sec-Fetch-Dest: empty"}
	w := serve(h, request("GET", screen...), "192.0.2.1")
	assert.Equal(t, http.StatusOK, w.Code, "a live session")

	clk.Add(sessionLifetime + 1)
	for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
		w := serve(h, request(method, screen...), "192.0.2.1")
		assert.Equal(t, http.StatusUnauthorized, w.Code, "%s after the session ended", method)
		assert.Empty(t, w.Header().Get("WWW-Authenticate"), "%s from the screen: a challenge makes the browser ask itself", method)
		assert.Contains(t, w.Body.String(), `"name":"UnauthorizedError"`)
	}
	for _, headers := range [][]string{{"Sec-Fetch-Mode: no-cors"}, {"Sec-Fetch-Site: same-origin"}, {"Sec-Fetch-Dest: empty"}} {
		w := serve(h, request("GET", headers...), "192.0.2.1")
		assert.Empty(t, w.Header().Get("WWW-Authenticate"), "%v", headers)
	}
	// Scripts (curl, no fetch metadata) are challenged, as before.
	w = serve(h, request("GET", "Accept: application/json"), "192.0.2.1")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Basic realm="apitoken admin", charset="UTF-8"`, w.Header().Get("WWW-Authenticate"))
	// A page load goes to the login form.
	w = serve(h, request("GET", "Accept: text/html", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"), "192.0.2.1")
	assert.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/admin/login", w.Header().Get("Location"))
}
