package strapistore_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/strapistore"
)

// TestRowsForStrapi checks that a token created through a Service is
// written the way Strapi writes one, so that Strapi's admin and its own
// authentication read it: the columns, the permission and link rows, times
// in the engine's form, and for v5 a document id and published_at.
func TestRowsForStrapi(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		ctx := context.Background()
		sdb := newDB(t)
		store := sdb.store(t)
		svc := newService(t, store)
		tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "made here", Type: apitoken.Custom, Lifespan: apitoken.Days7,
			Permissions: []string{"api::article.article.find", "api::article.article.create"}})
		require.NoError(t, err)
		require.Regexp(t, `^[1-9][0-9]*$`, tok.ID, "the Service's token carries Strapi's id")

		var (
			name, typ, accessKey     string
			lifespan                 int64
			created, expires         any
			docID, published, encKey sql.NullString
		)
		cols := "name, type, access_key, lifespan, created_at, expires_at"
		dest := []any{&name, &typ, &accessKey, &lifespan, &created, &expires}
		if sdb.version == strapistore.V5 {
			cols += ", document_id, published_at, encrypted_key"
			dest = append(dest, &docID, &published, &encKey)
		}
		require.NoError(t, sdb.db.QueryRow(sdb.rebind("SELECT "+cols+" FROM "+sdb.prefix+"api_tokens WHERE id = ?"), tok.ID).Scan(dest...))
		assert.Equal(t, "made here", name)
		assert.Equal(t, "custom", typ)
		assert.Equal(t, int64(604800000), lifespan, "lifespan in milliseconds")
		h, err := apitoken.NewHasher(strapiSalt)
		require.NoError(t, err)
		assert.Equal(t, h.Sum(key).Hex(), accessKey, "access_key is the hex HMAC-SHA512")
		if sdb.dialect == strapistore.SQLite {
			assert.Equal(t, tok.CreatedAt.UnixMilli(), created, "SQLite times are Unix milliseconds, as knex writes them")
			assert.Equal(t, tok.ExpiresAt.UnixMilli(), expires)
		}
		if sdb.version == strapistore.V5 {
			assert.Regexp(t, regexp.MustCompile(`^[a-z][a-z0-9]{23}$`), docID.String, "a document id like Strapi's")
			assert.True(t, published.Valid, "published_at is set, as Strapi sets it")
			assert.True(t, strings.HasPrefix(encKey.String, "v1:"), "the encrypted copy is in encrypted_key")
		}

		// Permissions: one row per action, linked with an order.
		rows, err := sdb.db.Query(sdb.rebind("SELECT p.action, l."+sdb.orderCol()+" FROM "+sdb.links()+" l JOIN "+sdb.prefix+
			"api_token_permissions p ON p.id = l.api_token_permission_id WHERE l.api_token_id = ? ORDER BY l."+sdb.orderCol()), tok.ID)
		require.NoError(t, err)
		var actions []string
		var orders []float64
		for rows.Next() {
			var a string
			var o float64
			require.NoError(t, rows.Scan(&a, &o))
			actions, orders = append(actions, a), append(orders, o)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		assert.ElementsMatch(t, []string{"api::article.article.find", "api::article.article.create"}, actions)
		assert.Equal(t, []float64{1, 2}, orders)

		// Update changes only what changed; Delete leaves no orphans.
		perms := []string{"api::article.article.find", "api::article.article.delete"}
		_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Permissions: perms})
		require.NoError(t, err)
		assert.Equal(t, 2, sdb.count(t, "api_token_permissions"))
		got, err := store.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.ElementsMatch(t, perms, got.Permissions)
		_, err = svc.Delete(ctx, tok.ID)
		require.NoError(t, err)
		assert.Zero(t, sdb.count(t, "api_tokens"))
		assert.Zero(t, sdb.count(t, "api_token_permissions"), "permission rows go with their token")
		assert.Zero(t, sdb.countTable(t, sdb.links()))
	})
}

// TestExplicitID checks that a decimal Token.ID is kept as the row's id, and
// that Strapi's next token (which lets the database number it) still gets a
// fresh id.
func TestExplicitID(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		ctx := context.Background()
		sdb := newDB(t)
		store := sdb.store(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "42", Name: "forty-two", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}, apitoken.Hash{42}))
		got, err := store.Get(ctx, "42")
		require.NoError(t, err)
		assert.Equal(t, "forty-two", got.Name)

		next := sdb.insertID(t, "INSERT INTO "+sdb.prefix+"api_tokens (name, type, access_key) VALUES (?, ?, ?)", "by strapi", "read-only", "x")
		assert.Greater(t, next, int64(42), "the id sequence moved past the explicit id")

		err = store.Create(ctx, &apitoken.Token{ID: "42", Name: "again", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}, apitoken.Hash{43})
		assert.Error(t, err, "a taken id")
		for _, id := range []string{"042", "+42", "-1", "0", "4.2", "abc"} {
			_, err := store.Get(ctx, id)
			assert.ErrorIs(t, err, apitoken.ErrNotFound, id)
		}
	})
}

// TestNew checks that New refuses what is not a Strapi schema of the
// version given.
func TestNew(t *testing.T) {
	sdb := newStrapiDB(t, strapistore.SQLite, strapistore.V4)
	_, err := strapistore.New(sdb.db, strapistore.Options{Version: strapistore.V5, Dialect: strapistore.SQLite})
	assert.ErrorContains(t, err, "no column document_id", "a v4 schema is not v5")
	_, err = strapistore.New(sdb.db, strapistore.Options{Version: strapistore.V4, Dialect: strapistore.SQLite, TablePrefix: "cms_"})
	assert.ErrorContains(t, err, "cms_api_tokens")
	_, err = strapistore.New(sdb.db, strapistore.Options{Version: strapistore.V4, Dialect: strapistore.SQLite, TablePrefix: "x; DROP TABLE y"})
	assert.ErrorContains(t, err, "prefix")
	_, err = strapistore.New(sdb.db, strapistore.Options{Version: strapistore.V4})
	assert.ErrorContains(t, err, "Dialect")
	_, err = strapistore.New(sdb.db, strapistore.Options{Dialect: strapistore.SQLite})
	assert.ErrorContains(t, err, "Version")
	s, err := strapistore.New(sdb.db, strapistore.Options{Version: strapistore.V4, Dialect: strapistore.SQLite})
	require.NoError(t, err)
	assert.False(t, s.EncryptedKeys(), "v4 has no encrypted_key")

	v5 := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	s, err = strapistore.New(v5.db, strapistore.Options{Version: strapistore.V5, Dialect: strapistore.SQLite})
	require.NoError(t, err)
	assert.True(t, s.EncryptedKeys())
	_, err = v5.db.Exec("ALTER TABLE strapi_api_tokens DROP COLUMN encrypted_key")
	require.NoError(t, err)
	s, err = strapistore.New(v5.db, strapistore.Options{Version: strapistore.V5, Dialect: strapistore.SQLite})
	require.NoError(t, err)
	assert.False(t, s.EncryptedKeys(), "Strapi 5 before encrypted keys")
}

func (s *strapiDB) count(t *testing.T, table string) int {
	t.Helper()
	return s.countTable(t, s.prefix+table)
}

func (s *strapiDB) countTable(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

// TestAdminKindTokens checks the admin tokens of later Strapi 5 releases,
// kept in the same table with kind "admin": the store reads them as
// admin tokens, with the admin user in owner_id as their owner, and writes
// them so; rows from before the kind column are content-API tokens; rows of
// a kind the store does not know (compared exactly, whatever the
// collation) are neither read nor written; names are unique across kinds.
func TestAdminKindTokens(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			sdb := newStrapiDB(t, e.dialect, strapistore.V5)
			hash := apitoken.Hash{9}
			now := time.Now().UTC().Truncate(time.Millisecond)
			insert := "INSERT INTO " + sdb.prefix + "api_tokens (document_id, name, description, type, kind, owner_id, access_key, created_at, updated_at, published_at)" +
				" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			admin := sdb.insertID(t, insert, "abcdefghijklmnopqrstuvwx", "admin token", "", "custom", "admin", 3, hash.Hex(), sdb.time(now), sdb.time(now), sdb.time(now))
			legacy := sdb.insertID(t, "INSERT INTO "+sdb.prefix+"api_tokens (name, type, access_key, created_at, updated_at)"+
				" VALUES (?, ?, ?, ?, ?)", "before kind", "read-only", apitoken.Hash{10}.Hex(), sdb.time(now), sdb.time(now))
			var odd []int64
			for i, kind := range []string{"ADMIN", "admin ", "something-else"} {
				odd = append(odd, sdb.insertID(t, insert, "oddkinddocumentid0000000", "odd "+kind, "", "full-access", kind, nil,
					apitoken.Hash{20 + byte(i)}.Hex(), sdb.time(now), sdb.time(now), sdb.time(now)))
			}
			store := sdb.store(t)
			kind, owner := store.AdminTokens()
			assert.True(t, kind)
			assert.True(t, owner)

			got, err := store.GetByHash(ctx, hash)
			require.NoError(t, err)
			assert.Equal(t, strapistoreID(admin), got.ID)
			assert.Equal(t, apitoken.KindAdmin, got.Kind)
			assert.Equal(t, "3", got.Owner, "owner_id, in decimal")
			got, err = store.GetByHash(ctx, apitoken.Hash{10})
			require.NoError(t, err, "a row from before the kind column is a content-API token")
			assert.Equal(t, strapistoreID(legacy), got.ID)
			assert.Equal(t, apitoken.KindContentAPI, got.Kind)
			assert.Empty(t, got.Owner)

			for i, id := range odd {
				_, err := store.GetByHash(ctx, apitoken.Hash{20 + byte(i)})
				assert.ErrorIs(t, err, apitoken.ErrNotFound, "a kind the store does not know authenticates nowhere")
				_, err = store.Get(ctx, strapistoreID(id))
				assert.ErrorIs(t, err, apitoken.ErrNotFound)
				assert.ErrorIs(t, store.SetKey(ctx, strapistoreID(id), apitoken.NewKey{Hash: apitoken.Hash{30}, UpdatedAt: now}), apitoken.ErrNotFound)
				assert.ErrorIs(t, store.Delete(ctx, strapistoreID(id)), apitoken.ErrNotFound)
				wrote, err := store.Touch(ctx, strapistoreID(id), now, now)
				assert.NoError(t, err)
				assert.False(t, wrote)
			}
			assert.Equal(t, 5, sdb.count(t, "api_tokens"), "nothing deleted")
			list, err := store.List(ctx)
			require.NoError(t, err)
			require.Len(t, list, 2)

			err = store.Create(ctx, &apitoken.Token{ID: "new", Name: "admin token", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}, apitoken.Hash{12})
			assert.ErrorIs(t, err, apitoken.ErrNameTaken, "names are unique across kinds, as Strapi checks them")
			err = store.Create(ctx, &apitoken.Token{ID: "new", Name: "odd ADMIN", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}, apitoken.Hash{12})
			assert.ErrorIs(t, err, apitoken.ErrNameTaken, "also the names of tokens of a kind the store does not know")
			content := &apitoken.Token{ID: "new", Name: "content", Type: apitoken.ReadOnly, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, store.Create(ctx, content, apitoken.Hash{13}))
			made := &apitoken.Token{ID: "new", Name: "made admin", Type: apitoken.Custom, Kind: apitoken.KindAdmin, Owner: "12",
				Permissions: []string{"admin::api-tokens.read"}, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, store.Create(ctx, made, apitoken.Hash{14}))
			for id, want := range map[string]struct {
				kind  string
				owner sql.NullInt64
			}{content.ID: {"content-api", sql.NullInt64{}}, made.ID: {"admin", sql.NullInt64{Int64: 12, Valid: true}}} {
				var kind string
				var owner sql.NullInt64
				require.NoError(t, sdb.db.QueryRow(sdb.rebind("SELECT kind, owner_id FROM "+sdb.prefix+"api_tokens WHERE id = ?"), id).Scan(&kind, &owner))
				assert.Equal(t, want.kind, kind, "the row as Strapi reads it")
				assert.Equal(t, want.owner, owner)
			}

			for _, bad := range []*apitoken.Token{
				{ID: "new", Name: "bad owner", Type: apitoken.Custom, Kind: apitoken.KindAdmin, Owner: "alice@example.com"},
				{ID: "new", Name: "padded owner", Type: apitoken.Custom, Kind: apitoken.KindAdmin, Owner: "012"},
				{ID: "new", Name: "bad kind", Type: apitoken.Custom, Kind: "Admin", Owner: "12"},
			} {
				bad.CreatedAt, bad.UpdatedAt = now, now
				err := store.Create(ctx, bad, apitoken.Hash{15})
				require.Error(t, err, bad.Name)
				assert.NotErrorIs(t, err, errors.ErrUnsupported, "%s: not a limit of the schema but bad input", bad.Name)
			}
			assert.Equal(t, 7, sdb.count(t, "api_tokens"), "nothing written for bad input")

			// A token whose type is NULL is allowed nothing, as in Strapi.
			sdb.exec(t, "UPDATE "+sdb.prefix+"api_tokens SET type = NULL WHERE id = ?", legacy)
			got, err = store.GetByHash(ctx, apitoken.Hash{10})
			require.NoError(t, err)
			assert.False(t, got.Allows("api::article.article.find"))
		})
	}
}

// TestAdminTokenColumns checks the schemas without the columns admin
// tokens need: without owner_id (owners read as "" and are refused with
// ErrNoOwner), and without kind (Strapi 4, and Strapi 5 before admin
// tokens: every token is a content-API token, and an admin token is
// refused with ErrNoKind). Both match errors.ErrUnsupported, and nothing
// is written.
func TestAdminTokenColumns(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	admin := func() *apitoken.Token {
		return &apitoken.Token{ID: "new", Name: "admin", Type: apitoken.Custom, Kind: apitoken.KindAdmin, Owner: "12",
			Permissions: []string{"admin::api-tokens.read"}, CreatedAt: now, UpdatedAt: now}
	}

	v5 := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	v5.exec(t, "INSERT INTO "+v5.prefix+"api_tokens (name, type, kind, owner_id, access_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		"theirs", "custom", "admin", 3, apitoken.Hash{1}.Hex(), v5.time(now), v5.time(now))
	_, err := v5.db.Exec("ALTER TABLE " + v5.prefix + "api_tokens DROP COLUMN owner_id")
	require.NoError(t, err)
	store := v5.store(t)
	kind, owner := store.AdminTokens()
	assert.True(t, kind)
	assert.False(t, owner)
	got, err := store.GetByHash(ctx, apitoken.Hash{1})
	require.NoError(t, err)
	assert.Equal(t, apitoken.KindAdmin, got.Kind)
	assert.Empty(t, got.Owner, "no owner_id column")
	err = store.Create(ctx, admin(), apitoken.Hash{2})
	assert.ErrorIs(t, err, strapistore.ErrNoOwner)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Equal(t, 1, v5.count(t, "api_tokens"))

	for _, sdb := range []*strapiDB{newStrapiDB(t, strapistore.SQLite, strapistore.V4), v5} {
		if sdb.version == strapistore.V5 {
			_, err := sdb.db.Exec("ALTER TABLE " + sdb.prefix + "api_tokens DROP COLUMN kind")
			require.NoError(t, err)
		}
		store := sdb.store(t)
		kind, _ := store.AdminTokens()
		assert.False(t, kind)
		before := sdb.count(t, "api_tokens")
		err := store.Create(ctx, admin(), apitoken.Hash{2})
		assert.ErrorIs(t, err, strapistore.ErrNoKind, "v%d", sdb.version)
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		assert.Equal(t, before, sdb.count(t, "api_tokens"), "nothing written")
		list, err := store.List(ctx)
		require.NoError(t, err)
		for _, tok := range list {
			assert.Equal(t, apitoken.KindContentAPI, tok.Kind, "without the column every token is a content-API token")
		}
	}
}
