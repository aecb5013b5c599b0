package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/saltfile"
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
