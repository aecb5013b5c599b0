package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

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
			return writeJSON(c.stdout, saltStatus{h.ID(), r.Current, r.Previous, r.Unknown, r.Unidentified, r.Overlaps})
		}
		printSaltStatus(c, h.ID(), r)
		return nil
	}
}

// printSaltStatus prints r, the report of the salt-status command, for
// people. A salt that an old key kept by a regeneration with overlap needs
// says until when: such a key never moves to the current salt.
func printSaltStatus(c *command, current string, r apitoken.SaltReport) {
	fmt.Fprintf(c.stdout, "current salt %s: %s\n", current, tokens(r.Current))
	for _, id := range slices.Sorted(maps.Keys(r.Previous)) {
		if o, ok := r.Overlaps[id]; ok {
			fmt.Fprintf(c.stdout, "previous salt %s: %s; current keys move to the current salt when next used, but the old "+
				"keys of %s, kept by a regeneration with overlap, never move: this salt is needed until %s\n",
				id, tokens(r.Previous[id]), tokens(o.Tokens), stamp(o.Until))
			continue
		}
		fmt.Fprintf(c.stdout, "previous salt %s: %s; they move to the current salt when next used\n", id, tokens(r.Previous[id]))
	}
	for _, id := range slices.Sorted(maps.Keys(r.Unknown)) {
		var old string
		if o, ok := r.Overlaps[id]; ok {
			old = fmt.Sprintf(" (the old keys of %s, kept by a regeneration with overlap until %s)", tokens(o.Tokens), stamp(o.Until))
		}
		fmt.Fprintf(c.stdout, "unknown salt %s: %s%s; their keys cannot be verified until that salt is configured "+
			"(as %s, or in %s)\n", id, tokens(r.Unknown[id]), old, saltfile.EnvVar, saltfile.PreviousEnvVar)
	}
	o, old := r.Overlaps[""]
	if strapi := r.Unidentified - o.Tokens; strapi > 0 {
		fmt.Fprintf(c.stdout, "no salt id: %s, made by Strapi, which records no salt id: which salt they need cannot be told; "+
			"they verify only if the current or a previous salt is Strapi's\n", tokens(strapi))
	}
	if old {
		fmt.Fprintf(c.stdout, "no salt id: the old keys of %s, kept by a regeneration with overlap until %s, whose salt was "+
			"not recorded (a key from Strapi, or one replaced before salts of old keys were kept): keep the salts "+
			"configured until then\n", tokens(o.Tokens), stamp(o.Until))
	}
	if len(r.Previous) > 0 {
		fmt.Fprintln(c.stdout, "Regenerate or delete the tokens left on a previous salt before dropping it; an old key kept "+
			"by a regeneration with overlap needs its salt until the overlap ends.")
	}
}

// stamp formats an instant for salt-status, in UTC to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// saltStatus is salt-status --json.
type saltStatus struct {
	Salt         string         `json:"salt"` // the current salt's id
	Current      int            `json:"current"`
	Previous     map[string]int `json:"previous,omitempty"`
	Unknown      map[string]int `json:"unknown,omitempty"`
	Unidentified int            `json:"unidentified"`
	// Overlaps are, by salt id, the old keys of regenerations with
	// overlap that still work, and until when: see apitoken.SaltReport.
	Overlaps map[string]apitoken.Overlap `json:"overlaps,omitempty"`
}

func tokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return fmt.Sprintf("%d tokens", n)
}
