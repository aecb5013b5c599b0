// Package admin serves Strapi's admin API for API tokens and the
// Settings > API Tokens screen, as one http.Handler that a host application
// mounts under its admin prefix:
//
//	h, err := admin.New(admin.Config{Service: svc, Authorize: authorize})
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
//
// The host decides who is an administrator and what each may do, through
// Config.Authorize. The handler checks the admin permission of every route,
// protects cookie sessions against cross-site requests, and never returns a
// key except from create, regenerate and, with an encryption key (recoverable
// keys, as in Strapi 5), reveal and the read of one token.
package admin

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// The admin permissions of Strapi's API tokens settings.
const (
	PermAccess     = "admin::api-tokens.access" // the screen
	PermRead       = "admin::api-tokens.read"
	PermCreate     = "admin::api-tokens.create"
	PermUpdate     = "admin::api-tokens.update"
	PermRegenerate = "admin::api-tokens.regenerate"
	PermDelete     = "admin::api-tokens.delete"
)

// The admin permissions of admin tokens' own settings, as Strapi 5's.
const (
	PermAdminTokensAccess     = "admin::admin-tokens.access" // the screen
	PermAdminTokensRead       = "admin::admin-tokens.read"
	PermAdminTokensCreate     = "admin::admin-tokens.create"
	PermAdminTokensUpdate     = "admin::admin-tokens.update"
	PermAdminTokensRegenerate = "admin::admin-tokens.regenerate"
	PermAdminTokensDelete     = "admin::admin-tokens.delete"
)

// Permissions lists every admin permission the handler checks.
var Permissions = []string{PermAccess, PermRead, PermCreate, PermUpdate, PermRegenerate, PermDelete,
	PermAdminTokensAccess, PermAdminTokensRead, PermAdminTokensCreate, PermAdminTokensUpdate, PermAdminTokensRegenerate,
	PermAdminTokensDelete}

// Errors that Config.Authorize returns. They carry their own response, as
// the handler's other errors do; the apitoken package's errors are answered
// from its table (apitoken.DescribeError).
var (
	// ErrUnauthenticated: the request has no administrator (401).
	ErrUnauthenticated error = &apiError{http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials", map[string]any{}}
	// ErrForbidden: the administrator lacks the permission (403).
	ErrForbidden error = &apiError{http.StatusForbidden, "ForbiddenError", "Forbidden", map[string]any{}}
)

// Config configures the admin handler.
type Config struct {
	// Service manages the tokens. Required.
	Service *apitoken.Service

	// Authorize is called on every request with the admin permission its
	// route needs (one of Permissions), or "" for routes any administrator
	// may use. It returns nil, ErrUnauthenticated or ErrForbidden. Required.
	//
	// A request that presents an admin token (see Owner) reaches it only
	// once the token is valid and allowed permission; r's context then
	// holds the token (apitoken.FromContext), and Authorize decides
	// whether the token's Owner may still act at all.
	Authorize func(r *http.Request, permission string) error

	// Owner returns the id of the administrator making r, once Authorize
	// has let r through: the owner of the admin tokens they create. With
	// it, and a Service with Config.OwnerPermissions, the handler serves
	// admin tokens (apitoken.KindAdmin): their routes under
	// /admin-tokens, their screen at /settings/admin-tokens (linked
	// with the API tokens screen), and every route to requests that
	// present one as "Authorization: Bearer <key>". Content-API tokens
	// are never accepted. An admin token's key is shown and regenerated
	// to its owner only, and admin tokens are managed by people only: a
	// request made with an admin token may read them, never create,
	// change, regenerate, reveal or delete one. Without Owner there are
	// no admin tokens here, and a bearer header is left to Authorize.
	Owner func(r *http.Request) string

	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64

	// Timeout bounds each request's work, so that a hung database answers
	// 503 instead of holding the administrator. Default 10 s; negative
	// leaves the request's own context as the only bound.
	Timeout time.Duration

	// SignInURL, when set, is where an administrator whose session has
	// ended signs in again: the screen links to it, in a new tab, so that
	// what was typed survives. SignOutURL, when set, is the screen's log
	// out link. Both must be paths ("/admin/login") or http(s) URLs.
	SignInURL, SignOutURL string

	// Logger receives unexpected errors. Default slog.Default(). Keys never
	// reach it.
	Logger *slog.Logger
}

//go:embed static
var static embed.FS

type handler struct {
	svc       *apitoken.Service
	authorize func(*http.Request, string) error
	owner     func(*http.Request) string // nil: no admin tokens
	signIn    string
	signOut   string
	maxBody   int64
	timeout   time.Duration
	log       *slog.Logger
	mux       *http.ServeMux
}

// New returns the admin handler. Paths are relative to where it is mounted.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil || cfg.Authorize == nil {
		return nil, errors.New("admin: Config.Service and Config.Authorize are required")
	}
	if cfg.Owner != nil && !cfg.Service.AdminTokens() {
		return nil, errors.New("admin: Config.Owner serves admin tokens, which need the Service's Config.OwnerPermissions")
	}
	for _, u := range []string{cfg.SignInURL, cfg.SignOutURL} {
		if u != "" && !linkURL(u) {
			return nil, fmt.Errorf("admin: Config.SignInURL and SignOutURL must be paths or http(s) URLs, not %q", u)
		}
	}
	h := &handler{svc: cfg.Service, authorize: cfg.Authorize, owner: cfg.Owner, maxBody: cfg.MaxBodyBytes, timeout: cfg.Timeout,
		log: cfg.Logger, mux: http.NewServeMux(), signIn: cfg.SignInURL, signOut: cfg.SignOutURL}
	if h.maxBody <= 0 {
		h.maxBody = 64 << 10
	}
	if h.timeout == 0 {
		h.timeout = DefaultTimeout
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}

	type route struct {
		pattern, perm string
		serve         func(http.ResponseWriter, *http.Request) error
	}
	routes := []route{
		{"GET /{$}", PermAccess, h.page},
		{"GET /settings/api-tokens", PermAccess, h.page},
		{"GET /me", "", h.me},
		{"GET /content-api/permissions", "", h.actions},
		{"GET /openapi.json", "", h.serveOpenAPI},
	}
	kinds := []kindRoutes{contentTokens}
	if h.owner != nil {
		kinds = append(kinds, adminTokens)
		routes = append(routes, route{"GET /settings/admin-tokens", PermAdminTokensAccess, h.adminPage})
	}
	for _, k := range kinds {
		routes = append(routes,
			route{"POST " + k.path, k.create, h.create(k)},
			route{"GET " + k.path, k.read, h.list(k)},
			route{"GET " + k.path + "/{id}", k.read, h.get(k)},
			route{"PUT " + k.path + "/{id}", k.update, h.update(k)},
			route{"DELETE " + k.path + "/{id}", k.delete, h.delete(k)},
			route{"POST " + k.path + "/{id}/regenerate", k.regenerate, h.regenerate(k)},
			route{"GET " + k.path + "/{id}/access-key", k.read, h.reveal(k)},
		)
	}
	for _, rt := range routes {
		h.mux.Handle(rt.pattern, h.guard(rt.perm, rt.serve))
	}
	h.mux.Handle("GET /static/", assets(http.StripPrefix("/static/", http.FileServerFS(files))))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errNoRoute)
	})
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errCrossOrigin)
	}))
	return securityHeaders(csrf.Handler(h.mux)), nil
}

// linkURL reports whether u is a path ("/admin/login", not "//host") or an
// http(s) URL, the only links the screen makes of the configuration.
func linkURL(u string) bool {
	p, err := url.Parse(u)
	switch {
	case err != nil || len(u) > 2048 || strings.ContainsAny(u, "\x00\r\n\\"):
		return false
	case p.Scheme == "http" || p.Scheme == "https":
		return p.Host != ""
	}
	return p.Scheme == "" && p.Host == "" && strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")
}

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 10 * time.Second

// guard checks the route's permission, bounds the request's time and body,
// and answers errors. It serves a copy of the request, leaving the
// caller's as it was. A request that presents a bearer key, when admin
// tokens are served, must present an admin token allowed perm
// (apitoken.Service.RequireAdmin) before Authorize sees it.
func (h *handler) guard(perm string, serve func(http.ResponseWriter, *http.Request) error) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.authorize(r, perm); err != nil {
			h.fail(w, r, err)
			return
		}
		if who, byToken := h.caller(r); !byToken && who != "" {
			// The audit events of what the administrator does name
			// them (those of an admin token name its owner).
			r = r.WithContext(apitoken.WithActor(r.Context(), who))
		}
		if err := serve(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
	var withToken http.Handler
	if h.owner != nil {
		withToken = h.svc.RequireAdmin(perm)(inner)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The bound covers the whole request: the admin token's
		// check (its lookup, its owner's permissions) and Authorize too.
		ctx := r.Context()
		if h.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, h.timeout)
			defer cancel()
		}
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
		if withToken != nil && slices.ContainsFunc(r.Header["Authorization"], bearer) {
			withToken.ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// bearer reports whether an Authorization value is of the bearer scheme.
func bearer(v string) bool {
	f := strings.Fields(v)
	return len(f) > 0 && strings.EqualFold(f[0], "bearer")
}

// csp allows the page its own script and style and nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
