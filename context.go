package apitoken

import "context"

type contextKey struct{ name string }

var tokenKey = &contextKey{"token"}

// tokenContext is a context that carries a token. It does the work of
// context.WithValue in half the memory, and lets the middleware allocate it
// together with its request copy (see withToken).
type tokenContext struct {
	context.Context
	t *Token
}

func (c *tokenContext) Value(key any) any {
	if key == tokenKey {
		return c.t
	}
	return c.Context.Value(key)
}

// NewContext returns a copy of ctx that carries t.
func NewContext(ctx context.Context, t *Token) context.Context {
	return &tokenContext{ctx, t}
}

// FromContext returns the token that authenticated the request, if any. It
// returns a copy, the caller's to change: the token the Service verified is
// shared with every request that presents the same key, so changing it would
// change what those requests may do.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := tokenFrom(ctx)
	if !ok {
		return nil, false
	}
	return t.Clone(), true
}

// tokenFrom returns the shared token in ctx, for reading only.
func tokenFrom(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey).(*Token)
	return t, ok && t != nil
}

// Can reports whether the token in ctx may perform every one of actions, with
// the error the middleware would answer: ErrNoCredentials when ctx carries no
// token, ErrForbidden when the token may not. Use it where the HTTP route is
// not the unit of authorization, such as GraphQL resolvers. It reads the
// token without copying it.
func Can(ctx context.Context, actions ...string) error {
	t, ok := tokenFrom(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if !t.Allows(actions...) {
		return ErrForbidden
	}
	return nil
}
