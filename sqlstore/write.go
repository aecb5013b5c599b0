package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// Create implements apitoken.Store. The token and its permissions are
// written in one transaction, so no reader ever sees one without the other,
// even if the process dies half-way. It returns apitoken.ErrNameTaken when
// the unique name index refuses the name, which makes exactly one of several
// concurrent creates with one name succeed. A token without a kind is
// written as a content-API token; one of a kind the store does not know, or
// with an owner longer than 255 bytes, is refused before anything is
// written.
func (s *Store) Create(ctx context.Context, t *apitoken.Token, hash apitoken.Hash) (err error) {
	d := s.dialect
	defer s.wrote(t.ID, &err)
	policy, err := policyArgs(d, &t.Policy)
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	kind, owner, err := kindArgs(t)
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	return s.inTx(ctx, "create", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.insertToken, append([]any{t.ID, t.Name, t.Description, string(t.Type), hash.Hex(),
			t.EncryptedKey, t.SaltID, sqlq.LifespanArg(t.Lifespan), argPtr(d, t.ExpiresAt), argPtr(d, t.LastUsedAt),
			arg(d, t.CreatedAt), arg(d, t.UpdatedAt), t.KeyHint, kind, owner}, policy...)...)
		if err != nil {
			return err
		}
		return s.insertPermissions(ctx, tx, t.ID, t.Permissions)
	})
}

// maxOwnerLen is the most bytes of Token.Owner the owner column holds on
// every engine (VARCHAR(255) counts characters, SQLite TEXT nothing).
const maxOwnerLen = 255

// kindArgs returns the kind and owner columns of a new token: an empty kind
// is written as apitoken.KindContentAPI, as it reads, and an empty owner as
// NULL. A kind the store does not know, or an owner too long for the
// column, is refused rather than changed.
func kindArgs(t *apitoken.Token) (kind string, owner any, err error) {
	switch t.Kind {
	case "":
		kind = string(apitoken.KindContentAPI)
	case apitoken.KindContentAPI, apitoken.KindAdmin:
		kind = string(t.Kind)
	default:
		return "", nil, fmt.Errorf("token kind %.20q is neither %q nor %q", t.Kind, apitoken.KindContentAPI, apitoken.KindAdmin)
	}
	if len(t.Owner) > maxOwnerLen {
		return "", nil, fmt.Errorf("token owner is %d bytes, more than the %d the store keeps", len(t.Owner), maxOwnerLen)
	}
	if t.Owner != "" {
		owner = t.Owner
	}
	return kind, owner, nil
}

// Update implements apitoken.Store in one transaction that first locks the
// token's row (on SQLite, the database's write lock), then reads the token,
// so that no other write comes between the read and this one. The row and
// the permissions are then replaced; the kind and owner are not written.
// It returns apitoken.ErrNotFound or apitoken.ErrNameTaken.
func (s *Store) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	d := s.dialect
	var t *apitoken.Token
	var refused error // change's own error, returned as it is
	if !exactID(id) {
		return nil, apitoken.ErrNotFound
	}
	err := s.inTx(ctx, "update", func(tx *sql.Tx) error {
		if err := s.lock(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.q.getByID, id)
		if err != nil {
			return err
		}
		old, err := s.one(ctx, "update", rows)
		if err != nil {
			return err
		}
		t = old.Clone()
		if refused = change(t); refused != nil {
			return refused
		}
		keepStored(t, old)
		policy, err := policyArgs(d, &t.Policy)
		if err != nil {
			return err
		}
		args := append([]any{t.Name, t.Description, string(t.Type), sqlq.LifespanArg(t.Lifespan),
			argPtr(d, t.ExpiresAt), arg(d, t.UpdatedAt)}, policy...)
		res, err := tx.ExecContext(ctx, s.q.updateToken, append(args, id)...)
		if err != nil {
			return err
		}
		if err := s.changed(ctx, tx, res, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.deletePerms, id); err != nil {
			return err
		}
		return s.insertPermissions(ctx, tx, id, t.Permissions)
	})
	if refused != nil {
		return nil, refused
	}
	s.wrote(id, &err)
	if err != nil {
		return nil, err
	}
	finish(t)
	return t, nil
}

// lock takes the lock of the token's row until tx ends: SELECT … FOR
// UPDATE, which lets other writers' unique checks pass (a write that
// changes nothing would make them wait on it, and two renames onto each
// other's names deadlock), or on SQLite, which has no row locks, a write
// that changes nothing, which takes the database's write lock.
func (s *Store) lock(ctx context.Context, tx *sql.Tx, id string) error {
	if s.dialect == SQLite {
		_, err := tx.ExecContext(ctx, s.q.lockToken, id)
		return err
	}
	var one int
	return tx.QueryRowContext(ctx, s.q.lockToken, id).Scan(&one)
}

// keepStored gives t the fields of old that Update does not change.
func keepStored(t, old *apitoken.Token) {
	t.ID, t.CreatedAt, t.LastUsedAt, t.EncryptedKey, t.SaltID = old.ID, old.CreatedAt, old.LastUsedAt, old.EncryptedKey, old.SaltID
	t.KeyHint, t.PreviousKeyExpiresAt, t.PreviousSaltID = old.KeyHint, old.PreviousKeyExpiresAt, old.PreviousSaltID
	t.Kind, t.Owner = old.Kind, old.Owner
	t.UpdatedAt = t.UpdatedAt.UTC()
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
}

// SetKey implements apitoken.Store with one UPDATE, atomic by itself. With
// k.PreviousValidUntil set, the current hash moves to the previous-key
// columns, replacing any earlier previous key. It returns
// apitoken.ErrNotFound.
func (s *Store) SetKey(ctx context.Context, id string, k apitoken.NewKey) (err error) {
	if !exactID(id) {
		return apitoken.ErrNotFound
	}
	defer s.wrote(id, &err)
	d := s.dialect
	return s.inTx(ctx, "set key", func(tx *sql.Tx) error {
		if k.IfHash != nil {
			if err := s.lock(ctx, tx, id); err != nil {
				return err
			}
			var cur string
			if err := tx.QueryRowContext(ctx, s.q.keyHash, id).Scan(&cur); err != nil {
				return err
			}
			if cur != k.IfHash.Hex() {
				return apitoken.ErrStale
			}
		}
		var res sql.Result
		var err error
		if k.PreviousValidUntil.IsZero() {
			res, err = tx.ExecContext(ctx, s.q.setKey, k.Hash.Hex(), k.EncryptedKey, k.SaltID, arg(d, k.UpdatedAt), k.KeyHint, id)
		} else {
			res, err = tx.ExecContext(ctx, s.q.setKeyKeep, arg(d, k.PreviousValidUntil), k.Hash.Hex(),
				k.EncryptedKey, k.SaltID, arg(d, k.UpdatedAt), k.KeyHint, id)
		}
		if err != nil {
			return err
		}
		return s.changed(ctx, tx, res, id)
	})
}

// MoveKey implements apitoken.Store with one UPDATE, atomic by itself,
// whose condition on the current key hash makes it a compare-and-swap. It
// returns apitoken.ErrNotFound when no token has id and from as its key
// hash. (The new hash always differs from the old, so even MySQL counts the
// row it changed.)
func (s *Store) MoveKey(ctx context.Context, id string, from, to apitoken.Hash, saltID string) (err error) {
	if !exactID(id) {
		return apitoken.ErrNotFound
	}
	defer s.wrote(id, &err)
	return s.wrap(ctx, "move key", s.retryBusy(ctx, func() error {
		res, err := s.db.ExecContext(ctx, s.q.moveKey, to.Hex(), saltID, id, from.Hex())
		if err != nil {
			return err
		}
		return oneRow(res)
	}))
}

// Delete implements apitoken.Store. The permissions are deleted explicitly
// as well as by the cascading foreign key, because SQLite enforces foreign
// keys only on connections that enabled them. It returns
// apitoken.ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) (err error) {
	if !exactID(id) {
		return apitoken.ErrNotFound
	}
	defer s.wrote(id, &err)
	return s.inTx(ctx, "delete", func(tx *sql.Tx) error {
		// The token row first, as Create and Update lock it, so that
		// concurrent writes to one token queue rather than deadlock.
		res, err := tx.ExecContext(ctx, s.q.deleteToken, id)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.deletePerms, id)
		return err
	})
}

// wrote tells the replica's state of a write to the token id that returned
// *err, before the write returns; see replica.wrote.
func (s *Store) wrote(id string, err *error) {
	s.replica.wrote(id, *err, s.feed.now())
}

// oneRow returns apitoken.ErrNotFound if res changed no row.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return apitoken.ErrNotFound
	}
	return err
}

// changed returns apitoken.ErrNotFound if res touched no row and no token
// has id. MySQL counts only rows whose values changed (unless the DSN sets
// clientFoundRows), so an update that rewrites the same values reports no
// rows; hence the second look.
func (s *Store) changed(ctx context.Context, tx *sql.Tx, res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var one int
	return tx.QueryRowContext(ctx, s.q.exists, id).Scan(&one)
}

// permChunk bounds the rows of one INSERT: 1000 placeholders, far below
// every engine's limit.
const permChunk = 500

// insertPermissions writes a token's permissions, each once, in as few
// statements as it can.
func (s *Store) insertPermissions(ctx context.Context, tx *sql.Tx, id string, perms []string) error {
	if len(perms) == 0 {
		return nil
	}
	perms = slices.Compact(slices.Sorted(slices.Values(perms)))
	table := s.table("permissions")
	for chunk := range slices.Chunk(perms, permChunk) {
		args := make([]any, 0, 2*len(chunk))
		for _, p := range chunk {
			args = append(args, id, p)
		}
		if _, err := tx.ExecContext(ctx, insertPerms(s.dialect, table, len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction and commits it, rolling back on any error
// or when ctx ends. On SQLite it retries while another connection holds the
// write lock, so that the store works on a DSN without busy_timeout.
func (s *Store) inTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return s.wrap(ctx, op, s.retryBusy(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	}))
}

// retryBusy runs f with sqlq.Retry: again while it fails with SQLITE_BUSY on
// SQLite, so that the store works on a DSN without busy_timeout, and as a
// deadlock's victim elsewhere (InnoDB's gap locks make writes to
// neighbouring tokens' permissions deadlock), since an unrelated write must
// not fail for it.
func (s *Store) retryBusy(ctx context.Context, f func() error) error {
	return sqlq.Retry(ctx, s.retryable, f)
}

func (s *Store) retryable(err error) bool {
	if s.dialect == SQLite {
		return sqliteBusy(err)
	}
	return sqlq.Deadlock(err)
}

// exactID reports whether id can name a token. An id that ends in a space
// cannot: MySQL's PAD SPACE collations would match it to the id without
// the spaces, and then a write through the cache, which goes by the id it
// was given, would leave the real id's entries cached.
func exactID(id string) bool { return !strings.HasSuffix(id, " ") }

// isSentinel reports whether err already is one of the Store contract's
// errors, which wrap passes through.
func isSentinel(err error) bool {
	return errors.Is(err, apitoken.ErrNotFound) || errors.Is(err, apitoken.ErrNameTaken)
}
