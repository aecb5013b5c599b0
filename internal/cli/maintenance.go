package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
	"github.com/go-apitoken/apitoken/strapistore"
)

func setupSaltStatus(c *command) func(context.Context) error {
	return func(ctx context.Context) error {
		svc, done, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer done()
		r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: svc.Store(), Salt: c.salt, PreviousSalts: saltfile.Previous(getenv)})
		if err != nil {
			return err
		}
		h, err := apitoken.NewHasher(c.salt)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(c.stdout, saltStatus{h.ID(), r.Current, r.Previous, r.Unknown, r.Unidentified})
		}
		fmt.Fprintf(c.stdout, "current salt %s: %s\n", h.ID(), tokens(r.Current))
		for _, id := range slices.Sorted(maps.Keys(r.Previous)) {
			fmt.Fprintf(c.stdout, "previous salt %s: %s; they move to the current salt when next used\n", id, tokens(r.Previous[id]))
		}
		for _, id := range slices.Sorted(maps.Keys(r.Unknown)) {
			fmt.Fprintf(c.stdout, "unknown salt %s: %s; their keys cannot be verified until that salt is configured "+
				"(as %s, or in %s)\n", id, tokens(r.Unknown[id]), saltfile.EnvVar, saltfile.PreviousEnvVar)
		}
		if r.Unidentified > 0 {
			fmt.Fprintf(c.stdout, "no salt id: %s, made by Strapi, which records no salt id: which salt they need cannot be told; "+
				"they verify only if the current or a previous salt is Strapi's\n", tokens(r.Unidentified))
		}
		if len(r.Previous) > 0 {
			fmt.Fprintln(c.stdout, "Regenerate or delete the tokens left on a previous salt before dropping it.")
		}
		return nil
	}
}

// saltStatus is salt-status --json.
type saltStatus struct {
	Salt         string         `json:"salt"` // the current salt's id
	Current      int            `json:"current"`
	Previous     map[string]int `json:"previous,omitempty"`
	Unknown      map[string]int `json:"unknown,omitempty"`
	Unidentified int            `json:"unidentified"`
}

func tokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return fmt.Sprintf("%d tokens", n)
}

func setupImportStrapi(c *command) func(context.Context) error {
	from := c.flags.String("from", "", "the Strapi database: a SQLite file, postgres://… or mysql://…")
	version := c.flags.String("strapi", "v5", "Strapi's major version: v4 or v5")
	prefix := c.flags.String("prefix", "", "Strapi's table prefix (default strapi_)")
	return func(ctx context.Context) error {
		v, ok := map[string]strapistore.Version{"v4": strapistore.V4, "v5": strapistore.V5}[*version]
		if !ok {
			return usageErr{errors.New("--strapi: want v4 or v5")}
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
