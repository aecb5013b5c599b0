package apitoken

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxOwnerLen bounds Token.Owner.
const maxOwnerLen = 255

// errNoOwners: Config.OwnerPermissions is not set, so there are no admin
// tokens.
var errNoOwners = errors.New("apitoken: admin tokens need Config.OwnerPermissions")

// RequireAdmin returns middleware for admin routes: it lets a request
// through only with an admin token (KindAdmin) allowed permission ("" for
// any admin token), and puts the token in the request context (see
// FromContext) with only those of its permissions that its owner still
// holds (Config.OwnerPermissions, asked on every request). A content-API
// token is refused as an unknown key (401), as the content API refuses
// admin tokens. Expiry, policies, the failure limit, audit events and
// last use apply as to the content API.
//
// The host's own checks still run after it: an admin token says what its
// owner let it do, not that the owner may still act at all.
func (s *Service) RequireAdmin(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return s.guard(next, func(r *http.Request) (*Token, error) {
			t, err := s.authenticateAdmin(r)
			if err == nil && permission != "" && !t.Allows(permission) {
				err = ErrForbidden
			}
			return t, err
		})
	}
}

// authenticateAdmin returns the admin token of r: a copy whose permissions
// are those still within its owner's.
func (s *Service) authenticateAdmin(r *http.Request) (*Token, error) {
	t, err := s.authenticateValues(r.Context(), r.Header["Authorization"], caller{r: r}, KindAdmin)
	if err != nil {
		return t, err
	}
	ceiling, err := s.ceiling(r.Context(), t.Owner)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, errNoOwners):
		// An owner gone takes their tokens along, and their keys are
		// no longer known to be valid (see FailureLimit).
		if key, err := splitBearer(r.Header.Get("Authorization")); err == nil && s.memo != nil {
			s.memo.forget(sha256.Sum256([]byte(key)))
		}
		return nil, ErrInvalidKey
	case err != nil:
		return nil, err
	}
	c := t.Clone()
	// An admin token allows exactly its permissions within the owner's,
	// whatever type a store says it has.
	c.Type = Custom
	c.Permissions = within(t.Permissions, ceiling)
	return c, nil
}

// ceiling returns the admin permissions owner holds now: ErrNotFound for
// an owner that does not exist, errNoOwners when there are no admin
// tokens, else ErrUnavailable when the host cannot tell.
func (s *Service) ceiling(ctx context.Context, owner string) ([]string, error) {
	if s.ownerPerms == nil {
		return nil, errNoOwners
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	perms, err := s.ownerPerms(ctx, owner)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: the permissions of an admin token's owner: %w", ErrUnavailable, err)
	}
	return append([]string{}, perms...), nil // the host's list stays the host's
}

// grantCeiling returns the ceiling of admin token t's permissions, to check
// a grant against, never nil. An owner that cannot be granted anything gets
// an empty ceiling, and a problem in v unless validateKind will say why;
// only a host that cannot tell is an error.
func (s *Service) grantCeiling(ctx context.Context, t *Token, v *ValidationError) ([]string, error) {
	if !validOwner(t.Owner) {
		return []string{}, nil // validateKind says why
	}
	ceiling, err := s.ceiling(ctx, t.Owner)
	switch {
	case errors.Is(err, errNoOwners):
		v.add("kind", "this server issues no admin tokens (Config.OwnerPermissions is not set)")
	case errors.Is(err, ErrNotFound):
		v.add("owner", "owner is no known administrator")
	case err != nil:
		return nil, err
	default:
		return ceiling, nil
	}
	return []string{}, nil
}

// validateKind checks t's kind and owner, and an admin token's type and
// permissions against ceiling, when it is not nil (nil: the permissions
// are not being granted).
func validateKind(t *Token, ceiling []string, v *ValidationError) {
	switch t.Kind {
	case "", KindContentAPI:
		if t.Owner != "" {
			v.add("owner", "only admin tokens have an owner")
		}
		return
	case KindAdmin:
	default:
		v.add("kind", "kind must be one of the following values: content-api, admin")
		return
	}
	switch {
	case t.Owner == "":
		v.add("owner", "owner is a required field for admin tokens")
	case !validOwner(t.Owner):
		v.add("owner", fmt.Sprintf("owner must be at most %d bytes of UTF-8 without control or invisible formatting characters", maxOwnerLen))
	}
	if t.Type != Custom {
		v.add("type", "admin tokens carry a list of admin permissions: type must be custom")
		return
	}
	switch {
	case t.Permissions == nil:
		v.add("permissions", "Missing permissions attribute for custom token")
	case len(t.Permissions) > maxPermissions:
		v.add("permissions", fmt.Sprintf("a token may have at most %d permissions", maxPermissions))
	case ceiling != nil:
		var beyond []string
		for _, p := range t.Permissions {
			if !slices.Contains(ceiling, p) {
				beyond = append(beyond, truncate(p, 60))
			}
		}
		if len(beyond) > 0 {
			v.add("permissions", "Permissions beyond the owner's: "+strings.Join(beyond, ", "))
			return
		}
		perms := slices.Clone(t.Permissions)
		slices.Sort(perms)
		t.Permissions = slices.Compact(perms)
	}
}

// ClampOwner removes from the admin tokens of owner every permission the
// owner no longer holds (Config.OwnerPermissions), as Strapi does when an
// administrator's roles change, and returns the tokens it changed. Their
// use already refuses those permissions; ClampOwner makes the stored
// tokens, and the lists and screens that show them, say so too. The tokens
// of an owner that no longer exists keep no permission. Call it whenever an
// administrator's permissions shrink.
func (s *Service) ClampOwner(ctx context.Context, owner string) ([]*Token, error) {
	ceiling, err := s.heldCeiling(ctx, owner)
	if err != nil {
		return nil, err
	}
	list, err := s.store.List(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	var changed []*Token
	for _, t := range list {
		if t.Kind != KindAdmin || t.Owner != owner {
			continue
		}
		u, wrote, err := s.clamp(ctx, t, ceiling)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // deleted meanwhile
		case err != nil:
			return changed, unavailable(err)
		case wrote:
			changed = append(changed, u)
		}
	}
	return changed, nil
}

// heldCeiling is ceiling for what an owner's tokens may keep: an owner
// that no longer exists holds nothing.
func (s *Service) heldCeiling(ctx context.Context, owner string) ([]string, error) {
	ceiling, err := s.ceiling(ctx, owner)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	return ceiling, err
}

// clamp writes admin token t's permissions down to ceiling if they exceed
// it, with its EventUpdated, and reports whether it wrote.
func (s *Service) clamp(ctx context.Context, t *Token, ceiling []string) (*Token, bool, error) {
	if len(within(t.Permissions, ceiling)) == len(t.Permissions) {
		return t, false, nil
	}
	u, err := s.store.Update(ctx, t.ID, func(t *Token) error {
		t.Permissions = within(t.Permissions, ceiling)
		t.UpdatedAt = s.stamp()
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	s.event(ctx, EventUpdated, u, nil, caller{})
	return u, true, nil
}

// validOwner reports whether owner may name an admin token's owner.
func validOwner(owner string) bool {
	return owner != "" && len(owner) <= maxOwnerLen && utf8.ValidString(owner) &&
		strings.IndexFunc(owner, func(r rune) bool { return unicode.IsControl(r) || invisible(r) }) < 0
}

// OwnerPermissions returns the admin permissions the administrator owner
// holds now (Config.OwnerPermissions): what their admin tokens may be
// granted. It returns ErrNotFound for no such administrator, and
// ErrUnavailable when the host cannot tell or admin tokens are off.
func (s *Service) OwnerPermissions(ctx context.Context, owner string) ([]string, error) {
	perms, err := s.ceiling(ctx, owner)
	if errors.Is(err, errNoOwners) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return perms, err
}

// AdminTokens reports whether the Service issues and accepts admin tokens:
// whether Config.OwnerPermissions is set.
func (s *Service) AdminTokens() bool { return s.ownerPerms != nil }

// reclamp clamps admin token t, just granted permissions checked against
// its owner's as they were before the write, to its owner's as they are
// now: an owner's loss and the ClampOwner that follows it may have come
// between, and the grant must not undo them. If the owner or the store
// cannot be asked, t is left as written: every use clamps it anyway.
func (s *Service) reclamp(ctx context.Context, t *Token) *Token {
	ceiling, err := s.heldCeiling(ctx, t.Owner)
	if err != nil {
		return t
	}
	if u, _, err := s.clamp(ctx, t, ceiling); err == nil {
		return u
	}
	return t
}

// within returns the permissions of perms that are in ceiling, never nil.
func within(perms, ceiling []string) []string {
	kept := make([]string, 0, len(perms))
	for _, p := range perms {
		if slices.Contains(ceiling, p) {
			kept = append(kept, p)
		}
	}
	return kept
}
