package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-apitoken/apitoken/apitokentest"
)

func TestLoginLimiter(t *testing.T) {
	t.Parallel()
	clk := apitokentest.NewClock()
	l := newLoginLimiter(clk.Now)
	const email = "admin@example.com"
	for i := range loginAttempts {
		release, wait := l.reserve("192.0.2.1", email)
		require.Zero(t, wait, "attempt %d", i+1)
		release(false)
	}
	release, wait := l.reserve("192.0.2.1", email)
	assert.Equal(t, loginWindow/loginAttempts, wait, "the sixth attempt waits for one to come back")
	_, wait = l.reserve("192.0.2.1", "other@example.com")
	assert.NotZero(t, wait, "the address is throttled, whatever the email")
	release, wait = l.reserve("198.51.100.9", email)
	assert.Zero(t, wait, "the email's own limit is loose: another address may try it")
	release(false)
	_, wait = l.reserve("198.51.100.9", "other@example.com")
	assert.Zero(t, wait, "another address and email")

	clk.Add(loginWindow / loginAttempts)
	release, wait = l.reserve("192.0.2.1", email)
	assert.Zero(t, wait, "one attempt came back")
	release(false)
	_, wait = l.reserve("192.0.2.1", email)
	assert.NotZero(t, wait)

	// The email's backstop: emailAttempts from any addresses, whatever
	// each address's own limit. A login gives its attempt back, and its
	// address is spared the email's limit: whoever guesses the
	// administrator's email from many addresses cannot lock them out of
	// an address they have logged in from.
	l2 := newLoginLimiter(clk.Now)
	release, _ = l2.reserve("192.0.2.1", email)
	release(true)
	for i := range emailAttempts {
		release, wait = l2.reserve(fmt.Sprint("203.0.113.", i), email)
		require.Zero(t, wait)
		release(false)
	}
	_, wait = l2.reserve("198.51.100.1", email)
	assert.Equal(t, loginWindow/emailAttempts, wait, "the email is throttled")
	release, wait = l2.reserve("192.0.2.1", email)
	assert.Zero(t, wait, "but not where the administrator logged in")
	release(true)
	for range 2 * loginAttempts {
		release, wait = l2.reserve("192.0.2.1", email)
		require.Zero(t, wait, "logins give their attempts back")
		clk.Add(time.Second) // bcrypt's time
		release(true)
	}
}

func TestLoginLimiterIsBounded(t *testing.T) {
	t.Parallel()
	clk := apitokentest.NewClock()
	l := newLoginLimiter(clk.Now)
	refused := 0
	for i := range 3 * maxThrottled {
		release, wait := l.reserve(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprint("user", i))
		if wait > 0 {
			refused++
			continue
		}
		release(i%2 == 0)
	}
	assert.LessOrEqual(t, len(l.addrs.m), maxThrottled)
	assert.LessOrEqual(t, len(l.emails.m), maxThrottled)
	assert.LessOrEqual(t, len(l.trusted), maxThrottled)
	// Half the attempts failed: those entries are busy and are kept, so
	// once maxThrottled of them fill a table, newcomers wait.
	assert.Equal(t, 3*maxThrottled-2*maxThrottled, refused, "refused when full of busy entries")
	_, wait := l.reserve("192.0.2.200", "admin@example.com")
	assert.Equal(t, loginWindow/loginAttempts, wait, "until the first busy address has an attempt back")
	clk.Add(wait)
	release, wait := l.reserve("192.0.2.200", "admin@example.com")
	require.Zero(t, wait, "then full entries are forgotten")
	release(false)
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"192.0.2.1:5555":                  "192.0.2.1",
		"[::ffff:192.0.2.1]:5555":         "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:5555":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"@":                               "@",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		assert.Equal(t, want, clientAddr(r), remote)
	}
}

// testAuth is the admin login handlers and a protected route, with the
// bcrypt slots in the test's hands.
func testAuth(t *testing.T) (*adminAuth, http.Handler, *apitokentest.Clock) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	require.NoError(t, err)
	a := newAdminAuth(credentials{adminEmail, hash}, testLogger(t))
	clk := apitokentest.NewClock()
	a.now = clk.Now
	a.limiter = newLoginLimiter(clk.Now)
	mux := http.NewServeMux()
	mux.Handle("/admin/", a.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })))
	login := a.loginHandler()
	mux.Handle("/admin/login", login)
	return a, mux, clk
}

func serve(h http.Handler, r *http.Request, remote string) *httptest.ResponseRecorder {
	r.RemoteAddr = remote + ":40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func loginForm(email, password string) *http.Request {
	r := httptest.NewRequest("POST", "/admin/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func basicRequest(email, password string) *http.Request {
	r := httptest.NewRequest("GET", "/admin/api-tokens", nil)
	r.SetBasicAuth(email, password)
	return r
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	a, h, clk := testAuth(t)
	for i := range loginAttempts {
		w := serve(h, loginForm(adminEmail, fmt.Sprint("wrong ", i)), "192.0.2.1")
		require.Equal(t, http.StatusUnauthorized, w.Code, "attempt %d", i+1)
	}
	// Throttled requests are refused before any bcrypt work: with every
	// bcrypt slot taken, they would wait.
	for range maxBcrypts {
		a.slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w := serve(h, loginForm(adminEmail, adminPassword).WithContext(ctx), "192.0.2.1")
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "even the right password is not checked")
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	assert.Equal(t, strconv.Itoa(loginAttempts), w.Header().Get("X-RateLimit-Limit"))
	assert.Contains(t, w.Body.String(), "Too many attempts")
	assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))

	w = serve(h, basicRequest("someone@else.example", "x").WithContext(ctx), "192.0.2.1")
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "Basic auth from the same address")
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"data":null,"error":{"status":429,"name":"RateLimitError","message":"Too many failed authentication attempts","details":{}}}`, w.Body.String())

	for range maxBcrypts {
		<-a.slots
	}
	// Another address's guesses do not hold up the administrator's email:
	// the email's own limit is a loose backstop (emailAttempts), so that
	// one wrong password a minute from anywhere cannot keep them out.
	w = serve(h, basicRequest(strings.ToUpper(adminEmail), adminPassword), "198.51.100.7")
	assert.Equal(t, http.StatusOK, w.Code, "the administrator's email, from an address that never logged in")

	clk.Add(loginWindow)
	w = serve(h, loginForm(adminEmail, adminPassword), "192.0.2.1")
	assert.Equal(t, http.StatusSeeOther, w.Code, "the attempts came back")
}

func TestBasicAuthThrottled(t *testing.T) {
	t.Parallel()
	_, h, _ := testAuth(t)
	w := serve(h, basicRequest(adminEmail, adminPassword), "192.0.2.1")
	require.Equal(t, http.StatusOK, w.Code)
	for i := range loginAttempts {
		w := serve(h, basicRequest("guess@example.com", fmt.Sprint("wrong ", i)), "203.0.113.9")
		require.Equal(t, http.StatusUnauthorized, w.Code, "attempt %d", i+1)
	}
	w = serve(h, basicRequest("guess@example.com", "wrong"), "203.0.113.9")
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	w = serve(h, basicRequest(adminEmail, adminPassword), "192.0.2.1")
	assert.Equal(t, http.StatusOK, w.Code, "the administrator is not held up by another address")
	// The remembered credentials spare bcrypt, not the throttle: a
	// throttled client must not go on testing guesses against them.
	for _, r := range []*http.Request{basicRequest(adminEmail, adminPassword), loginForm(adminEmail, adminPassword)} {
		w = serve(h, r, "203.0.113.9")
		assert.Equal(t, http.StatusTooManyRequests, w.Code, "%s %s: the right password from a throttled address", r.Method, r.URL)
	}
}

func TestShortPasswordRefused(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/x.admin"
	env := map[string]string{"ADMIN_EMAIL": "me@example.org", "ADMIN_PASSWORD": "elevenchars"}
	getenv := func(k string) string { return env[k] }
	_, err := loadCredentials(path, getenv, bcrypt.MinCost, false, &strings.Builder{}, testLogger(t))
	assert.ErrorContains(t, err, "at least 12")
	assert.ErrorContains(t, err, "-allow-short-password")
	_, err = loadCredentials(path, getenv, bcrypt.MinCost, true, &strings.Builder{}, testLogger(t))
	assert.NoError(t, err, "allowed by the flag")
	env["ADMIN_PASSWORD"] = "twelve chars"
	_, err = loadCredentials(path, getenv, bcrypt.MinCost, false, &strings.Builder{}, testLogger(t))
	assert.NoError(t, err)
	env["ADMIN_PASSWORD"] = "ééééééééééé" // 11 characters, 22 bytes
	_, err = loadCredentials(path, getenv, bcrypt.MinCost, false, &strings.Builder{}, testLogger(t))
	assert.ErrorContains(t, err, "at least 12", "characters are counted, not bytes")
}
