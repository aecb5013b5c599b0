package apitoken

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ParseBearer returns the key of an Authorization header value, matching
// Strapi: the value, without surrounding white space, must be exactly two
// parts separated by white space, and the first must be "bearer" in any case.
// An empty value is ErrNoCredentials; any other mismatch ErrMalformedHeader.
// It does not allocate.
func ParseBearer(v string) (string, error) {
	key, err := splitBearer(v)
	if err == nil && hasSpace(key) {
		return "", ErrMalformedHeader
	}
	return key, err
}

// splitBearer is ParseBearer without the search for white space inside the
// key. Authenticate uses it: a key with white space in it is no issued key,
// so Verify refuses it with the same answer, and the request path saves a
// scan of the key.
func splitBearer(v string) (string, error) {
	v = trimSpace(v)
	if v == "" {
		return "", ErrNoCredentials
	}
	i := 0
	for i < len(v) && !isSpace(v[i]) {
		i++
	}
	if !strings.EqualFold(v[:i], "bearer") {
		return "", ErrMalformedHeader
	}
	key := trimSpace(v[i:])
	if key == "" {
		return "", ErrMalformedHeader
	}
	return key, nil
}

// hasSpace reports whether s holds white space. One vectorized IndexByte
// per white-space byte beats a byte loop on a 256-character key.
func hasSpace(s string) bool {
	for _, c := range []byte(spaces) {
		if strings.IndexByte(s, c) >= 0 {
			return true
		}
	}
	return false
}

// spaces are the white-space bytes of JavaScript's \s that may occur in a
// header, by which Strapi splits it.
const spaces = " \t\n\v\f\r"

// spaceMask has bit c set for each byte c of spaces.
const spaceMask = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\v' | 1<<'\f' | 1<<'\r'

func isSpace(c byte) bool {
	return c <= ' ' && spaceMask>>c&1 == 1
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// Authenticate returns the token that r's Authorization header carries. Only
// the header is read: never the query string or cookies. More than one
// Authorization header is ErrMultipleHeaders. The token is a copy, the
// caller's to change. It spends a use of the token's rate limit and quota.
func (s *Service) Authenticate(r *http.Request) (*Token, error) {
	return cloned(s.spent(r, s.authenticate))
}

// Check authenticates r and authorizes it for every one of actions. With no
// actions only FullAccess tokens pass. It returns the token, if one was
// found, with ErrForbidden or ErrExpired. The token is a copy, the caller's
// to change. An allowed request spends a use of the token's rate limit and
// quota.
func (s *Service) Check(r *http.Request, actions ...string) (*Token, error) {
	return cloned(s.spent(r, func(r *http.Request) (*Token, error) { return s.check(r, actions...) }))
}

// spent runs check on r and, if it lets r through, spends a use of the
// token's limits.
func (s *Service) spent(r *http.Request, check func(*http.Request) (*Token, error)) (*Token, error) {
	t, err := check(r)
	if err == nil {
		_, err = s.spend(r.Context(), t)
	}
	return t, err
}

// authenticate is Authenticate returning the shared token, which the
// middleware reads without copying.
func (s *Service) authenticate(r *http.Request) (*Token, error) {
	return s.authenticateValues(r.Context(), r.Header["Authorization"], caller{r: r}, KindContentAPI)
}

// authenticateValues returns the token of kind of the Authorization values
// of c's request: exactly one "bearer <key>".
func (s *Service) authenticateValues(ctx context.Context, vals []string, c caller, kind Kind) (*Token, error) {
	switch len(vals) {
	case 0:
		return nil, ErrNoCredentials
	case 1:
	default:
		return nil, ErrMultipleHeaders
	}
	key, err := splitBearer(vals[0])
	if err != nil {
		return nil, err
	}
	return s.verify(ctx, key, c, kind)
}

// check is Check returning the shared token.
func (s *Service) check(r *http.Request, actions ...string) (*Token, error) {
	t, err := s.authenticate(r)
	return allows(t, err, actions)
}

// allows returns t and err, or ErrForbidden when t, found, may not perform
// every one of actions.
func allows(t *Token, err error, actions []string) (*Token, error) {
	if err == nil && !t.Allows(actions...) {
		err = ErrForbidden
	}
	return t, err
}

func cloned(t *Token, err error) (*Token, error) {
	if t != nil {
		t = t.Clone()
	}
	return t, err
}

// ExpirationHeader is the response header that tells the client when the
// token of its request expires (RFC 3339, UTC), as GitHub's
// github-authentication-token-expiration does, so that a script can warn
// before it breaks. The middleware sends it for every token that expires.
const ExpirationHeader = "Api-Token-Expiration"

// Require returns middleware that lets a request through only with a token
// allowed every one of actions, and puts the token in the request context
// (see FromContext). Refused requests never reach the handler, so they cannot
// have read or changed anything. The actions are registered with the
// Service's Actions, for custom tokens and the admin screen.
//
// Require with no actions guards a route that declares none: only FullAccess
// tokens pass.
func (s *Service) Require(actions ...string) func(http.Handler) http.Handler {
	s.actions.Register(actions...)
	return func(next http.Handler) http.Handler {
		return s.guard(next, func(r *http.Request) (*Token, error) { return s.check(r, actions...) })
	}
}

// Authenticated lets through requests with a valid token, whatever its
// type, and puts the token in the request context. Authorize inside the
// handler with Can; this suits GraphQL, where each field is an action.
func (s *Service) Authenticated(next http.Handler) http.Handler {
	return s.guard(next, s.authenticate)
}

// guard serves next the requests that check lets through, with their token
// in the context, and refuses the others: it records failed
// authentications, limits them per client when Config.FailureLimit says so
// (but checks a limited client's request when its key is known; see
// FailureLimit), and answers through the error handler.
func (s *Service) guard(next http.Handler, check func(*http.Request) (*Token, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var client string
		if s.limiter != nil {
			client = s.limiter.client(r)
			if wait := s.limiter.blocked(client); wait > 0 && !s.knownKey(r) {
				w.Header().Set("Retry-After", retryAfter(wait))
				s.errorHandler(w, r, ErrTooManyFailures)
				return
			}
		}
		t, err := check(r)
		if err == nil {
			if t.Policy.IsZero() && t.ExpiresAt == nil {
				next.ServeHTTP(w, withToken(r, t))
				return
			}
			var g grant
			g, err = s.spend(r.Context(), t)
			g.writeHeaders(w.Header(), err)
			if err == nil {
				if t.ExpiresAt != nil {
					w.Header().Set(ExpirationHeader, t.ExpiresAt.UTC().Format(time.RFC3339))
				}
				next.ServeHTTP(w, withToken(r, t))
				return
			}
		}
		if s.failed(r.Context(), t, err, caller{r: r}) && s.limiter != nil && presentedKey(err) {
			s.limiter.fail(client)
		}
		s.errorHandler(w, r, err)
	})
}

// failed reports whether err is a failed authentication (400 or 401), which
// the failure limit counts, and records it as an audit event, unless verify
// has: those of a token t, such as an expired or disabled key.
func (s *Service) failed(ctx context.Context, t *Token, err error, c caller) bool {
	status := StatusCode(err)
	if status != http.StatusUnauthorized && status != http.StatusBadRequest {
		return false
	}
	if t == nil {
		s.event(ctx, EventAuthFailed, nil, err, c)
	}
	return true
}

// presentedKey reports whether a failed authentication's err comes from a
// key that was presented and checked: only those count against the failure
// limit. A request without an Authorization header, or with one that is not
// a single "bearer <key>", guesses nothing and costs no HMAC or lookup; were
// it counted, any web page could lock a client out with an <img> of the
// server's URL.
func presentedKey(err error) bool {
	return !errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrMultipleHeaders)
}

// Collection holds the handlers of a collection type's REST routes. Nil
// handlers are not registered.
type Collection struct {
	Find    http.Handler // GET    /path
	FindOne http.Handler // GET    /path/{id}
	Create  http.Handler // POST   /path
	Update  http.Handler // PUT    /path/{id}
	Delete  http.Handler // DELETE /path/{id}
}

// HandleCollection registers on mux the REST routes of a collection type at
// path, each guarded by its action under uid: for path "/api/articles" and
// uid "api::article.article", GET /api/articles requires
// "api::article.article.find" and DELETE /api/articles/{id}
// "api::article.article.delete". Handlers read the id with
// r.PathValue("id").
func (s *Service) HandleCollection(mux *http.ServeMux, path, uid string, c Collection) {
	path = strings.TrimSuffix(path, "/")
	routes := []struct {
		pattern, action string
		h               http.Handler
	}{
		{"GET " + path, "find", c.Find},
		{"GET " + path + "/{id}", "findOne", c.FindOne},
		{"POST " + path, "create", c.Create},
		{"PUT " + path + "/{id}", "update", c.Update},
		{"DELETE " + path + "/{id}", "delete", c.Delete},
	}
	for _, rt := range routes {
		if rt.h != nil {
			mux.Handle(rt.pattern, s.Require(uid+"."+rt.action)(rt.h))
		}
	}
}

// withToken returns a copy of r whose context carries t. The copy and its
// context are one allocation: WithContext is inlined, so its own copy stays
// on the stack.
func withToken(r *http.Request, t *Token) *http.Request {
	a := &struct {
		req http.Request
		ctx tokenContext
	}{ctx: tokenContext{r.Context(), t}}
	a.req = *r.WithContext(&a.ctx)
	return &a.req
}
