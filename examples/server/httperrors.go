package main

import (
	"log/slog"
	"net/http"
	"strings"
	"unicode"
)

// What the demo answers itself, outside the token middleware and the admin
// handler, carries Strapi's error body too: Strapi (through Koa's
// http-errors) names each error after its status text, "Not Found" as
// NotFoundError. What net/http's server refuses before any handler runs
// (a malformed request line, headers over MaxHeaderBytes) stays plain
// text: no handler sees it.

// errorName returns http-errors' name for status: the words of its text
// capitalized and joined, without other characters than letters and
// digits, ending in Error ("I'm a teapot" is ImATeapotError). Go's status
// texts are Node's but for a few, such as 413's.
func errorName(status int) string {
	var b strings.Builder
	for _, word := range strings.Fields(http.StatusText(status)) {
		for i, r := range word {
			switch {
			case i == 0:
				b.WriteRune(unicode.ToUpper(r))
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
	}
	if !strings.HasSuffix(b.String(), "Error") {
		b.WriteString("Error")
	}
	return b.String()
}

// writeStatus writes Strapi's error body for status, with its status text
// as the message.
func writeStatus(w http.ResponseWriter, status int) {
	writeError(w, status, errorName(status), http.StatusText(status))
}

// muxErrors serves mux, and answers with Strapi's error body what mux
// answers itself: 404 for a path that no route has, 405 (with Allow) for a
// method that none of its routes takes.
func muxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" { // a route, or the mux's redirect to a clean path
			mux.ServeHTTP(w, r) // which sets the path values
			return
		}
		writeStatus(w, statusOf(h, w, r)) // with the Allow header of a 405
	})
}

// statusOf returns the status that h answers r with, keeping the headers
// it sets on w and dropping its body. It serves the mux's own error
// handlers.
func statusOf(h http.Handler, w http.ResponseWriter, r *http.Request) int {
	rec := statusRecorder{header: w.Header()}
	h.ServeHTTP(&rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status
}

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// recoverPanics answers 500 with Strapi's error body when next panics,
// instead of net/http's dropped connection, and logs the panic.
// http.ErrAbortHandler goes on to the server, which aborts the response as
// the handler asked.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeStatus(w, http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// crossOriginRefused answers a request that http.CrossOriginProtection
// refuses, as the admin handler does.
var crossOriginRefused = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusForbidden, "ForbiddenError", "Cross-origin request refused")
})
