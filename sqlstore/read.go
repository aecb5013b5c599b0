package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/go-apitoken/apitoken"
)

// Get implements apitoken.Store. It returns apitoken.ErrNotFound for an
// unknown id.
func (s *Store) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.q.getByID, id)
	if err != nil {
		return nil, s.wrap(ctx, "get", err)
	}
	return s.one(ctx, "get", rows)
}

// GetByHash implements apitoken.Store: one round trip, an equality on the
// unique key-hash index (or on the previous key's). It returns
// apitoken.ErrNotFound for an unknown hash. A token found by its previous
// key comes back with ExpiresAt no later than that key's deadline.
func (s *Store) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	stmt, err := s.getByHashStmt(ctx)
	if err != nil {
		return nil, s.wrap(ctx, "get by hash", err)
	}
	h := hash.Hex()
	rows, err := stmt.QueryContext(ctx, h, h)
	if err != nil {
		return nil, s.wrap(ctx, "get by hash", err)
	}
	return s.one(ctx, "get by hash", rows)
}

// getByHashStmt prepares the GetByHash query once. A failed preparation is
// not kept, so that the next call tries again once the database is back.
func (s *Store) getByHashStmt(ctx context.Context) (*sql.Stmt, error) {
	if stmt := s.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if stmt := s.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := s.db.PrepareContext(ctx, s.q.getByHash)
	if err != nil {
		return nil, err
	}
	s.stmt.Store(stmt)
	return stmt, nil
}

// List implements apitoken.Store: every token, sorted bytewise by name on
// every engine (the schema gives names a binary collation).
func (s *Store) List(ctx context.Context) ([]*apitoken.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.q.list)
	if err != nil {
		return nil, s.wrap(ctx, "list", err)
	}
	defer rows.Close()
	var list []*apitoken.Token
	for rows.Next() {
		t, action, err := s.scan(rows)
		if err != nil {
			return nil, s.wrap(ctx, "list", err)
		}
		// A token's rows are adjacent: names are unique and sorted.
		if n := len(list); n > 0 && list[n-1].ID == t.ID {
			t = list[n-1]
		} else {
			list = append(list, t)
		}
		addPermission(t, action)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, "list", err)
	}
	for _, t := range list {
		finish(t)
	}
	if list == nil {
		list = []*apitoken.Token{}
	}
	return list, nil
}

// one reads the rows of a single token, or returns apitoken.ErrNotFound.
func (s *Store) one(ctx context.Context, op string, rows *sql.Rows) (*apitoken.Token, error) {
	defer rows.Close()
	var tok *apitoken.Token
	for rows.Next() {
		t, action, err := s.scan(rows)
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		if tok == nil {
			tok = t
		} else if t.ID != tok.ID {
			continue // cannot happen: hashes are unique
		}
		addPermission(tok, action)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	if tok == nil {
		return nil, s.wrap(ctx, op, sql.ErrNoRows)
	}
	finish(tok)
	return tok, nil
}

// scan reads one row: a token, and one of its permissions or "". A previous
// key's deadline, when the row was found by one, caps the token's expiry.
func (s *Store) scan(rows *sql.Rows) (*apitoken.Token, string, error) {
	var (
		t                           apitoken.Token
		lifespan                    sql.NullInt64
		action                      sql.NullString
		expires, used, created, upd = dbTime{dialect: s.dialect}, dbTime{dialect: s.dialect}, dbTime{dialect: s.dialect}, dbTime{dialect: s.dialect}
		prevUntil                   = dbTime{dialect: s.dialect}
		typ                         string
	)
	err := rows.Scan(&t.ID, &t.Name, &t.Description, &typ, &lifespan, &expires, &used, &created, &upd,
		&t.EncryptedKey, &t.SaltID, &prevUntil, &action)
	if err != nil {
		return nil, "", err
	}
	t.Type = apitoken.Type(typ)
	t.Lifespan = apitoken.Duration(time.Duration(lifespan.Int64) * time.Millisecond)
	t.ExpiresAt, t.LastUsedAt = expires.ptr(), used.ptr()
	t.CreatedAt, t.UpdatedAt = created.t, upd.t
	if prevUntil.valid && (t.ExpiresAt == nil || t.ExpiresAt.After(prevUntil.t)) {
		t.ExpiresAt = prevUntil.ptr()
	}
	return &t, action.String, nil
}

func addPermission(t *apitoken.Token, action string) {
	if action != "" {
		t.Permissions = append(t.Permissions, action)
	}
}

// finish sorts a token's permissions bytewise, the order Token documents,
// and gives a custom token without any an empty list rather than nil.
func finish(t *apitoken.Token) {
	slices.Sort(t.Permissions)
	if t.Permissions == nil && t.Type == apitoken.Custom {
		t.Permissions = []string{}
	}
}
