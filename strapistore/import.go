package strapistore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-apitoken/apitoken"
)

// ImportOptions change what Import does.
type ImportOptions struct {
	// DryRun makes Import report what it would do and change nothing.
	DryRun bool
	// Prune deletes from the destination the tokens that came from Strapi
	// (their ids are decimal integers) and that Strapi no longer has.
	// Without it they are reported as ImportGone and kept.
	Prune bool
}

// ImportOp is what Import does, or would do, to one token.
type ImportOp string

// The operations of an import.
const (
	ImportAdd    ImportOp = "add"    // new in Strapi: copied
	ImportUpdate ImportOp = "update" // changed in Strapi: the Fields that differ are copied
	ImportSkip   ImportOp = "skip"   // cannot be copied: Reason says why
	ImportGone   ImportOp = "gone"   // deleted in Strapi, kept here (ImportOptions.Prune deletes it)
	ImportDelete ImportOp = "delete" // deleted in Strapi, and here
)

// ImportChange is one token that an import changes, or would change.
type ImportChange struct {
	Op     ImportOp `json:"op"`
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Fields []string `json:"fields,omitempty"` // for ImportUpdate: name, description, type, lifespan, expiresAt, permissions, key
	Reason string   `json:"reason,omitempty"` // for ImportSkip
}

// ImportReport says what Import did, or with DryRun would do.
type ImportReport struct {
	Changes   []ImportChange `json:"changes"`
	Unchanged int            `json:"unchanged"` // tokens already as in Strapi
}

// Count returns how many changes have op.
func (r *ImportReport) Count(op ImportOp) int {
	n := 0
	for _, c := range r.Changes {
		if c.Op == op {
			n++
		}
	}
	return n
}

// Import makes to hold the tokens of from as Strapi has them now, so that
// the keys Strapi issued keep working against to with the same salt (and
// can be shown again with the same encryption key). It is safe to run again
// and again: tokens new in Strapi are added with their id, name,
// description, type, lifespan, expiry, permissions, times, key hash and
// encrypted key; tokens Strapi changed get its name, description, type,
// lifespan, expiry and permissions, and a key Strapi regenerated replaces
// the old one, which stops working here; tokens Strapi deleted are reported
// (ImportGone), or deleted with ImportOptions.Prune. Tokens are matched by
// id: imported tokens keep Strapi's decimal ids, and tokens made by
// apitoken.Service have UUIDs, so Import never touches those. Strapi is
// the source of truth for the tokens it made: a change made here to one of
// them is undone by the next import, and last use stays as recorded here.
//
// Admin tokens are copied with their kind and owner (Strapi's admin user
// id), which no update changes: a token here with Strapi's id but another
// kind or owner is skipped (ImportSkip), and so is a token the destination
// cannot keep (its Create returns an error matching errors.ErrUnsupported,
// as a store without admin tokens does for one).
//
// A token whose name a token made here already has is skipped
// (ImportSkip). Import stops at the first other error, having applied the
// changes before it.
func Import(ctx context.Context, from *Store, to apitoken.Store, opts ImportOptions) (*ImportReport, error) {
	rows, err := from.query(ctx, from.db, from.q.all)
	if err != nil {
		return nil, wrap("import: reading Strapi's tokens", err)
	}
	local, err := to.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("strapistore: import: listing the tokens to update: %w", err)
	}
	here := map[string]*apitoken.Token{}
	names := map[string]string{} // name → id
	for _, t := range local {
		here[t.ID] = t
		names[t.Name] = t.ID
	}
	rep := &ImportReport{Changes: []ImportChange{}}
	inStrapi := map[string]bool{}
	for _, r := range rows {
		inStrapi[r.token.ID] = true
		hash, err := apitoken.ParseHash(r.hash)
		if err != nil {
			return rep, fmt.Errorf("strapistore: import: token %s (%q) has no valid access_key: %w", r.token.ID, r.token.Name, err)
		}
		c, err := plan(ctx, to, r.token, hash, here[r.token.ID], names)
		if err != nil {
			return rep, err
		}
		if c.Op == "" {
			rep.Unchanged++
			continue
		}
		if !opts.DryRun {
			if err := apply(ctx, to, &c, r.token, hash); err != nil {
				return rep, err
			}
		}
		rep.Changes = append(rep.Changes, c)
	}
	for _, t := range local {
		if _, err := strconv.ParseInt(t.ID, 10, 64); err != nil || inStrapi[t.ID] {
			continue
		}
		c := ImportChange{Op: ImportGone, ID: t.ID, Name: t.Name}
		if opts.Prune {
			c.Op = ImportDelete
			if !opts.DryRun {
				if err := to.Delete(ctx, t.ID); err != nil && !errors.Is(err, apitoken.ErrNotFound) {
					return rep, fmt.Errorf("strapistore: import: deleting token %s (%q): %w", t.ID, t.Name, err)
				}
			}
		}
		rep.Changes = append(rep.Changes, c)
	}
	return rep, nil
}

// plan returns what to do to make to hold s, Strapi's token with key hash
// hash; cur is the token with its id in to, if any. An empty Op means
// nothing.
func plan(ctx context.Context, to apitoken.Store, s *apitoken.Token, hash apitoken.Hash, cur *apitoken.Token, names map[string]string) (ImportChange, error) {
	c := ImportChange{ID: s.ID, Name: s.Name}
	if id, taken := names[s.Name]; taken && id != s.ID {
		c.Op, c.Reason = ImportSkip, fmt.Sprintf("the name is taken here by token %s", id)
		return c, nil
	}
	if cur == nil {
		c.Op = ImportAdd
		return c, nil
	}
	if cur.Kind.Resolved() != s.Kind.Resolved() || cur.Owner != s.Owner {
		c.Op, c.Reason = ImportSkip, "the token here has another kind or owner, which an update cannot change"
		return c, nil
	}
	c.Fields = diff(cur, s)
	found, err := to.GetByHash(ctx, hash)
	switch {
	case errors.Is(err, apitoken.ErrNotFound) || err == nil && found.ID != s.ID:
		c.Fields = append(c.Fields, "key")
	case err != nil:
		return c, fmt.Errorf("strapistore: import: token %s (%q): %w", s.ID, s.Name, err)
	}
	if len(c.Fields) > 0 {
		c.Op = ImportUpdate
	}
	return c, nil
}

// diff returns the names of the fields that Strapi's token s has changed
// from cur.
func diff(cur, s *apitoken.Token) []string {
	var fields []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", cur.Name == s.Name},
		{"description", cur.Description == s.Description},
		{"type", cur.Type == s.Type},
		{"lifespan", cur.Lifespan == s.Lifespan},
		{"expiresAt", sameTime(cur.ExpiresAt, s.ExpiresAt)},
		{"permissions", slices.Equal(sorted(cur.Permissions), sorted(s.Permissions))},
	} {
		if !f.same {
			fields = append(fields, f.name)
		}
	}
	return fields
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// apply carries out c, the change planned for Strapi's token s.
func apply(ctx context.Context, to apitoken.Store, c *ImportChange, s *apitoken.Token, hash apitoken.Hash) error {
	var err error
	switch c.Op {
	case ImportAdd:
		err = to.Create(ctx, s, hash)
	case ImportUpdate:
		if !slices.Equal(c.Fields, []string{"key"}) {
			_, err = to.Update(ctx, s.ID, func(t *apitoken.Token) error {
				t.Name, t.Description, t.Type, t.Lifespan = s.Name, s.Description, s.Type, s.Lifespan
				t.ExpiresAt, t.Permissions, t.UpdatedAt = s.ExpiresAt, s.Permissions, s.UpdatedAt
				return nil
			})
		}
		if err == nil && slices.Contains(c.Fields, "key") {
			err = to.SetKey(ctx, s.ID, apitoken.NewKey{Hash: hash, EncryptedKey: s.EncryptedKey, UpdatedAt: s.UpdatedAt})
		}
	}
	switch {
	case errors.Is(err, apitoken.ErrNameTaken):
		c.Op, c.Fields, c.Reason = ImportSkip, nil, "the name is taken here"
		return nil
	case c.Op == ImportAdd && errors.Is(err, errors.ErrUnsupported):
		c.Op, c.Reason = ImportSkip, "the store here cannot keep it: "+err.Error()
		return nil
	}
	if err != nil {
		return fmt.Errorf("strapistore: import: token %s (%q): %w", s.ID, s.Name, err)
	}
	return nil
}
