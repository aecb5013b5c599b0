package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestMigrateKindOwner upgrades the tables of the release before admin
// tokens (migration 0007), holding a token, to migration 0008: the token
// keeps its fields and permissions and reads as a content-API token without
// an owner, through every read, and admin tokens can then be created beside
// it.
func TestMigrateKindOwner(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := e.open(t)
			prefix := freshPrefix(t)
			dropTables(t, db, e.dialect, prefix)
			s, err := sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
			require.NoError(t, err)
			require.NoError(t, s.MigrateTo(ctx, 7))
			_, err = db.Exec("SELECT kind FROM " + prefix + "tokens")
			require.Error(t, err, "version 7 has no kind column")

			// A token as the release before wrote it.
			at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			id, hash := uuid.NewString(), apitoken.Hash{7}
			exec := func(query string, args ...any) {
				t.Helper()
				query = strings.ReplaceAll(query, "{{p}}", prefix)
				if e.dialect == sqlstore.Postgres {
					query = sqlq.Numbered(query)
				}
				_, err := db.Exec(query, args...)
				require.NoError(t, err, query)
			}
			exec(`INSERT INTO {{p}}tokens (id, name, description, type, key_hash, encrypted_key, salt_id, created_at, updated_at, key_hint)
				VALUES (?, 'old', 'from 0007', 'custom', ?, '', 's1', ?, ?, '…ab12')`,
				id, hash.Hex(), sqlstore.TimeArg(e.dialect, at), sqlstore.TimeArg(e.dialect, at))
			exec("INSERT INTO {{p}}permissions (token_id, action) VALUES (?, 'api::a.a.find')", id)

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx), "again: nothing to do")
			check := func(what string, got *apitoken.Token) {
				t.Helper()
				assert.Equal(t, apitoken.KindContentAPI, got.Kind, what)
				assert.Empty(t, got.Owner, what)
				assert.Equal(t, "old", got.Name, what)
				assert.Equal(t, "…ab12", got.KeyHint, what)
				assert.Equal(t, []string{"api::a.a.find"}, got.Permissions, what)
				assert.True(t, got.CreatedAt.Equal(at), what)
			}
			got, err := s.Get(ctx, id)
			require.NoError(t, err)
			check("Get", got)
			got, err = s.GetByHash(ctx, hash)
			require.NoError(t, err)
			check("GetByHash", got)
			list, err := s.List(ctx)
			require.NoError(t, err)
			require.Len(t, list, 1)
			check("List", list[0])
			got, err = s.Update(ctx, id, func(t *apitoken.Token) error { t.Description = "edited"; return nil })
			require.NoError(t, err)
			check("Update", got)

			admin := &apitoken.Token{ID: uuid.NewString(), Name: "new admin", Type: apitoken.Custom, Kind: apitoken.KindAdmin,
				Owner: "7", Permissions: []string{"admin::api-tokens.read"}, CreatedAt: at, UpdatedAt: at}
			require.NoError(t, s.Create(ctx, admin, apitoken.Hash{8}))
			got, err = s.GetByHash(ctx, apitoken.Hash{8})
			require.NoError(t, err)
			assert.Equal(t, apitoken.KindAdmin, got.Kind)
			assert.Equal(t, "7", got.Owner)
		})
	}
}

// TestKindOwnerInput checks what Create does with the kind and owner it is
// given: no kind is a content-API token; an unknown kind, or an owner
// longer than the column, is refused with nothing written; an owner of
// exactly 255 bytes of multi-byte text is kept byte for byte; and the
// database itself refuses a kind it does not know, written by SQL.
func TestKindOwnerInput(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := e.open(t)
			s, prefix := newStorePrefix(t, db, e.dialect)
			at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			tok := func(name string, kind apitoken.Kind, owner string) *apitoken.Token {
				return &apitoken.Token{ID: uuid.NewString(), Name: name, Type: apitoken.Custom, Kind: kind, Owner: owner,
					Permissions: []string{"admin::api-tokens.read"}, CreatedAt: at, UpdatedAt: at}
			}

			plain := tok("no kind", "", "")
			plain.Type, plain.Permissions = apitoken.ReadOnly, nil
			require.NoError(t, s.Create(ctx, plain, apitoken.Hash{1}))
			got, err := s.Get(ctx, plain.ID)
			require.NoError(t, err)
			assert.Equal(t, apitoken.KindContentAPI, got.Kind, "no kind is a content-API token")

			long := strings.Repeat("é", 127) + "x" // 255 bytes, 128 characters
			owned := tok("long owner", apitoken.KindAdmin, long)
			require.NoError(t, s.Create(ctx, owned, apitoken.Hash{2}))
			got, err = s.GetByHash(ctx, apitoken.Hash{2})
			require.NoError(t, err)
			assert.Equal(t, long, got.Owner)

			for _, bad := range []*apitoken.Token{
				tok("unknown kind", "Admin", "7"),
				tok("huge kind", apitoken.Kind(strings.Repeat("a", 1<<16)), "7"),
				tok("owner too long", apitoken.KindAdmin, long+"y"),
			} {
				err := s.Create(ctx, bad, apitoken.Hash{3})
				require.Error(t, err, bad.Name)
				assert.Less(t, len(err.Error()), 200, "the error does not echo the input whole")
				_, err = s.Get(ctx, bad.ID)
				assert.ErrorIs(t, err, apitoken.ErrNotFound, "%s: nothing written", bad.Name)
			}
			_, err = s.GetByHash(ctx, apitoken.Hash{3})
			assert.ErrorIs(t, err, apitoken.ErrNotFound)

			query := "UPDATE " + prefix + "tokens SET kind = 'Admin' WHERE id = ?"
			if e.dialect == sqlstore.Postgres {
				query = sqlq.Numbered(query)
			}
			_, err = db.Exec(query, plain.ID)
			assert.Error(t, err, "the CHECK refuses a kind the store does not know")
			got, err = s.Get(ctx, plain.ID)
			require.NoError(t, err)
			assert.Equal(t, apitoken.KindContentAPI, got.Kind)
		})
	}
}
