// Package strapistore keeps API tokens in the tables of an existing Strapi v4
// or v5 database, so that a Go service running beside a Strapi CMS verifies
// the tokens Strapi issued (given the same salt) and honours their type,
// expiry and custom permissions; tokens created here show up in Strapi's
// admin screen. Import copies Strapi's tokens into any other apitoken.Store,
// so that they keep working after a move away from Strapi.
//
// The store reads and writes Strapi's own schema and adds nothing to it, which
// sets its limits: token ids are Strapi's integer ids, there is no column for
// a previous key (SetKey with NewKey.PreviousValidUntil returns
// ErrUnsupported) nor for the salt id (Token.SaltID is always "") nor for
// the key hint (Token.KeyHint is always "": a key's hint cannot be derived
// from its hash, so none is kept or shown), and the
// encrypted key is kept only where the table has Strapi's encrypted_key
// column. Admin tokens (Token.Kind) are kept only where the table has
// Strapi's kind column, and their owners where it has owner_id. See the
// README for the index Strapi lacks on access_key.
package strapistore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// Version is the major version of Strapi that made the schema.
type Version int

// The supported Strapi versions.
const (
	// V4 is Strapi 4.4 or later: the first with token expiry. Its link
	// table is <prefix>api_token_permissions_token_links.
	V4 Version = 4
	// V5 is Strapi 5: rows carry document_id, published_at and locale, and
	// the link table is <prefix>api_token_permissions_token_lnk.
	V5 Version = 5
)

// Dialect names the SQL engine behind a *sql.DB: sqlstore's. On SQLite,
// Strapi (knex with better-sqlite3) stores times as Unix milliseconds, and
// so does the store; MySQL works with or without parseTime.
type Dialect = sqlstore.Dialect

// The supported engines.
const (
	SQLite   = sqlstore.SQLite
	Postgres = sqlstore.Postgres
	MySQL    = sqlstore.MySQL
)

// DefaultTablePrefix starts Strapi's table names unless Options.TablePrefix
// says otherwise.
const DefaultTablePrefix = "strapi_"

// Options say where Strapi's tables are.
type Options struct {
	// Version is the Strapi version that made the schema, V4 or V5.
	// Required: New checks that the tables have its columns.
	Version Version

	// Dialect is the engine behind the *sql.DB. Required.
	Dialect Dialect

	// TablePrefix starts the table names. Default DefaultTablePrefix,
	// "strapi_", which is what Strapi uses. It may start with a schema (or,
	// on MySQL, a database) and a dot, as in "cms.strapi_". It may hold only
	// ASCII letters, digits and underscores besides that dot: it is spliced
	// into SQL.
	TablePrefix string
}

// ErrUnsupported is returned by SetKey when asked to keep the previous key
// working (NewKey.PreviousValidUntil): Strapi's table has no column for a
// second key. It matches errors.ErrUnsupported too.
var ErrUnsupported = fmt.Errorf("strapistore: Strapi's schema cannot keep a previous key: %w", errors.ErrUnsupported)

// ErrNoKind is returned by Create for an admin token (apitoken.KindAdmin)
// when the tokens table has no kind column, as before Strapi 5 had admin
// tokens: every row there is a content-API token. It matches
// errors.ErrUnsupported too.
var ErrNoKind = fmt.Errorf("strapistore: Strapi's schema has no kind column and cannot keep an admin token: %w", errors.ErrUnsupported)

// ErrNoOwner is returned by Create for a token with an owner when the
// tokens table has no owner_id column. It matches errors.ErrUnsupported
// too.
var ErrNoOwner = fmt.Errorf("strapistore: Strapi's schema has no owner_id column and cannot keep a token's owner: %w", errors.ErrUnsupported)

// ErrNoPolicy is returned by Create and Update for a token with a Policy
// (disabled, allowed addresses, rate limit, quota): Strapi's table has no
// column for one. It matches errors.ErrUnsupported too.
var ErrNoPolicy = fmt.Errorf("strapistore: Strapi's schema cannot keep a token policy: %w", errors.ErrUnsupported)

// Store is an apitoken.Store over Strapi's api token tables. It is safe for
// concurrent use, also with a Strapi server writing the same tables: each
// write is one statement or one transaction.
//
// Token.ID is the decimal string of Strapi's integer id, for v4 and v5 alike:
// it is the id Strapi's admin routes for tokens take (v5's document_id is
// filled in for Strapi's sake but not used). Create, given an id that is not
// a decimal integer (such as the UUIDs apitoken.Service makes), lets the
// database assign one and writes it back to the Token.
//
// Token.Kind is read from Strapi's kind column: "admin" is an admin token,
// NULL (rows from before the column) or "content-api" a content-API token,
// and a row of any other kind is invisible, as it authenticates nowhere in
// Strapi. Token.Owner is the decimal id of the Strapi admin user an admin
// token acts for, read from an owner_id column. That column is an
// assumption: Strapi links an admin token to its owner, and the store
// expects the link as a column owner_id holding admin_users.id, the form
// of the created_by_id column beside it. Without such a column owners read
// as "" and are not kept.
type Store struct {
	db      *sql.DB
	dialect Dialect
	version Version

	tokens, perms, links string // table names
	orderCol             string // the link table's order column, or ""
	encrypted            bool   // the tokens table has encrypted_key
	kind                 bool   // the tokens table has kind: content-api and admin tokens share it
	owner                bool   // the tokens table has owner_id: the admin user an admin token acts for
	permMeta             bool   // the permissions table has created_at and updated_at

	q queries
}

var _ apitoken.Store = (*Store)(nil)

// New returns a Store over the Strapi tables in db. It checks, with one
// cheap query per table, that the tables exist with the columns the store
// needs, and finds which optional columns they have: encrypted_key (Strapi
// 5.x since 2025), kind (later Strapi 5 releases, which keep admin tokens in
// the same table) and owner_id (see Store), and the link table's order
// column.
func New(db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("strapistore: nil *sql.DB")
	}
	if opts.Dialect != SQLite && opts.Dialect != Postgres && opts.Dialect != MySQL {
		return nil, errors.New("strapistore: Options.Dialect must be SQLite, Postgres or MySQL")
	}
	if opts.Version != V4 && opts.Version != V5 {
		return nil, errors.New("strapistore: Options.Version must be V4 or V5")
	}
	prefix := opts.TablePrefix
	if prefix == "" {
		prefix = DefaultTablePrefix
	}
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	s := &Store{
		db:      db,
		dialect: opts.Dialect,
		version: opts.Version,
		tokens:  prefix + "api_tokens",
		perms:   prefix + "api_token_permissions",
	}
	// The join table of the permissions' manyToOne "token" relation, named
	// by Strapi's database layer: "_links" in v4, shortened "_lnk" in v5.
	s.links = prefix + "api_token_permissions_token_links"
	if s.version == V5 {
		s.links = prefix + "api_token_permissions_token_lnk"
	}
	if err := s.inspect(context.Background()); err != nil {
		return nil, err
	}
	s.q = s.buildQueries()
	return s, nil
}

func validPrefix(p string) error {
	bad := len(p) > 64 || strings.Count(p, ".") > 1 || strings.HasPrefix(p, ".") ||
		strings.IndexFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.')
		}) >= 0
	if bad {
		return fmt.Errorf("strapistore: table prefix %q must be letters, digits and underscores, optionally after a schema and a dot", p)
	}
	return nil
}

// inspect reads the column names of the three tables.
func (s *Store) inspect(ctx context.Context) error {
	required := map[string][]string{
		s.tokens: {"id", "name", "description", "type", "access_key", "last_used_at", "expires_at", "lifespan", "created_at", "updated_at"},
		s.perms:  {"id", "action"},
		s.links:  {"api_token_permission_id", "api_token_id"},
	}
	if s.version == V5 {
		required[s.tokens] = append(required[s.tokens], "document_id", "published_at")
		required[s.perms] = append(required[s.perms], "document_id", "published_at")
	}
	for _, table := range []string{s.tokens, s.perms, s.links} {
		cols, err := s.columns(ctx, table)
		if err != nil {
			return fmt.Errorf("strapistore: reading table %s (is this a Strapi %d database, and the prefix right?): %w", table, s.version, err)
		}
		for _, c := range required[table] {
			if !cols[c] {
				return fmt.Errorf("strapistore: table %s has no column %s: not a Strapi %d.x schema (v4 needs 4.4 or later)", table, c, s.version)
			}
		}
		switch table {
		case s.tokens:
			s.encrypted = cols["encrypted_key"]
			s.kind, s.owner = cols["kind"], cols["owner_id"]
		case s.perms:
			s.permMeta = cols["created_at"] && cols["updated_at"]
		case s.links:
			for _, c := range []string{"api_token_permission_ord", "api_token_permission_order"} {
				if cols[c] {
					s.orderCol = c
				}
			}
		}
	}
	return nil
}

// columns returns the names of table's columns, from an empty result.
func (s *Store) columns(ctx context.Context, table string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	cols := make(map[string]bool, len(names))
	for _, n := range names {
		cols[strings.ToLower(n)] = true
	}
	return cols, rows.Err()
}

// AdminTokens reports whether the tokens table has Strapi's kind column, so
// that admin tokens are kept, and an owner_id column, so that their owners
// are. Without the first, Create refuses admin tokens (ErrNoKind); without
// the second, tokens with an owner (ErrNoOwner).
func (s *Store) AdminTokens() (kind, owner bool) { return s.kind, s.owner }

// EncryptedKeys reports whether the tokens table has Strapi's encrypted_key
// column, so that Token.EncryptedKey is kept. Without it, Create and SetKey
// drop the encrypted copy and keys cannot be shown again.
func (s *Store) EncryptedKeys() bool { return s.encrypted }

// parseID returns the integer id of a Token.ID, or false if it is not the
// canonical decimal form of a positive integer.
func parseID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return 0, false
	}
	return n, true
}

func formatID(n int64) string { return strconv.FormatInt(n, 10) }

// unknownID is what a method returns for an id that parseID refuses, without
// asking the database: the context's error if it has ended, as a query
// would have returned, or else apitoken.ErrNotFound.
func unknownID(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return apitoken.ErrNotFound
}
