package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
)

// defaultOwnerPermissions is the ceiling of an admin token's permissions
// when --owner-permissions is not given: every permission the admin API
// checks. The CLI has no directory of administrators to ask what an owner
// holds, and its operator, who can write the database anyway, is trusted;
// the server asks the owner's real permissions on every use of the token
// and allows only those within them.
var defaultOwnerPermissions = admin.Permissions

// Bounds of what names an admin token's owner and permissions, as the core
// bounds them (Token.Owner, actions).
const (
	maxOwnerLen      = 255
	maxPermissionLen = 200
	maxPermissions   = 1000
)

// kindFlags are create's flags for the token's kind and an admin token's
// owner. The owner's permissions (--owner-permissions) are the command's,
// since update takes them too.
type kindFlags struct {
	kind, owner string
}

func (f *kindFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "kind", "", "content-api (default), or admin: a token for admin routes, acting for --owner")
	fs.StringVar(&f.owner, "owner", "", "with --kind admin, required: the id of the administrator the token acts for, as the server names them")
}

// declareOwnerPermissions declares --owner-permissions, the ceiling of an
// admin token's permissions, for create and update.
func (c *command) declareOwnerPermissions() {
	c.flags.Var(&c.ownerPerms, "owner-permissions", "with an admin token: the admin permissions its owner holds, "+
		"comma-separated (repeatable); --permission must be within them (default: every permission of the admin API; "+
		"the server allows only those the owner really holds, on every use)")
}

// params checks the flags of create and returns the kind and owner they
// ask for.
func (f *kindFlags) params(c *command) (apitoken.Kind, string, error) {
	kind := apitoken.Kind(f.kind)
	if f.kind == "" {
		kind = apitoken.KindContentAPI
	}
	if !kind.Valid() {
		return "", "", usageErr{errors.New("--kind: want content-api or admin")}
	}
	if kind != apitoken.KindAdmin {
		switch {
		case f.owner != "":
			return "", "", usageErr{errors.New("--owner is for admin tokens (--kind admin)")}
		case c.ownerPerms != nil:
			return "", "", usageErr{errors.New("--owner-permissions is for admin tokens (--kind admin)")}
		}
		return kind, "", nil
	}
	if err := checkOwner(f.owner); err != nil {
		return "", "", err
	}
	return kind, f.owner, nil
}

// checkOwner refuses an owner that could not be an administrator's id, or
// that would show as something it is not: stricter than the core, which
// lets formatting characters through. It also refuses what looks like a
// key given in the wrong place: an owner is shown, listed and logged.
func checkOwner(owner string) error {
	switch {
	case owner == "":
		return usageErr{errors.New("--owner is required for admin tokens: the id of the administrator the token acts for")}
	case len(owner) > maxOwnerLen:
		return usageErr{fmt.Errorf("--owner: at most %d bytes", maxOwnerLen)}
	case !utf8.ValidString(owner):
		return usageErr{errors.New("--owner: not valid UTF-8")}
	case strings.IndexFunc(owner, unsafeRune) >= 0:
		return usageErr{errors.New("--owner: no control or formatting characters")}
	case strings.TrimSpace(owner) != owner:
		return usageErr{errors.New("--owner: no leading or trailing spaces")}
	case wholeKeyLike.MatchString(owner):
		return usageErr{errors.New("--owner looks like an API key (51 or more letters, digits and underscores in a row): " +
			"give the administrator's id")}
	}
	return nil
}

// wholeKeyLike matches what could be a whole key: issued keys are at least
// 51 letters, digits and underscores.
var wholeKeyLike = regexp.MustCompile(`[0-9A-Za-z_]{51,}`)

// checkAdminPermissions refuses, for flag, what is not an admin permission
// in form: "admin::" or "plugin::" and dotted parts of ASCII letters,
// digits, '-' and '_', such as admin::api-tokens.read. A content-API
// action (api::…) is named as one.
func checkAdminPermissions(flag string, perms []string) error {
	if len(perms) > maxPermissions {
		return usageErr{fmt.Errorf("%s: at most %d permissions", flag, maxPermissions)}
	}
	for _, p := range perms {
		if p == "" {
			return usageErr{fmt.Errorf("%s: an empty permission", flag)}
		}
		if err := adminPermission(p); err != nil {
			return usageErr{fmt.Errorf("%s: %q %s", flag, clean(truncate(p, 60)), err)}
		}
	}
	return nil
}

// checkAdmin checks the flags of an admin token's create or update: the
// permissions to grant, and the owner's (--owner-permissions), within which
// the Service grants them.
func (c *command) checkAdmin(perms []string) error {
	if c.ownerPerms != nil {
		if err := checkAdminPermissions("--owner-permissions", c.ownerPerms); err != nil {
			return err
		}
	}
	return checkAdminPermissions("--permission", perms)
}

// adminPermission returns why p is not an admin permission in form, or nil.
func adminPermission(p string) error {
	if len(p) > maxPermissionLen {
		return fmt.Errorf("is longer than %d bytes", maxPermissionLen)
	}
	scope, rest, _ := strings.Cut(p, "::")
	switch scope {
	case "admin", "plugin":
	case "api":
		return errors.New("is a content-API action: an admin token carries admin permissions, such as admin::api-tokens.read")
	default:
		return errors.New("is not an admin permission: want admin::… or plugin::…, such as admin::api-tokens.read")
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || slices.ContainsFunc(parts, badPart) {
		return errors.New("is not an admin permission: want dotted parts of letters, digits, '-' and '_', such as admin::api-tokens.read")
	}
	return nil
}

func badPart(s string) bool {
	return s == "" || strings.IndexFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')
	}) >= 0
}

// ceilingHint adds to a refusal of permissions beyond the owner's where
// this command takes the owner's from, which is not where the server does.
func ceilingHint(err error) error {
	var v *apitoken.ValidationError
	if errors.As(err, &v) {
		for i, fe := range v.Errors {
			if strings.HasPrefix(fe.Message, "Permissions beyond the owner's") {
				v.Errors[i].Message += " (the owner's, as this command knows them: --owner-permissions, " +
					"by default every permission of the admin API)"
			}
		}
	}
	return err
}

// ownerPermissions is the CLI's Config.OwnerPermissions: every owner holds
// the operator's --owner-permissions, or by default every permission of
// the admin API.
func (c *command) ownerPermissions(context.Context, string) ([]string, error) {
	if c.ownerPerms == nil {
		return slices.Clone(defaultOwnerPermissions), nil
	}
	return slices.Clone(c.ownerPerms), nil
}

// keptKind makes sure that the store kept the kind and owner of admin token
// t, which a store without them would return, and let through, as a
// content-API token. Otherwise it deletes t, whose key has not been shown.
func keptKind(ctx context.Context, svc *apitoken.Service, t *apitoken.Token) error {
	got, err := svc.Get(ctx, t.ID)
	if err == nil && got.Kind == apitoken.KindAdmin && got.Owner == t.Owner {
		return nil
	}
	why := errors.New("this database's token store does not keep token kinds, so the admin token would have been " +
		"a content-API token (upgrade this command: sqlstore keeps kinds from its migration 0008)")
	if err != nil {
		why = fmt.Errorf("it could not be read back: %w", err)
	}
	if _, derr := svc.Delete(ctx, t.ID); derr != nil && !errors.Is(derr, apitoken.ErrNotFound) {
		return fmt.Errorf("the admin token %s was made, but %w; nor could it be deleted (%w): delete it, its key was never shown", t.ID, why, derr)
	}
	return fmt.Errorf("%w: the admin token was deleted, its key never shown", why)
}

// permList is a repeatable flag of comma-separated permissions.
type permList []string

func (l *permList) String() string { return strings.Join(*l, ",") }

// Set adds the permissions of s, which are checked later
// (checkAdminPermissions): the flag package would quote s whole in its
// error, however long.
func (l *permList) Set(s string) error {
	for p := range strings.SplitSeq(s, ",") {
		*l = append(*l, strings.TrimSpace(p))
	}
	return nil
}
