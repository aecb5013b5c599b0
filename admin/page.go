package admin

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed page.html
var pageHTML string

// pageTemplate is the screen's only HTML. It holds no data: the script asks
// the API for it, so the page itself carries nothing worth caching or
// leaking.
var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// page serves the Settings > API Tokens screen.
func (h *handler) page(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, struct{ Base, SignIn, SignOut string }{relativeBase(r.URL.Path), h.signIn, h.signOut}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}

// relativeBase returns the relative URL of the handler's root from path, so
// that the page's links and API calls work under any mount prefix: "./" for
// "/", "../" for "/settings/api-tokens".
func relativeBase(path string) string {
	if n := strings.Count(path, "/") - 1; n > 0 {
		return strings.Repeat("../", n)
	}
	return "./"
}

// assets serves the embedded script and style sheet. They hold no data, so
// they need no permission; no-cache makes browsers revalidate them after an
// upgrade.
func assets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
