package strapistore

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-apitoken/apitoken"
)

// Import copies every token of from into to: id, name, description, type,
// lifespan, expiry, last use, creation and update times, permissions, the
// key hash and the encrypted key, so that the keys Strapi issued keep
// working against to with the same salt (and can still be shown with the
// same encryption key). A token whose name to already has is skipped and
// counted, which makes Import safe to run again. It stops at the first other
// error, having imported the tokens before it.
//
// Ids stay Strapi's decimal ids; a store that makes its own (such as this
// package's, for ids it already has) may change them.
func Import(ctx context.Context, from *Store, to apitoken.Store) (imported, skipped int, err error) {
	rows, err := from.query(ctx, from.db, from.q.all)
	if err != nil {
		return 0, 0, wrap("import: reading Strapi's tokens", err)
	}
	for _, r := range rows {
		hash, err := apitoken.ParseHash(r.hash)
		if err != nil {
			return imported, skipped, fmt.Errorf("strapistore: import: token %s (%q) has no valid access_key: %w", r.token.ID, r.token.Name, err)
		}
		err = to.Create(ctx, r.token, hash)
		switch {
		case errors.Is(err, apitoken.ErrNameTaken):
			skipped++
		case err != nil:
			return imported, skipped, fmt.Errorf("strapistore: import: token %s (%q): %w", r.token.ID, r.token.Name, err)
		default:
			imported++
		}
	}
	return imported, skipped, nil
}
