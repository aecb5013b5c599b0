package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// Get implements apitoken.Store. It returns apitoken.ErrNotFound for an
// unknown id. With Options.Replica, the replica answers when it can be
// trusted to.
func (s *Store) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	if !exactID(id) {
		return nil, apitoken.ErrNotFound
	}
	if g, ok := s.replica.route(id); ok {
		rctx, cancel := s.replicaCtx(ctx)
		t, err := s.get(rctx, s.replica.db, id)
		cancel()
		if s.replica.fresh(g, id, s.replicaAnswered(ctx, err)) {
			return t, nil
		}
	}
	return s.get(ctx, s.db, id)
}

func (s *Store) get(ctx context.Context, db *sql.DB, id string) (*apitoken.Token, error) {
	rows, err := db.QueryContext(ctx, s.q.getByID, id)
	if err != nil {
		return nil, s.wrap(ctx, "get", err)
	}
	return s.one(ctx, "get", rows)
}

// GetByHash implements apitoken.Store: one round trip, an equality on the
// unique key-hash index (or on the previous key's). It returns
// apitoken.ErrNotFound for an unknown hash. A token found by its previous
// key comes back with ExpiresAt no later than that key's deadline.
//
// With Options.Replica, the replica is asked first, and its answer kept
// unless it found nothing or a token it cannot be trusted with; the
// decision costs no query.
func (s *Store) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	if r := s.replica; r != nil {
		if g, ok := r.lookup(); ok {
			rctx, cancel := s.replicaCtx(ctx)
			t, err := s.getByHash(rctx, r.db, &r.stmt, hash)
			cancel()
			if !s.replicaAnswered(ctx, err) {
				r.fresh(g, "", false)
			} else if r.fresh(g, t.ID, true) {
				return t, nil
			}
		}
	}
	return s.getByHash(ctx, s.db, &s.stmt, hash)
}

func (s *Store) getByHash(ctx context.Context, db *sql.DB, slot *atomic.Pointer[sql.Stmt], hash apitoken.Hash) (*apitoken.Token, error) {
	stmt, err := s.getByHashStmt(ctx, db, slot)
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

// getByHashStmt prepares the GetByHash query on db once, keeping it in
// slot. A failed preparation is not kept, so that the next call tries again
// once the database is back.
func (s *Store) getByHashStmt(ctx context.Context, db *sql.DB, slot *atomic.Pointer[sql.Stmt]) (*sql.Stmt, error) {
	if stmt := slot.Load(); stmt != nil {
		return stmt, nil
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if stmt := slot.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, s.q.getByHash)
	if err != nil {
		return nil, err
	}
	slot.Store(stmt)
	return stmt, nil
}

// List implements apitoken.Store: every token, sorted bytewise by name on
// every engine (the schema gives names a binary collation). With
// Options.Replica, the replica answers while no token is pinned.
func (s *Store) List(ctx context.Context) ([]*apitoken.Token, error) {
	if g, ok := s.replica.route(""); ok {
		rctx, cancel := s.replicaCtx(ctx)
		list, err := s.list(rctx, s.replica.db)
		cancel()
		if s.replica.fresh(g, "", s.replicaAnswered(ctx, err)) {
			return list, nil
		}
	}
	return s.list(ctx, s.db)
}

func (s *Store) list(ctx context.Context, db *sql.DB) ([]*apitoken.Token, error) {
	rows, err := db.QueryContext(ctx, s.q.list)
	if err != nil {
		return nil, s.wrap(ctx, "list", err)
	}
	defer rows.Close()
	var list []*apitoken.Token
	var last *apitoken.Token
	r := newReader(s.dialect)
	for rows.Next() {
		// A token's rows are adjacent: names are unique and sorted.
		t, err := r.read(rows, last)
		if err != nil {
			return nil, s.wrap(ctx, "list", err)
		}
		if t != last {
			list = append(list, t)
			last = t
		}
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
	r := newReader(s.dialect)
	for rows.Next() {
		t, err := r.read(rows, tok)
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		if tok == nil {
			tok = t
		}
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

// reader reads the rows of tokens joined to their permissions. Each row
// is first read for its token id and permission only, into reused buffers;
// the token's columns are read, and allocated, on its first row alone.
type reader struct {
	dialect Dialect
	id      idBuf
	action  sql.NullString
	short   []any
}

func newReader(d Dialect) *reader {
	r := &reader{dialect: d}
	r.short = []any{&r.id}
	for range otherColumns {
		r.short = append(r.short, skip{})
	}
	r.short = append(r.short, skip{}, &r.action) // the previous key's deadline, the permission
	return r
}

// otherColumns counts the columns of tokenColumns after the id.
var otherColumns = strings.Count(tokenColumns, ",")

// read reads the current row. It returns cur with the row's permission
// added when the row belongs to cur, or else a new token with it.
func (r *reader) read(rows *sql.Rows, cur *apitoken.Token) (*apitoken.Token, error) {
	if err := rows.Scan(r.short...); err != nil {
		return nil, err
	}
	t := cur
	if cur == nil || string(r.id) != cur.ID {
		var err error
		if t, err = r.token(rows); err != nil {
			return nil, err
		}
	}
	if r.action.Valid {
		t.Permissions = append(t.Permissions, r.action.String)
	}
	return t, nil
}

// token reads the token of the current row. A previous key's deadline, when
// the row was found by one, caps the token's expiry.
func (r *reader) token(rows *sql.Rows) (*apitoken.Token, error) {
	var (
		t         apitoken.Token
		typ, kind string
		owner     sql.NullString
		prevSalt  sql.NullString
		lifespan  sql.NullInt64
	)
	d := r.dialect
	expires, used, created, updated, prevUntil := dbTime{dialect: d}, dbTime{dialect: d}, dbTime{dialect: d}, dbTime{dialect: d}, dbTime{dialect: d}
	prevKey := dbTime{dialect: d}
	p := policyCols{refilledAt: dbTime{dialect: d}}
	err := rows.Scan(&t.ID, &t.Name, &t.Description, &typ, &lifespan, &expires, &used, &created, &updated,
		&t.EncryptedKey, &t.SaltID, &t.KeyHint, &prevKey, &prevSalt, &p.policy, &p.limit, &p.remaining, &p.refilledAt,
		&kind, &owner, &prevUntil, skip{})
	if err != nil {
		return nil, err
	}
	if err := p.read(&t); err != nil {
		return nil, err
	}
	t.Type = apitoken.Type(typ)
	t.Kind, t.Owner = apitoken.Kind(kind), owner.String
	t.Lifespan = sqlq.Lifespan(lifespan)
	t.ExpiresAt, t.LastUsedAt = expires.ptr(), used.ptr()
	t.CreatedAt, t.UpdatedAt = created.t, updated.t
	t.PreviousKeyExpiresAt, t.PreviousSaltID = prevKey.ptr(), prevSalt.String
	if prevUntil.valid && (t.ExpiresAt == nil || t.ExpiresAt.After(prevUntil.t)) {
		t.ExpiresAt = prevUntil.ptr()
	}
	return &t, nil
}

// idBuf is a scan destination that copies a text value into a reused buffer.
// (sql.RawBytes would forbid the second Scan of the row that read needs.)
type idBuf []byte

// Scan implements sql.Scanner.
func (b *idBuf) Scan(v any) error {
	switch v := v.(type) {
	case string:
		*b = append((*b)[:0], v...)
	case []byte:
		*b = append((*b)[:0], v...)
	default:
		return fmt.Errorf("sqlstore: token id is %T, want text", v)
	}
	return nil
}

// skip is a scan destination that discards the value.
type skip struct{}

// Scan implements sql.Scanner.
func (skip) Scan(any) error { return nil }

// finish sorts a token's permissions bytewise, the order Token documents,
// each once (a key regenerated onto itself matches both UNION branches), and
// gives a custom token without any an empty list rather than nil.
func finish(t *apitoken.Token) {
	slices.Sort(t.Permissions)
	t.Permissions = slices.Compact(t.Permissions)
	if t.Permissions == nil && t.Type == apitoken.Custom {
		t.Permissions = []string{}
	}
}
