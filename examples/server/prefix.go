package main

import (
	"net/http"
	"net/url"
	"strings"
)

// stripPrefix serves h with prefix removed from the request's path, as
// http.StripPrefix does, for a route that ServeMux matched on the decoded
// path. http.StripPrefix also trims the raw (escaped) path, and answers
// its own plain-text 404 when the raw path does not start with prefix as
// written: "/adm%69n/x" routes to "/admin/" but is not stripped. Here the
// raw path's leading segments are compared decoded, so whatever the mux
// routed is stripped; anything else gets Strapi's 404. prefix is a clean
// path with no trailing slash ("/admin").
func stripPrefix(prefix string, h http.Handler) http.Handler {
	segments := strings.Count(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			writeStatus(w, http.StatusNotFound)
			return
		}
		rp := ""
		if r.URL.RawPath != "" {
			raw, rest := r.URL.RawPath, ""
			if i := nthSlash(raw, segments+1); i >= 0 {
				raw, rest = raw[:i], raw[i:]
			}
			if dec, err := url.PathUnescape(raw); err != nil || dec != prefix {
				writeStatus(w, http.StatusNotFound)
				return
			}
			if rest != p { // as url.URL keeps it: only when it differs
				rp = rest
			}
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path, r2.URL.RawPath = p, rp
		h.ServeHTTP(w, r2)
	})
}

// nthSlash returns the index of the nth "/" in s (n from 1), or -1.
func nthSlash(s string, n int) int {
	for i := range len(s) {
		if s[i] == '/' {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}
