package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/saltfile"
)

// The demo has one administrator, who holds every api-token permission.
// Browsers log in with a form and get a session cookie; scripts send the
// same email and password with HTTP Basic auth. API tokens are refused on
// the admin routes, as in Strapi.

const (
	sessionCookie   = "apitoken_admin"
	sessionLifetime = 12 * time.Hour
	maxSessions     = 1000
	maxBcrypts      = 2 // concurrent password checks, each ~50 ms of CPU
	// minPasswordLen is the shortest ADMIN_PASSWORD accepted without
	// -allow-short-password, in characters.
	minPasswordLen = 12
)

// credentials are the administrator's email and bcrypt password hash.
type credentials struct {
	email string
	hash  []byte
}

// loadCredentials returns the administrator's credentials: ADMIN_EMAIL and
// ADMIN_PASSWORD when set; else those kept at path; else new ones, with a
// random password that it prints on out, once, and keeps at path only as a
// bcrypt hash, so that they are not made again at the next start.
//
// cost is the bcrypt cost of new hashes; 0 means bcrypt.DefaultCost. An
// ADMIN_PASSWORD shorter than minPasswordLen characters is refused unless
// allowShort.
func loadCredentials(path string, getenv func(string) string, cost int, allowShort bool, out io.Writer, log *slog.Logger) (credentials, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	email, password := getenv("ADMIN_EMAIL"), getenv("ADMIN_PASSWORD")
	switch {
	case email != "" && password != "":
		if n := utf8.RuneCountInString(password); n < minPasswordLen {
			if !allowShort {
				return credentials{}, fmt.Errorf("ADMIN_PASSWORD has %d characters: use at least %d, or start the server with -allow-short-password", n, minPasswordLen)
			}
			log.Warn("ADMIN_PASSWORD is shorter than 12 characters, as -allow-short-password allows")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
		if err != nil {
			return credentials{}, fmt.Errorf("ADMIN_PASSWORD: %w", err) // longer than 72 bytes
		}
		return credentials{email: email, hash: hash}, nil
	case email != "" || password != "":
		return credentials{}, errors.New("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither to use the saved or generated login")
	}
	var generated string
	data, created, err := saltfile.ReadOrCreate(path, 4096, func() ([]byte, error) {
		b := make([]byte, 18)
		rand.Read(b)
		generated = base64.RawURLEncoding.EncodeToString(b)
		hash, err := bcrypt.GenerateFromPassword([]byte(generated), cost)
		if err != nil {
			return nil, err
		}
		return []byte("admin@example.com\n" + string(hash) + "\n"), nil
	})
	if err != nil {
		return credentials{}, fmt.Errorf("admin login: %w", err)
	}
	email, hash, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if !ok || email == "" || !strings.HasPrefix(hash, "$2") {
		return credentials{}, fmt.Errorf("admin login: %s is damaged: delete it to make a new login, or set ADMIN_EMAIL and ADMIN_PASSWORD", path)
	}
	if created {
		fmt.Fprintf(out, "\nCreated the admin login (shown only this once; %s keeps just a bcrypt hash):\n"+
			"  email:    %s\n  password: %s\n"+
			"Set ADMIN_EMAIL and ADMIN_PASSWORD to choose your own.\n\n", path, email, generated)
	}
	return credentials{email: email, hash: []byte(hash)}, nil
}

// adminAuth authenticates the administrator. It is safe for concurrent use.
type adminAuth struct {
	creds   credentials
	log     *slog.Logger
	now     func() time.Time
	slots   chan struct{} // bounds concurrent bcrypt checks
	limiter *loginLimiter // throttles password checks

	mu       sync.Mutex
	sessions map[[32]byte]time.Time // SHA-256 of the cookie value → expiry
	verified [32]byte               // SHA-256 of the last Basic credentials that passed bcrypt
	hasValid bool
}

func newAdminAuth(creds credentials, log *slog.Logger) *adminAuth {
	a := &adminAuth{creds: creds, log: log, now: time.Now, slots: make(chan struct{}, maxBcrypts), sessions: make(map[[32]byte]time.Time)}
	a.limiter = newLoginLimiter(func() time.Time { return a.now() })
	return a
}

type adminKey struct{}

// isAdmin reports whether the request was let in by adminAuth.protect.
func isAdmin(ctx context.Context) bool { return ctx.Value(adminKey{}) != nil }

// check reports whether email and password are the administrator's, for a
// client at addr (see clientAddr). A successful Basic check is remembered
// (as a hash) so that scripts do not pay for bcrypt on every call. When
// addr or email has used up its attempts (see loginLimiter), nothing is
// checked: check returns false and how long to wait.
func (a *adminAuth) check(ctx context.Context, addr, email, password string, remember bool) (ok bool, wait time.Duration) {
	// A throttled client is refused before the remembered credentials
	// are compared too: they spare bcrypt, not the throttle, which must
	// keep guesses from being tested at all.
	if wait := a.limiter.wait(addr, email); wait > 0 {
		return false, wait
	}
	digest := sha256.Sum256([]byte(email + "\x00" + password))
	a.mu.Lock()
	known := a.hasValid && subtle.ConstantTimeCompare(digest[:], a.verified[:]) == 1
	a.mu.Unlock()
	if known {
		return true, 0
	}
	release, wait := a.limiter.reserve(addr, email)
	if wait > 0 {
		return false, wait
	}
	defer func() { release(ok) }()
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-ctx.Done():
		return false, 0
	}
	emailOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(email)), []byte(strings.ToLower(a.creds.email))) == 1
	passOK := bcrypt.CompareHashAndPassword(a.creds.hash, []byte(password)) == nil
	if emailOK && passOK && remember {
		a.mu.Lock()
		a.verified, a.hasValid = digest, true
		a.mu.Unlock()
	}
	return emailOK && passOK, 0
}

// newSession returns a new session's cookie value.
func (a *adminAuth) newSession() string {
	b := make([]byte, 32)
	rand.Read(b)
	value := base64.RawURLEncoding.EncodeToString(b)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, exp := range a.sessions {
		if now.After(exp) || len(a.sessions) >= maxSessions {
			delete(a.sessions, k)
		}
	}
	a.sessions[sha256.Sum256([]byte(value))] = now.Add(sessionLifetime)
	return value
}

func (a *adminAuth) session(r *http.Request) (key [32]byte, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 100 {
		return key, false
	}
	key = sha256.Sum256([]byte(c.Value))
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[key]
	if ok && a.now().After(exp) {
		delete(a.sessions, key)
		ok = false
	}
	return key, ok
}

// protect lets the administrator through to next, with a session cookie or
// Basic auth, and requests with a bearer key, which the admin handler
// accepts only as an admin token (a content-API token gets 401 there).
// Others get 401 JSON, with a Basic challenge unless they are a browser
// (see fromBrowser), except browsers asking for a page, which are sent to
// the login form.
func (a *adminAuth) protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if presentsBearer(r) {
			next.ServeHTTP(w, r)
			return
		}
		ok := false
		withAuth := r.Header.Get("Authorization") != ""
		if withAuth {
			email, password, basic := r.BasicAuth()
			var wait time.Duration
			if basic {
				ok, wait = a.check(r.Context(), clientAddr(r), email, password, true)
			}
			if wait > 0 {
				w.Header().Set("Retry-After", retryAfter(wait))
				e := apitoken.DescribeError(apitoken.ErrTooManyFailures)
				writeError(w, e.Status, e.Name, e.Message)
				return
			}
			if !ok {
				a.log.Warn("admin: refused credentials", "remote", r.RemoteAddr, "basic", basic)
			}
		} else {
			_, ok = a.session(r)
		}
		if ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, true)))
			return
		}
		if !withAuth && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
			return
		}
		if !fromBrowser(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="apitoken admin", charset="UTF-8"`)
		}
		writeError(w, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
}

// fromBrowser reports whether r carries the fetch metadata (Sec-Fetch-*)
// that browsers add to every request and page scripts cannot set. Such
// requests get no Basic challenge: the screen's fetch() after its session
// ended would make the browser ask for a password in a dialog of its own
// (or, headless, wait for one), where the screen should say to sign in
// again. Browsers too old to send fetch metadata still get the challenge.
func fromBrowser(r *http.Request) bool {
	h := r.Header
	return h.Get("Sec-Fetch-Mode") != "" || h.Get("Sec-Fetch-Site") != "" || h.Get("Sec-Fetch-Dest") != ""
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · API tokens</title>
<style>body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f6f6f9;margin:0}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;display:grid;gap:.75rem;width:20rem}
input,button{font:inherit;padding:.5rem}button{background:#4945ff;color:#fff;border:0;border-radius:4px}
.error{color:#d02b20}</style></head>
<body><form method="post" action="/admin/login">
<h1>API tokens</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<label>Email <input name="email" type="email" autocomplete="username" required value="{{.Email}}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form></body></html>`))

// loginHandler serves GET and POST /admin/login and /admin/logout.
func (a *adminAuth) loginHandler() http.Handler {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, status int, email, msg string) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		w.WriteHeader(status)
		loginPage.Execute(w, struct{ Email, Error string }{email, msg})
	}
	mux.HandleFunc("GET /admin/login", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.session(r); ok {
			http.Redirect(w, r, "/admin/", http.StatusSeeOther)
			return
		}
		page(w, http.StatusOK, "", "")
	})
	mux.HandleFunc("POST /admin/login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		email, password := r.PostFormValue("email"), r.PostFormValue("password")
		ok, wait := false, time.Duration(0)
		if len(email) <= 320 && len(password) <= 72 {
			ok, wait = a.check(r.Context(), clientAddr(r), email, password, false)
		}
		if wait > 0 {
			w.Header().Set("Retry-After", retryAfter(wait))
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(loginAttempts))
			page(w, http.StatusTooManyRequests, truncate(email, 320), fmt.Sprintf("Too many attempts. Try again in %s.", waitText(wait)))
			return
		}
		if !ok {
			a.log.Warn("admin: failed login", "remote", r.RemoteAddr)
			page(w, http.StatusUnauthorized, truncate(email, 320), "Invalid email or password.")
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: sessionCookie, Value: a.newSession(), Path: "/admin",
			MaxAge: int(sessionLifetime / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
		})
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
	})
	logout := func(w http.ResponseWriter, r *http.Request) {
		if key, ok := a.session(r); ok {
			a.mu.Lock()
			delete(a.sessions, key)
			a.mu.Unlock()
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	}
	mux.HandleFunc("POST /admin/logout", logout)
	mux.HandleFunc("GET /admin/logout", logout) // a link suffices: SameSite=Strict keeps other sites from using it
	return muxErrors(mux)
}

// waitText says how long d is, in seconds up to a minute and a half, else
// in minutes, rounded up.
func waitText(d time.Duration) string {
	switch s := int(math.Ceil(d.Seconds())); {
	case s <= 1:
		return "a second"
	case s <= 90:
		return fmt.Sprintf("%d seconds", s)
	}
	return fmt.Sprintf("%d minutes", int(math.Ceil(d.Minutes())))
}
