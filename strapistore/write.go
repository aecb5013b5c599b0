package strapistore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// Create implements apitoken.Store. It writes the rows Strapi itself writes
// for a new token: the token, one permission row per action and its link
// row; in v5 with a fresh document_id and published_at. If t.ID is not a
// decimal integer, the database assigns the id and Create sets t.ID to it;
// otherwise the row gets that id. Token.SaltID is not kept (Strapi has no
// column for it), nor EncryptedKey where the table lacks encrypted_key; a
// token with a Policy is refused with ErrNoPolicy, an admin token where the
// table has no kind column with ErrNoKind, and a token with an owner where
// it has no owner_id column with ErrNoOwner. An owner must be the decimal
// id of a Strapi admin user.
func (s *Store) Create(ctx context.Context, t *apitoken.Token, hash apitoken.Hash) error {
	if !t.Policy.IsZero() {
		return ErrNoPolicy
	}
	kind, owner, err := s.kindArgs(t)
	if err != nil {
		return err
	}
	id, explicit := parseID(t.ID)
	err = s.inTx(ctx, s.nameLock(t.Name), func(q querier) error {
		if err := s.checkName(ctx, q, t.Name, 0); err != nil {
			return err
		}
		cols := []string{"name", "description", "type", "access_key", "lifespan", "expires_at", "last_used_at", "created_at", "updated_at"}
		args := []any{t.Name, t.Description, string(t.Type), hash.Hex(), sqlq.LifespanArg(t.Lifespan),
			s.timeArg(t.ExpiresAt), s.timeArg(t.LastUsedAt), s.timeValue(t.CreatedAt), s.timeValue(t.UpdatedAt)}
		if s.encrypted {
			cols, args = append(cols, "encrypted_key"), append(args, nullString(t.EncryptedKey))
		}
		if s.version == V5 {
			cols = append(cols, "document_id", "published_at")
			args = append(args, newDocumentID(), s.timeValue(t.CreatedAt))
		}
		if s.kind {
			cols, args = append(cols, "kind"), append(args, kind)
		}
		if s.owner {
			cols, args = append(cols, "owner_id"), append(args, owner)
		}
		if explicit {
			cols, args = append(cols, "id"), append(args, id)
		}
		got, err := s.insertID(ctx, q, s.insert(s.tokens, cols), args...)
		if err != nil {
			return err
		}
		if explicit && s.dialect == Postgres {
			if err := s.bumpSequence(ctx, q, id); err != nil {
				return err
			}
		}
		id = got
		return s.addPermissions(ctx, q, id, t.Permissions, 0, t.CreatedAt)
	})
	if err != nil {
		return wrap("create", err)
	}
	t.ID = formatID(id)
	return nil
}

// kindArgs returns the kind and owner_id columns of a new token, as far as
// the table has them: Strapi's "content-api" for a token without a kind,
// and NULL for one without an owner. It refuses what the table cannot
// keep, and a kind or an owner it cannot hold, before anything is written.
func (s *Store) kindArgs(t *apitoken.Token) (kind string, owner any, err error) {
	switch t.Kind {
	case "", apitoken.KindContentAPI:
		kind = string(apitoken.KindContentAPI)
	case apitoken.KindAdmin:
		if !s.kind {
			return "", nil, ErrNoKind
		}
		kind = string(apitoken.KindAdmin)
	default:
		return "", nil, fmt.Errorf("strapistore: create: token kind %.20q is neither %q nor %q", t.Kind, apitoken.KindContentAPI, apitoken.KindAdmin)
	}
	if t.Owner == "" {
		return kind, nil, nil
	}
	if !s.owner {
		return "", nil, ErrNoOwner
	}
	n, ok := parseID(t.Owner)
	if !ok {
		return "", nil, fmt.Errorf("strapistore: create: token owner %.40q is not the decimal id of a Strapi admin user", t.Owner)
	}
	return kind, n, nil
}

// bumpSequence moves the id sequence of the tokens table past id, which was
// inserted explicitly, so that Strapi's next insert does not collide with it.
func (s *Store) bumpSequence(ctx context.Context, q querier, id int64) error {
	var seq sql.NullString
	if err := q.QueryRowContext(ctx, "SELECT pg_get_serial_sequence($1, 'id')", s.tokens).Scan(&seq); err != nil || !seq.Valid {
		return err // no sequence: ids are not generated
	}
	_, err := q.ExecContext(ctx, "SELECT setval($1::regclass, GREATEST($2::bigint, (SELECT last_value FROM "+seq.String+")))", seq.String, id)
	return err
}

// checkName returns ErrNameTaken if a token other than id has name. Names
// are compared exactly, in Go, whatever the collation.
func (s *Store) checkName(ctx context.Context, q querier, name string, id int64) error {
	rows, err := q.QueryContext(ctx, s.q.names, name)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var other int64
		var n sql.NullString
		if err := rows.Scan(&other, &n); err != nil {
			return err
		}
		if other != id && n.String == name {
			return apitoken.ErrNameTaken
		}
	}
	return rows.Err()
}

// addPermissions writes a permission row and its link for each action,
// ordered after order.
func (s *Store) addPermissions(ctx context.Context, q querier, token int64, actions []string, order float64, at time.Time) error {
	cols := []string{"action"}
	if s.permMeta {
		cols = append(cols, "created_at", "updated_at")
	}
	if s.version == V5 {
		cols = append(cols, "document_id", "published_at")
	}
	insPerm := s.insert(s.perms, cols)
	linkCols := []string{"api_token_permission_id", "api_token_id"}
	if s.orderCol != "" {
		linkCols = append(linkCols, s.orderCol)
	}
	insLink := s.insert(s.links, linkCols)
	for _, action := range actions {
		args := []any{action}
		if s.permMeta {
			args = append(args, s.timeValue(at), s.timeValue(at))
		}
		if s.version == V5 {
			args = append(args, newDocumentID(), s.timeValue(at))
		}
		perm, err := s.insertID(ctx, q, insPerm, args...)
		if err != nil {
			return err
		}
		order++
		link := []any{perm, token}
		if s.orderCol != "" {
			link = append(link, order)
		}
		if _, err := q.ExecContext(ctx, insLink, link...); err != nil {
			return err
		}
	}
	return nil
}

// Update implements apitoken.Store. The token's row is locked, then read,
// changed and written in one transaction. A change of name also holds the
// new name's lock (see nameLock), which must be taken before the row's: so
// when change renames the token, the transaction ends and runs again with
// that lock, calling change again. Permissions are changed as Strapi does:
// rows of actions no longer granted are deleted, new ones added, and the
// others left alone.
func (s *Store) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, unknownID(ctx)
	}
	locked := "" // the new name whose lock the transaction holds
	for range maxRelocks {
		var t *apitoken.Token
		var refused error // change's own error, returned as it is
		lock := ""
		if locked != "" {
			lock = s.nameLock(locked)
		}
		err := s.inTx(ctx, lock, func(q querier) error {
			var found int64
			if err := q.QueryRowContext(ctx, s.q.exists, n).Scan(&found); err != nil {
				return err
			}
			rows, err := s.query(ctx, q, s.q.byID, n)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return apitoken.ErrNotFound
			}
			old := rows[0].token
			t = old.Clone()
			if refused = change(t); refused != nil {
				return refused
			}
			if !t.Policy.IsZero() {
				refused = ErrNoPolicy
				return refused
			}
			t.ID, t.CreatedAt, t.LastUsedAt, t.EncryptedKey, t.SaltID = old.ID, old.CreatedAt, old.LastUsedAt, old.EncryptedKey, old.SaltID
			t.Kind, t.Owner = old.Kind, old.Owner
			if t.Name != old.Name && t.Name != locked && s.dialect != SQLite {
				locked = t.Name
				return errRelock
			}
			if err := s.checkName(ctx, q, t.Name, n); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, s.q.update, t.Name, t.Description, string(t.Type), sqlq.LifespanArg(t.Lifespan),
				s.timeArg(t.ExpiresAt), s.timeValue(t.UpdatedAt), n); err != nil {
				return err
			}
			return s.replacePermissions(ctx, q, n, t.Permissions, t.UpdatedAt)
		})
		switch {
		case refused != nil:
			return nil, refused
		case errors.Is(err, errRelock):
			continue
		case err != nil:
			return nil, wrap("update", err)
		}
		slices.Sort(t.Permissions)
		return t, nil
	}
	return nil, errors.New("strapistore: update: the token's name kept changing")
}

// errRelock ends an update's transaction so that it runs again holding the
// lock of the name it gives the token.
var errRelock = errors.New("strapistore: relock")

// maxRelocks bounds the runs of one update: a second run holds the new
// name's lock, and needs a third only if the name it computes changed again.
const maxRelocks = 4

func (s *Store) replacePermissions(ctx context.Context, q querier, token int64, actions []string, at time.Time) error {
	type perm struct {
		id     int64
		action string
	}
	rows, err := q.QueryContext(ctx, s.q.perms, token)
	if err != nil {
		return err
	}
	var have []perm
	var last float64
	for rows.Next() {
		var p perm
		var action sql.NullString
		var order sql.NullFloat64
		if err := rows.Scan(&p.id, &action, &order); err != nil {
			rows.Close()
			return err
		}
		p.action = action.String
		have = append(have, p)
		last = max(last, order.Float64)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	want := make(map[string]bool, len(actions))
	for _, a := range actions {
		want[a] = true
	}
	kept := make(map[string]bool, len(have))
	for _, p := range have {
		if want[p.action] && !kept[p.action] {
			kept[p.action] = true
			continue
		}
		if err := s.deletePermission(ctx, q, p.id); err != nil {
			return err
		}
	}
	var add []string
	for _, a := range actions {
		if !kept[a] {
			kept[a] = true
			add = append(add, a)
		}
	}
	return s.addPermissions(ctx, q, token, add, last, at)
}

// deletePermission deletes a permission row and its link. The foreign key's
// ON DELETE CASCADE would take the link, but SQLite enforces foreign keys
// only when the connection asks.
func (s *Store) deletePermission(ctx context.Context, q querier, id int64) error {
	if _, err := q.ExecContext(ctx, s.q.deleteLink, id); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, s.q.deletePerm, id)
	return err
}

// SetKey implements apitoken.Store. Strapi keeps one key per token, so it
// returns ErrUnsupported if k.PreviousValidUntil is set, before writing
// anything. k.SaltID is not kept.
func (s *Store) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	if !k.PreviousValidUntil.IsZero() {
		return ErrUnsupported
	}
	if k.IfHash != nil {
		return fmt.Errorf("strapistore: set key: a conditional key change is not supported: %w", errors.ErrUnsupported)
	}
	n, ok := parseID(id)
	if !ok {
		return unknownID(ctx)
	}
	args := []any{k.Hash.Hex()}
	if s.encrypted {
		args = append(args, nullString(k.EncryptedKey))
	}
	args = append(args, s.timeValue(k.UpdatedAt), n)
	res, err := s.db.ExecContext(ctx, s.q.setKey, args...)
	if err != nil {
		return wrap("set key", err)
	}
	return s.affected(ctx, res, n)
}

// MoveKey implements apitoken.Store with one UPDATE whose condition on the
// current key hash makes it a compare-and-swap. Strapi keeps no salt id, so
// saltID is dropped.
func (s *Store) MoveKey(ctx context.Context, id string, from, to apitoken.Hash, saltID string) error {
	n, ok := parseID(id)
	if !ok {
		return unknownID(ctx)
	}
	res, err := s.db.ExecContext(ctx, s.q.moveKey, to.Hex(), n, from.Hex())
	if err != nil {
		return wrap("move key", err)
	}
	if moved, err := res.RowsAffected(); err != nil {
		return wrap("rows affected", err)
	} else if moved == 0 { // the new hash differs, so even MySQL counts a move
		return apitoken.ErrNotFound
	}
	return nil
}

// affected returns ErrNotFound if res changed no row and id does not exist.
// (MySQL counts only rows whose values changed.)
func (s *Store) affected(ctx context.Context, res sql.Result, id int64) error {
	if n, err := res.RowsAffected(); err != nil {
		return wrap("rows affected", err)
	} else if n > 0 {
		return nil
	}
	var found int64
	return wrap("exists", s.db.QueryRowContext(ctx, s.q.exists, id).Scan(&found))
}

// Delete implements apitoken.Store. It deletes the token's permission rows
// and links too, as Strapi's foreign keys would.
func (s *Store) Delete(ctx context.Context, id string) error {
	n, ok := parseID(id)
	if !ok {
		return unknownID(ctx)
	}
	err := s.inTx(ctx, "", func(q querier) error {
		var found int64
		if err := q.QueryRowContext(ctx, s.q.exists, n).Scan(&found); err != nil {
			return err
		}
		if err := s.replacePermissions(ctx, q, n, nil, time.Time{}); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.q.deleteLinks, n); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, s.q.deleteToken, n)
		return err
	})
	return wrap("delete", err)
}

// Touch implements apitoken.Store, as one conditional UPDATE of
// last_used_at.
func (s *Store) Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error) {
	n, ok := parseID(id)
	if !ok {
		return false, ctx.Err()
	}
	res, err := s.db.ExecContext(ctx, s.q.touch, s.timeValue(at), n, s.timeValue(notAfter))
	if err != nil {
		return false, wrap("touch", err)
	}
	wrote, err := res.RowsAffected()
	if err != nil {
		return false, wrap("touch", err)
	}
	return wrote > 0, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// documentIDChars are the characters of a v5 document id: Strapi makes them
// with cuid2, 24 lower-case letters and digits starting with a letter.
const documentIDChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// newDocumentID returns a fresh id in the form of Strapi's document ids.
func newDocumentID() string {
	var b [24]byte
	for i := range b {
		n := len(documentIDChars)
		if i == 0 {
			n = 26
		}
		b[i] = documentIDChars[randIntn(n)]
	}
	return string(b[:])
}

// randIntn returns a uniform random number in [0, n) for n <= 256.
func randIntn(n int) int {
	var c [1]byte
	limit := 256 - 256%n
	for {
		rand.Read(c[:])
		if int(c[0]) < limit {
			return int(c[0]) % n
		}
	}
}
