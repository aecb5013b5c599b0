package admin

import (
	"context"
	"net/http"

	"github.com/go-apitoken/apitoken"
)

// kindRoutes are the routes and permissions of one kind of token: content-API
// tokens under /api-tokens, admin tokens under /admin-tokens. The same
// handlers serve both, each answering only tokens of its kind.
type kindRoutes struct {
	kind                                     apitoken.Kind
	path                                     string
	read, create, update, regenerate, delete string
}

var (
	contentTokens = kindRoutes{apitoken.KindContentAPI, "/api-tokens", PermRead, PermCreate, PermUpdate, PermRegenerate, PermDelete}
	adminTokens   = kindRoutes{apitoken.KindAdmin, "/admin-tokens", PermAdminTokensRead, PermAdminTokensCreate,
		PermAdminTokensUpdate, PermAdminTokensRegenerate, PermAdminTokensDelete}
)

var (
	// errByToken: a request made with an admin token tried to manage
	// admin tokens, which only people do.
	errByToken = &apiError{http.StatusForbidden, "ForbiddenError", "Admin tokens are managed by administrators, not with an admin token",
		map[string]any{}}
	// errNotOwner: only its owner may see, replace or change an admin
	// token's key or grants.
	errNotOwner = &apiError{http.StatusForbidden, "ForbiddenError", "Only the owner of an admin token may see its key, regenerate or change it",
		map[string]any{}}
)

// of reports whether t is of kind k.
func (k kindRoutes) of(t *apitoken.Token) bool { return t.Kind.Resolved() == k.kind }

// caller returns the id of the administrator making r and whether r
// presents an admin token of theirs.
func (h *handler) caller(r *http.Request) (id string, byToken bool) {
	if t, ok := apitoken.FromContext(r.Context()); ok {
		return t.Owner, true
	}
	if h.owner == nil {
		return "", false
	}
	return h.owner(r), false
}

// token returns the token id of kind k, or ErrNotFound: a token of the other
// kind is not there for k's routes.
func (h *handler) token(ctx context.Context, k kindRoutes, id string) (*apitoken.Token, error) {
	t, err := h.svc.Get(ctx, id)
	if err == nil && !k.of(t) {
		err = apitoken.ErrNotFound
	}
	return t, err
}

// manage returns the token id of kind k for a change: an admin token is
// changed by a person (not with an admin token), and, when ownerOnly, by its
// owner.
func (h *handler) manage(r *http.Request, k kindRoutes, id string, ownerOnly bool) (*apitoken.Token, error) {
	t, err := h.token(r.Context(), k, id)
	if err != nil || k.kind != apitoken.KindAdmin {
		return t, err
	}
	who, byToken := h.caller(r)
	switch {
	case byToken:
		return nil, errByToken
	case ownerOnly && (who == "" || who != t.Owner):
		return nil, errNotOwner
	}
	return t, nil
}
