package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

var commands = map[string]commandSpec{
	"create":        {"Creates a token and prints its key, once; with --kind admin --owner ID, an admin token acting for that administrator.", 0, setupCreate},
	"list":          {"Lists the tokens, sorted by name; --expiring 7d those that expire within 7 days, --idle 90d those unused for 90 days, --kind admin the admin tokens.", 0, setupList},
	"revoke-idle":   {"Deletes the tokens unused for --idle (e.g. 365d), listing them; with --dry-run only lists them.", 0, setupRevokeIdle},
	"show":          {"Shows one token.", 1, setupShow},
	"update":        {"Changes a token's name, description, type, lifespan or permissions (an admin token's within --owner-permissions); never its kind or owner.", 1, setupUpdate},
	"regenerate":    {"Gives a token a new key, which it prints once; the old key stops working (on a running server, within its change feed's poll).", 1, setupRegenerate},
	"delete":        {"Deletes a token; its key stops working (on a running server, within its change feed's poll).", 1, setupDelete},
	"verify":        {"Exits 0 when the key is valid (and allowed --action), 1 when it is not.", 0, setupVerify},
	"salt-status":   {"Counts the tokens per salt id: current, previous (API_TOKEN_PREVIOUS_SALTS), unknown (not configured: their keys cannot verify) and none (made by Strapi); a token also counts on the salt of the old key a regeneration with overlap keeps, until that key stops working.", 0, setupSaltStatus},
	"import-strapi": {"Copies the tokens of a Strapi v4 or v5 database (--from) here; run again, it brings over what changed in Strapi. Needs Strapi's salt.", 0, setupImportStrapi},
}

// maxKeyInput bounds the key read from standard input.
const maxKeyInput = 4096

// tokenFlags are the flags that describe a token, shared by create and update.
type tokenFlags struct {
	name, description, typ, duration string
	permissions                      stringList
}

func (f *tokenFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "the token's name, unique, at most 100 characters")
	fs.StringVar(&f.description, "description", "", "what the token is for")
	fs.StringVar(&f.typ, "type", "", "read-only, full-access or custom (admin tokens: custom, their default)")
	fs.StringVar(&f.duration, "duration", "", "lifespan: 7d, 30d, 90d or unlimited")
	fs.Var(&f.permissions, "permission", "an action a custom token may perform, e.g. api::article.article.find, "+
		"or an admin token's admin permission, e.g. admin::api-tokens.read (repeatable)")
}

// lifespan parses --duration. A value that is not one of the lifespans the
// CLI's Service allows is a usage mistake, named in the CLI's own units.
func (f *tokenFlags) lifespan() (apitoken.Duration, error) {
	d, err := apitoken.ParseDuration(f.duration)
	if err != nil || !slices.Contains(apitoken.DefaultDurations, d) {
		return 0, usageErr{errors.New("--duration: want 7d, 30d, 90d or unlimited")}
	}
	return d, nil
}

// tokenType parses --type; a mistyped one is a usage mistake.
func (f *tokenFlags) tokenType() (apitoken.Type, error) {
	t := apitoken.Type(f.typ)
	if f.typ != "" && !t.Valid() {
		return "", usageErr{errors.New("--type: want read-only, full-access or custom")}
	}
	return t, nil
}

func setupCreate(c *command) func(context.Context) error {
	var f tokenFlags
	var pf policyFlags
	var kf kindFlags
	f.declare(c.flags)
	pf.declare(c.flags)
	kf.declare(c.flags)
	c.declareOwnerPermissions()
	quiet := c.flags.Bool("quiet", false, "print only the key")
	return func(ctx context.Context) error {
		if strings.TrimSpace(f.name) == "" {
			return usageErr{errors.New("--name is required")}
		}
		typ, err := f.tokenType()
		if err != nil {
			return err
		}
		kind, owner, err := kf.params(c)
		if err != nil {
			return err
		}
		if kind == apitoken.KindAdmin {
			if err := c.checkAdmin(f.permissions); err != nil {
				return err
			}
		}
		policy, _, err := pf.params(c.flags)
		if err != nil {
			return err
		}
		p := apitoken.CreateParams{Name: f.name, Description: f.description, Type: typ, Permissions: f.permissions,
			PolicyParams: policy, Kind: kind, Owner: owner}
		if f.duration != "" {
			d, err := f.lifespan()
			if err != nil {
				return err
			}
			p.Lifespan = d
		}
		svc, done, err := c.open(ctx, false)
		if err != nil {
			return err
		}
		defer done()
		t, key, err := svc.Create(ctx, p)
		if err != nil {
			return ceilingHint(err)
		}
		if kind == apitoken.KindAdmin {
			if err := keptKind(ctx, svc, t); err != nil {
				return err
			}
		}
		return c.printKey(t, key, *quiet, "Created")
	}
}

// days is a flag of whole days such as 7d; zero when not given.
type days struct {
	name string
	d    time.Duration
}

func (f *days) String() string { return "" }

func (f *days) Set(s string) error {
	d, err := apitoken.ParseDuration(s)
	if err != nil || d == apitoken.Unlimited {
		return errors.New("want a number of days such as 7d, or a duration such as 12h")
	}
	f.d = time.Duration(d)
	return nil
}

func setupList(c *command) func(context.Context) error {
	var expiring, idle days
	c.flags.Var(&expiring, "expiring", "only the tokens that expire within this time, e.g. 7d")
	c.flags.Var(&idle, "idle", "only the tokens not used for this time (never used: since created), e.g. 90d")
	kind := c.flags.String("kind", "", "only the tokens of this kind: content-api or admin")
	return func(ctx context.Context) error {
		if expiring.d > 0 && idle.d > 0 {
			return usageErr{errors.New("--expiring and --idle cannot be combined")}
		}
		if *kind != "" && !apitoken.Kind(*kind).Valid() {
			return usageErr{errors.New("--kind: want content-api or admin")}
		}
		svc, done, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer done()
		var list []*apitoken.Token
		switch {
		case expiring.d > 0:
			list, err = svc.Expiring(ctx, expiring.d)
		case idle.d > 0:
			list, err = svc.Idle(ctx, idle.d)
		default:
			list, err = svc.List(ctx)
		}
		if err != nil {
			return err
		}
		if *kind != "" {
			list = slices.DeleteFunc(list, func(t *apitoken.Token) bool { return t.Kind.Resolved() != apitoken.Kind(*kind) })
		}
		if c.json {
			if list == nil {
				list = []*apitoken.Token{}
			}
			return writeJSON(c.stdout, list)
		}
		printTable(c.stdout, list)
		return nil
	}
}

func setupShow(c *command) func(context.Context) error {
	return func(ctx context.Context) error {
		return c.onToken(ctx, func(_ *apitoken.Service, t *apitoken.Token) error { return c.printToken(t) })
	}
}

// onToken opens the store and calls fn with the token that the command's
// ID|NAME argument names.
func (c *command) onToken(ctx context.Context, fn func(*apitoken.Service, *apitoken.Token) error) error {
	svc, done, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	t, err := find(ctx, svc, c.args[0])
	if err != nil {
		return err
	}
	return fn(svc, t)
}

func setupUpdate(c *command) func(context.Context) error {
	var f tokenFlags
	var pf policyFlags
	f.declare(c.flags)
	pf.declare(c.flags)
	c.declareOwnerPermissions()
	return func(ctx context.Context) error {
		var p apitoken.UpdateParams
		policy, changed, err := pf.params(c.flags)
		if err != nil {
			return err
		}
		p.PolicyParams = policy
		c.flags.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "name":
				p.Name = &f.name
			case "description":
				p.Description = &f.description
			case "type":
				typ, terr := f.tokenType()
				p.Type, err = &typ, cmp.Or(err, terr)
			case "duration":
				d, derr := f.lifespan()
				p.Lifespan, err = &d, cmp.Or(err, derr)
			case "permission":
				p.Permissions = f.permissions
			default:
				return
			}
			changed = true
		})
		if err != nil {
			return err
		}
		if !changed {
			return usageErr{errors.New("nothing to change: give --name, --description, --type, --duration, --permission, or a restriction (--disable, --enable, --allow-ip, --allow-any-ip, --rate-limit, --quota)")}
		}
		return c.onToken(ctx, func(svc *apitoken.Service, t *apitoken.Token) error {
			switch {
			case t.Kind == apitoken.KindAdmin:
				if err := c.checkAdmin(p.Permissions); err != nil {
					return err
				}
			case c.ownerPerms != nil:
				return usageErr{errors.New("--owner-permissions is for admin tokens; this is a content-API token")}
			}
			if t, err = svc.Update(ctx, t.ID, p); err != nil {
				return ceilingHint(err)
			}
			return c.printToken(t)
		})
	}
}

func setupRegenerate(c *command) func(context.Context) error {
	quiet := c.flags.Bool("quiet", false, "print only the key")
	return func(ctx context.Context) error {
		return c.onToken(ctx, func(svc *apitoken.Service, t *apitoken.Token) error {
			t, key, err := svc.Regenerate(ctx, t.ID)
			if err != nil {
				return err
			}
			return c.printKey(t, key, *quiet, "Regenerated")
		})
	}
}

func setupDelete(c *command) func(context.Context) error {
	return func(ctx context.Context) error {
		return c.onToken(ctx, func(svc *apitoken.Service, t *apitoken.Token) error {
			t, err := svc.Delete(ctx, t.ID)
			if err != nil {
				return err
			}
			if c.json {
				return writeJSON(c.stdout, t)
			}
			fmt.Fprintf(c.stdout, "Deleted token %q (%s).\n", clean(t.Name), t.ID)
			return nil
		})
	}
}

func setupRevokeIdle(c *command) func(context.Context) error {
	var idle days
	c.flags.Var(&idle, "idle", "delete the tokens not used for this time (never used: since created), e.g. 365d (required)")
	dryRun := c.flags.Bool("dry-run", false, "only list the tokens that would be deleted")
	return func(ctx context.Context) error {
		if idle.d <= 0 {
			return usageErr{errors.New("--idle is required, e.g. --idle 365d")}
		}
		svc, done, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer done()
		var list []*apitoken.Token
		if *dryRun {
			list, err = svc.Idle(ctx, idle.d)
		} else {
			list, err = svc.RevokeIdle(ctx, idle.d)
		}
		if c.json {
			if list == nil {
				list = []*apitoken.Token{}
			}
			if werr := writeJSON(c.stdout, list); werr != nil {
				return werr
			}
			return err
		}
		verb := "Deleted"
		if *dryRun {
			verb = "Would delete"
		}
		for _, t := range list {
			fmt.Fprintf(c.stdout, "%s token %q (%s).\n", verb, clean(t.Name), t.ID)
		}
		if err == nil && len(list) == 0 {
			fmt.Fprintln(c.stdout, "No idle tokens.")
		}
		return err
	}
}

func setupVerify(c *command) func(context.Context) error {
	key := c.flags.String("key", "", "the key, or - to read it from standard input (keeps it out of shell history)")
	action := c.flags.String("action", "", "also check that the token may perform this action")
	return func(ctx context.Context) error {
		k, err := c.readKey(*key)
		if err != nil {
			return err
		}
		if *action != "" {
			if _, err := apitoken.ParseAction(*action); err != nil {
				return usageErr{fmt.Errorf("--action: %s", strings.TrimPrefix(err.Error(), "apitoken: "))}
			}
		}
		svc, done, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer done()
		t, err := svc.Verify(ctx, k)
		if errors.Is(err, apitoken.ErrUnavailable) {
			return err
		}
		reason := ""
		switch {
		case errors.Is(err, apitoken.ErrInvalidKey):
			reason, t = "no token has this key", nil
			if a, lerr := svc.Lookup(ctx, k); lerr == nil && a.Kind == apitoken.KindAdmin {
				// Not a content-API key: say so, rather than that
				// the key is unknown, without vouching for it.
				reason = "this is an admin token's key, for admin routes only: verify checks content-API keys"
			}
		case errors.Is(err, apitoken.ErrExpired):
			reason = "the token expired at " + t.ExpiresAt.Local().Format(timeLayout)
		case err != nil:
			return err
		case *action != "" && !t.Allows(*action):
			// The action is the caller's argument, and this reason
			// may go to standard output (--json), which is not
			// filtered: hide anything in it that could be a key.
			reason = keyLike.ReplaceAllString(fmt.Sprintf("a %s token may not perform %s", t.Type, *action), "[hidden]")
		}
		if c.json {
			if err := writeJSON(c.stdout, verdict{Valid: reason == "", Reason: reason, Token: t}); err != nil {
				return err
			}
		} else if reason == "" {
			fmt.Fprintf(c.stdout, "valid: token %q (%s)\n", clean(t.Name), t.Type)
		} else if t != nil {
			fmt.Fprintf(c.stderr, "apitoken verify: refused: token %q: %s\n", clean(t.Name), reason)
		} else {
			fmt.Fprintf(c.stderr, "apitoken verify: refused: %s\n", reason)
		}
		if reason != "" {
			return errRefused
		}
		return nil
	}
}

type verdict struct {
	Valid  bool            `json:"valid"`
	Reason string          `json:"reason,omitempty"`
	Token  *apitoken.Token `json:"token"`
}

// readKey returns the key given to --key, or read from stdin for "-".
func (c *command) readKey(flagValue string) (string, error) {
	switch flagValue {
	case "":
		return "", usageErr{errors.New("--key is required: give --key - and pass the key on standard input")}
	case "-":
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxKeyInput+1))
		if err != nil {
			return "", fmt.Errorf("reading the key from standard input: %w", err)
		}
		if len(b) > maxKeyInput {
			return "", usageErr{fmt.Errorf("the key on standard input is longer than %d bytes", maxKeyInput)}
		}
		k := strings.TrimSpace(string(b))
		if k == "" {
			return "", usageErr{errors.New("no key on standard input")}
		}
		return k, nil
	}
	return flagValue, nil
}

// find returns the token whose id, else whose name, is ref.
func find(ctx context.Context, svc *apitoken.Service, ref string) (*apitoken.Token, error) {
	t, err := svc.Get(ctx, ref)
	if !errors.Is(err, apitoken.ErrNotFound) {
		return t, err
	}
	list, lerr := svc.List(ctx)
	if lerr != nil {
		return nil, lerr
	}
	for _, t := range list {
		if t.Name == ref {
			return t, nil
		}
	}
	return nil, fmt.Errorf("no token has the id or name %q; run 'apitoken list' to see them", clean(truncate(ref, 60)))
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if len(*l) >= 1000 {
		return errors.New("too many values")
	}
	*l = append(*l, s)
	return nil
}
