package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/strapistore"
)

func setupSaltStatus(c *command) func(context.Context) error {
	return func(ctx context.Context) error {
		svc, done, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer done()
		n, err := svc.CountBySalt(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(c.stdout, map[string]int{"current": n.Current, "previous": n.Previous, "unknown": n.Unknown})
		}
		fmt.Fprintf(c.stdout, "current salt:   %d\nprevious salts: %d\nunknown:        %d (hashed before salts were recorded, e.g. by Strapi)\n",
			n.Current, n.Previous, n.Unknown)
		if n.Previous > 0 {
			fmt.Fprintln(c.stdout, "Tokens move to the current salt when next used; regenerate or delete the others before dropping a previous salt.")
		}
		return nil
	}
}

func setupImportStrapi(c *command) func(context.Context) error {
	from := c.flags.String("from", "", "the Strapi database: a SQLite file, postgres://… or mysql://…")
	version := c.flags.String("strapi", "v5", "Strapi's major version: v4 or v5")
	prefix := c.flags.String("prefix", "", "Strapi's table prefix (default strapi_)")
	return func(ctx context.Context) error {
		v, ok := map[string]strapistore.Version{"v4": strapistore.V4, "v5": strapistore.V5}[*version]
		if !ok {
			return usageErr{fmt.Errorf("--strapi %q: want v4 or v5", clean(truncate(*version, 20)))}
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
		db, err := dbopen.Open(ctx, target)
		if err != nil {
			return err
		}
		defer db.Close()
		src, err := strapistore.New(db, strapistore.Options{Version: v, Dialect: target.Dialect, TablePrefix: *prefix})
		if err != nil {
			return err
		}
		svc, done, err := c.open(ctx, false)
		if err != nil {
			return err
		}
		defer done()
		imported, skipped, err := strapistore.Import(ctx, src, svc.Store())
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(c.stdout, map[string]int{"imported": imported, "skipped": skipped})
		}
		fmt.Fprintf(c.stdout, "Imported %d tokens from %s; skipped %d whose names were taken. Their keys work here with Strapi's salt.\n",
			imported, target, skipped)
		return nil
	}
}
