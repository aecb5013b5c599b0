package strapistore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// row is a token as read, with its stored key hash.
type row struct {
	token *apitoken.Token
	id    int64
	hash  string // access_key as stored
}

// Get implements apitoken.Store. An id that is not one of Strapi's integer
// ids is not found.
func (s *Store) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, unknownID(ctx)
	}
	rows, err := s.query(ctx, s.db, s.q.byID, n)
	if err != nil {
		return nil, wrap("get", err)
	}
	if len(rows) == 0 {
		return nil, apitoken.ErrNotFound
	}
	return rows[0].token, nil
}

// GetByHash implements apitoken.Store. It finds the token by Strapi's
// access_key column, which Strapi does not index: add the index the README
// gives, or every lookup reads the whole table.
func (s *Store) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	hex := hash.Hex()
	rows, err := s.query(ctx, s.db, s.q.byHash, hex)
	if err != nil {
		return nil, wrap("get by hash", err)
	}
	for _, r := range rows {
		// A case-insensitive collation (MySQL's default) would match
		// an upper-case copy too; Strapi writes lower case.
		if r.hash == hex {
			return r.token, nil
		}
	}
	return nil, apitoken.ErrNotFound
}

// List implements apitoken.Store. Tokens are sorted by name bytewise, in Go,
// whatever the database's collation.
func (s *Store) List(ctx context.Context) ([]*apitoken.Token, error) {
	rows, err := s.query(ctx, s.db, s.q.all)
	if err != nil {
		return nil, wrap("list", err)
	}
	list := make([]*apitoken.Token, len(rows))
	for i, r := range rows {
		list[i] = r.token
	}
	slices.SortStableFunc(list, func(a, b *apitoken.Token) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// query runs one of the token queries, whose rows are a token's columns
// and one of its permissions, ordered by token id, and gathers the tokens.
func (s *Store) query(ctx context.Context, q querier, query string, args ...any) ([]row, error) {
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var (
			id                                  int64
			name, desc, typ, key, enc, action   sql.NullString
			kind                                sql.NullString
			lifespan, owner                     sql.NullInt64
			expires, lastUsed, created, updated nullTime
		)
		if err := rs.Scan(&id, &name, &desc, &typ, &key, &enc, &lifespan, &expires, &lastUsed, &created, &updated,
			&kind, &owner, &action); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].id != id {
			k, err := readKind(id, kind)
			if err != nil {
				return nil, err
			}
			t := &apitoken.Token{
				ID:           formatID(id),
				Name:         name.String,
				Description:  desc.String,
				Type:         apitoken.Type(typ.String), // NULL or unknown: allowed nothing, as in Strapi
				Lifespan:     sqlq.Lifespan(lifespan),
				ExpiresAt:    expires.ptr(),
				LastUsedAt:   lastUsed.ptr(),
				CreatedAt:    created.Time,
				UpdatedAt:    updated.Time,
				EncryptedKey: enc.String,
				Kind:         k,
			}
			if owner.Valid {
				t.Owner = formatID(owner.Int64)
			}
			out = append(out, row{token: t, id: id, hash: key.String})
		}
		if action.Valid {
			t := out[len(out)-1].token
			t.Permissions = append(t.Permissions, action.String)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		slices.Sort(r.token.Permissions)
	}
	return out, nil
}

// readKind returns the kind of token id as Strapi's kind column holds it:
// NULL (a row from before the column) or "content-api" is a content-API
// token, "admin" an admin token. The queries leave out rows of any other
// kind; should one come through all the same, it is an error rather than
// a token of a kind it is not.
func readKind(id int64, kind sql.NullString) (apitoken.Kind, error) {
	switch {
	case !kind.Valid || kind.String == string(apitoken.KindContentAPI):
		return apitoken.KindContentAPI, nil
	case kind.String == string(apitoken.KindAdmin):
		return apitoken.KindAdmin, nil
	}
	return "", fmt.Errorf("strapistore: token %d has kind %.20q, neither content-api nor admin", id, kind.String)
}
