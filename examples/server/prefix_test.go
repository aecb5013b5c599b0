package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStripPrefix(t *testing.T) {
	t.Parallel()
	h := stripPrefix("/admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.URL.Path + " " + r.URL.RawPath))
	}))
	for target, want := range map[string]string{
		"/admin/api-tokens":   "/api-tokens ",
		"/adm%69n/api-tokens": "/api-tokens ",
		"/%61dmin/a%2Fb":      "/a/b /a%2Fb",
		"/admin/a%2Fb":        "/a/b /a%2Fb",
		"/admin":              " ",
		"/other/api-tokens":   "404",
		"/admin%2Fapi-tokens": "404", // one segment: not the prefix
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if want == "404" {
			assert.Equal(t, http.StatusNotFound, w.Code, target)
			assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"), target)
			continue
		}
		assert.Equal(t, want, w.Body.String(), target)
	}
}
