package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/strapistore"
)

// strapiCommands are the commands that -strapi allows: those that only read.
var strapiCommands = map[string]bool{"list": true, "show": true, "verify": true, "salt-status": true}

func parseVersion(s string) (strapistore.Version, error) {
	v, ok := map[string]strapistore.Version{"v4": strapistore.V4, "v5": strapistore.V5}[s]
	if !ok {
		return 0, errors.New("want v4 or v5")
	}
	return v, nil
}

// checkStrapiMode refuses -strapi with a command that writes, or without
// Strapi's salt.
func (c *command) checkStrapiMode() error {
	if c.strapi == "" {
		return nil
	}
	if _, err := parseVersion(c.strapi); err != nil {
		return usageErr{fmt.Errorf("-strapi: %w", err)}
	}
	if !strapiCommands[c.name] {
		return usageErr{errors.New("-strapi opens Strapi's database read-only, for list, show, verify and salt-status; " +
			"to copy its tokens, give it to import-strapi --from")}
	}
	return c.explicitSalt()
}

// explicitSalt returns a usage error unless the salt is given, by
// API_TOKEN_SALT or an existing -salt-file: Strapi's keys verify only with
// Strapi's salt, which a generated one is not.
func (c *command) explicitSalt() error {
	if getenv(saltfile.EnvVar) != "" {
		return nil
	}
	if c.saltFile != "" {
		if _, err := os.Stat(c.saltFile); err == nil {
			return nil
		}
	}
	return usageErr{fmt.Errorf("Strapi's keys need Strapi's salt: set %s to Strapi's apiToken.salt, "+
		"or give -salt-file with an existing file that holds it", saltfile.EnvVar)}
}

// openStrapi opens the Strapi database of target without changing it (see
// dbopen.OpenReadOnly) as a store that refuses writes and records no use.
func (c *command) openStrapi(ctx context.Context, target dbopen.Target) (apitoken.Store, *sql.DB, error) {
	v, err := parseVersion(c.strapi)
	if err != nil {
		return nil, nil, err
	}
	db, err := dbopen.OpenReadOnly(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	store, err := strapistore.New(db, strapistore.Options{Version: v, Dialect: target.Dialect, TablePrefix: c.strapiPrefix})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return readOnly{store}, db, nil
}

// readOnly is a Store that refuses writes and does not record use, so that
// -strapi reads Strapi's database without writing to it, not even
// lastUsedAt.
type readOnly struct{ apitoken.Store }

var errReadOnly = errors.New("-strapi opens Strapi's database read-only")

func (readOnly) Create(context.Context, *apitoken.Token, apitoken.Hash) error { return errReadOnly }
func (readOnly) Update(context.Context, string, func(*apitoken.Token) error) (*apitoken.Token, error) {
	return nil, errReadOnly
}
func (readOnly) SetKey(context.Context, string, apitoken.NewKey) error { return errReadOnly }
func (readOnly) MoveKey(context.Context, string, apitoken.Hash, apitoken.Hash, string) error {
	return errReadOnly
}
func (readOnly) Delete(context.Context, string) error                              { return errReadOnly }
func (readOnly) Touch(context.Context, string, time.Time, time.Time) (bool, error) { return false, nil }

func setupImportStrapi(c *command) func(context.Context) error {
	from := c.flags.String("from", "", "the Strapi database: a SQLite file, postgres://… or mysql://…")
	version := c.flags.String("strapi", "v5", "Strapi's major version: v4 or v5")
	prefix := c.flags.String("prefix", "", "Strapi's table prefix (default strapi_)")
	dryRun := c.flags.Bool("dry-run", false, "show what would change, and change nothing")
	prune := c.flags.Bool("prune", false, "delete here the tokens deleted in Strapi (without it they are only listed)")
	return func(ctx context.Context) error {
		v, err := parseVersion(*version)
		if err != nil {
			return usageErr{fmt.Errorf("--strapi: %w", err)}
		}
		if *from == "" {
			return usageErr{errors.New("--from is required")}
		}
		target, err := dbopen.Parse(*from)
		if err != nil {
			return usageErr{fmt.Errorf("--from: %w", err)}
		}
		if target.Path != "" {
			if _, err := os.Stat(target.Path); err != nil {
				return fmt.Errorf("no Strapi database at %s", target.Path)
			}
		}
		if err := c.explicitSalt(); err != nil {
			return err
		}
		db, err := dbopen.OpenReadOnly(ctx, target)
		if err != nil {
			return err
		}
		defer db.Close()
		src, err := strapistore.New(db, strapistore.Options{Version: v, Dialect: target.Dialect, TablePrefix: *prefix})
		if err != nil {
			return err
		}
		// A dry run into a database without apitoken's tables plans
		// against an empty store, creating nothing.
		var to apitoken.Store = memstore.New()
		has := true
		if *dryRun {
			if has, err = c.hasStore(ctx); err != nil {
				return err
			}
		}
		if has {
			svc, done, err := c.open(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			to = svc.Store()
		}
		rep, err := strapistore.Import(ctx, src, to, strapistore.ImportOptions{DryRun: *dryRun, Prune: *prune})
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(c.stdout, rep)
		}
		c.printImport(rep, target, *dryRun)
		return nil
	}
}

// dbExists reports whether -db names a server database or a SQLite file
// that exists.
// hasStore reports whether -db already holds apitoken's tables.
func (c *command) hasStore(ctx context.Context) (bool, error) {
	target, err := dbopen.Parse(dbopen.Value(c.db, getenv))
	if err != nil {
		return false, usageErr{err}
	}
	return dbopen.HasStore(ctx, target)
}

func (c *command) printImport(rep *strapistore.ImportReport, from dbopen.Target, dryRun bool) {
	for _, ch := range rep.Changes {
		fmt.Fprintf(c.stdout, "%s %s %q", ch.Op, ch.ID, clean(ch.Name))
		switch ch.Op {
		case strapistore.ImportUpdate:
			fmt.Fprintf(c.stdout, ": %s", strings.Join(ch.Fields, ", "))
		case strapistore.ImportSkip:
			fmt.Fprintf(c.stdout, ": %s", ch.Reason)
		case strapistore.ImportGone:
			fmt.Fprint(c.stdout, ": deleted in Strapi; --prune deletes it here")
		}
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "From %s: %d added, %d updated, %d unchanged, %d skipped, %d gone, %d deleted.\n", from,
		rep.Count(strapistore.ImportAdd), rep.Count(strapistore.ImportUpdate), rep.Unchanged,
		rep.Count(strapistore.ImportSkip), rep.Count(strapistore.ImportGone), rep.Count(strapistore.ImportDelete))
	if dryRun {
		fmt.Fprintln(c.stdout, "Dry run: nothing was changed.")
	}
}
