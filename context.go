package apitoken

import "context"

type contextKey struct{ name string }

var tokenKey = &contextKey{"token"}

// NewContext returns a copy of ctx that carries t.
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey, t)
}

// FromContext returns the token that authenticated the request, if any. The
// token is shared and must not be modified.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey).(*Token)
	return t, ok
}

// Can reports whether the token in ctx may perform every one of actions, with
// the error the middleware would answer: ErrNoCredentials when ctx carries no
// token, ErrForbidden when the token may not. Use it where the HTTP route is
// not the unit of authorization, such as GraphQL resolvers.
func Can(ctx context.Context, actions ...string) error {
	t, ok := FromContext(ctx)
	if !ok {
		return ErrNoCredentials
	}
	if !t.Allows(actions...) {
		return ErrForbidden
	}
	return nil
}
