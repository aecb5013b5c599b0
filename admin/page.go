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

// pageData is what the page is drawn from: where it is, where to sign in
// and out, and which kind of token it manages.
type pageData struct {
	Base, SignIn, SignOut string
	// Admin: the page manages admin tokens (Settings > Admin Tokens), not
	// content-API tokens.
	Admin bool
	// AdminTokens: admin tokens are served, so the page may link to both
	// settings pages (the script shows the links the administrator may
	// follow).
	AdminTokens bool
}

// page serves the Settings > API Tokens screen.
func (h *handler) page(w http.ResponseWriter, r *http.Request) error {
	return h.screen(w, r, false)
}

// adminPage serves the Settings > Admin Tokens screen: the same page and
// script, for admin tokens.
func (h *handler) adminPage(w http.ResponseWriter, r *http.Request) error {
	return h.screen(w, r, true)
}

func (h *handler) screen(w http.ResponseWriter, r *http.Request, admin bool) error {
	var buf bytes.Buffer
	data := pageData{Base: relativeBase(r.URL.Path), SignIn: h.signIn, SignOut: h.signOut, Admin: admin, AdminTokens: h.owner != nil}
	if err := pageTemplate.Execute(&buf, data); err != nil {
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
