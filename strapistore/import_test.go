package strapistore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/strapistore"
)

// sqlstore returns a migrated sqlstore.Store in the test's own SQLite file,
// PostgreSQL schema or MySQL database, to import into.
func (s *strapiDB) sqlstore(t *testing.T) *sqlstore.Store {
	t.Helper()
	var db *sql.DB
	var err error
	schema, _, _ := strings.Cut(s.prefix, ".")
	switch s.dialect {
	case strapistore.SQLite:
		db, err = sql.Open("sqlite", "file:"+t.TempDir()+"/apitoken.db?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	case strapistore.Postgres:
		dsn := testenv.DSN(t, testenv.PostgresEnv)
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		db, err = sql.Open("pgx", dsn+sep+"search_path="+schema)
	case strapistore.MySQL:
		var cfg *mysql.Config
		cfg, err = mysql.ParseDSN(testenv.DSN(t, testenv.MySQLEnv))
		require.NoError(t, err)
		cfg.DBName = schema
		db, err = sql.Open("mysql", cfg.FormatDSN())
	}
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: s.dialect})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	return store
}

// TestReimport runs the import again after tokens changed in Strapi: it
// must bring the changes over, and leave alone what did not change.
func TestReimport(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		ctx := context.Background()
		sdb := newDB(t)
		rows := sdb.seed(t)
		from, to := sdb.store(t), sdb.sqlstore(t)
		svc := newService(t, to)
		_, ownKey, err := svc.Create(ctx, apitoken.CreateParams{Name: "made here"})
		require.NoError(t, err)

		rep, err := strapistore.Import(ctx, from, to, strapistore.ImportOptions{})
		require.NoError(t, err)
		assert.Equal(t, 3, rep.Count(strapistore.ImportAdd))
		rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{})
		require.NoError(t, err, "running the import again")
		assert.Empty(t, rep.Changes)
		assert.Equal(t, 3, rep.Unchanged)

		// In Strapi: regenerate one key, rename a custom token and take a
		// permission away, delete a token and create one.
		hasher, err := apitoken.NewHasher(strapiSalt)
		require.NoError(t, err)
		newFullKey, addedKey := strings.Repeat("1f", 128), strings.Repeat("2e", 128)
		sdb.exec(t, "UPDATE "+sdb.prefix+"api_tokens SET access_key = ?, type = ? WHERE id = ?", hasher.Sum(newFullKey).Hex(), "read-only", rows.full)
		sdb.exec(t, "UPDATE "+sdb.prefix+"api_tokens SET name = ?, description = ?, lifespan = ?, expires_at = ? WHERE id = ?",
			"Custom 2", "renamed", int64(7776000000), sdb.time(time.Date(2098, 1, 1, 0, 0, 0, 0, time.UTC)), rows.custom)
		sdb.exec(t, "DELETE FROM "+sdb.links()+" WHERE api_token_permission_id IN (SELECT id FROM "+sdb.prefix+
			"api_token_permissions WHERE action = ?)", "plugin::upload.content-api.find")
		sdb.exec(t, "DELETE FROM "+sdb.prefix+"api_tokens WHERE id = ?", rows.expired)
		added := sdb.insertToken(t, "Added", hasher.Sum(addedKey).Hex())

		want := []strapistore.ImportChange{
			{Op: strapistore.ImportUpdate, ID: strapistoreID(rows.custom), Name: "Custom 2", Fields: []string{"name", "description", "lifespan", "expiresAt", "permissions"}},
			{Op: strapistore.ImportUpdate, ID: strapistoreID(rows.full), Name: "Full Access", Fields: []string{"type", "key"}},
			{Op: strapistore.ImportAdd, ID: strapistoreID(added), Name: "Added"},
			{Op: strapistore.ImportGone, ID: strapistoreID(rows.expired), Name: "Expired"},
		}
		rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{DryRun: true})
		require.NoError(t, err)
		assert.ElementsMatch(t, want, rep.Changes)
		_, err = svc.Verify(ctx, fullKey)
		require.NoError(t, err, "a dry run changes nothing")

		rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{})
		require.NoError(t, err)
		assert.ElementsMatch(t, want, rep.Changes)
		_, err = svc.Verify(ctx, fullKey)
		assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the key Strapi regenerated away stops working here")
		for _, key := range []string{newFullKey, addedKey, customKey, ownKey} {
			_, err = svc.Verify(ctx, key)
			assert.NoError(t, err)
		}
		custom, err := to.Get(ctx, strapistoreID(rows.custom))
		require.NoError(t, err)
		assert.Equal(t, "Custom 2", custom.Name)
		assert.Equal(t, "renamed", custom.Description)
		assert.Equal(t, []string{"api::article.article.find"}, custom.Permissions)
		assert.Equal(t, apitoken.Days90, custom.Lifespan)
		assert.True(t, custom.ExpiresAt.Equal(time.Date(2098, 1, 1, 0, 0, 0, 0, time.UTC)))
		full, err := to.Get(ctx, strapistoreID(rows.full))
		require.NoError(t, err)
		assert.Equal(t, apitoken.ReadOnly, full.Type)
		_, err = to.Get(ctx, strapistoreID(rows.expired))
		require.NoError(t, err, "without Prune a token deleted in Strapi stays")

		rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{Prune: true})
		require.NoError(t, err)
		assert.Equal(t, []strapistore.ImportChange{{Op: strapistore.ImportDelete, ID: strapistoreID(rows.expired), Name: "Expired"}}, rep.Changes)
		_, err = to.Get(ctx, strapistoreID(rows.expired))
		assert.ErrorIs(t, err, apitoken.ErrNotFound)
		_, err = svc.Verify(ctx, ownKey)
		assert.NoError(t, err, "Prune leaves the tokens made here")

		rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{Prune: true})
		require.NoError(t, err)
		assert.Empty(t, rep.Changes)
		assert.Equal(t, 3, rep.Unchanged)
	})
}

// TestImportNameTaken: a Strapi token whose name a token made here has is
// skipped, and said so.
func TestImportNameTaken(t *testing.T) {
	ctx := context.Background()
	sdb := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	rows := sdb.seed(t)
	to := memstore.New()
	_, _, err := newService(t, to).Create(ctx, apitoken.CreateParams{Name: "Custom"})
	require.NoError(t, err)
	rep, err := strapistore.Import(ctx, sdb.store(t), to, strapistore.ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Count(strapistore.ImportSkip))
	for _, c := range rep.Changes {
		if c.Op == strapistore.ImportSkip {
			assert.Equal(t, strapistoreID(rows.custom), c.ID)
			assert.Contains(t, c.Reason, "name is taken")
		}
	}
}

// insertToken writes a read-only token as Strapi does and returns its id.
func (s *strapiDB) insertToken(t *testing.T, name, hash string) int64 {
	t.Helper()
	now := s.time(time.Now().UTC().Truncate(time.Millisecond))
	cols, args := "name, description, type, access_key, created_at, updated_at", []any{name, "", "read-only", hash, now, now}
	if s.version == strapistore.V5 {
		cols += ", document_id, published_at"
		args = append(args, "newtokendocumentid00"+randomHex(2), now)
	}
	return s.insertID(t, "INSERT INTO "+s.prefix+"api_tokens ("+cols+") VALUES (?"+strings.Repeat(", ?", len(args)-1)+")", args...)
}

// TestImportAdminTokens: Strapi's admin tokens are copied with their kind
// and owner, and a second import finds them unchanged; a token here with
// Strapi's id but another kind is skipped rather than left half-updated,
// and so is an admin token a store without admin tokens cannot keep.
func TestImportAdminTokens(t *testing.T) {
	ctx := context.Background()
	sdb := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	now := time.Now().UTC().Truncate(time.Millisecond)
	admin := sdb.insertID(t, "INSERT INTO "+sdb.prefix+"api_tokens (name, type, kind, owner_id, access_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		"theirs", "custom", "admin", 3, apitoken.Hash{1}.Hex(), sdb.time(now), sdb.time(now))
	from := sdb.store(t)

	to := memstore.New()
	rep, err := strapistore.Import(ctx, from, to, strapistore.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Count(strapistore.ImportAdd))
	got, err := to.GetByHash(ctx, apitoken.Hash{1})
	require.NoError(t, err)
	assert.Equal(t, apitoken.KindAdmin, got.Kind)
	assert.Equal(t, "3", got.Owner)
	rep, err = strapistore.Import(ctx, from, to, strapistore.ImportOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Changes)
	assert.Equal(t, 1, rep.Unchanged)

	other := memstore.New()
	require.NoError(t, other.Create(ctx, &apitoken.Token{ID: strapistoreID(admin), Name: "theirs", Type: apitoken.Custom,
		Kind: apitoken.KindContentAPI, Permissions: []string{}, CreatedAt: now, UpdatedAt: now}, apitoken.Hash{2}))
	rep, err = strapistore.Import(ctx, from, other, strapistore.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Changes, 1)
	assert.Equal(t, strapistore.ImportSkip, rep.Changes[0].Op)
	assert.Contains(t, rep.Changes[0].Reason, "another kind or owner")
	got, err = other.Get(ctx, strapistoreID(admin))
	require.NoError(t, err)
	assert.Equal(t, apitoken.KindContentAPI, got.Kind, "left as it was")

	v4 := newStrapiDB(t, strapistore.SQLite, strapistore.V4)
	rep, err = strapistore.Import(ctx, from, v4.store(t), strapistore.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Changes, 1)
	assert.Equal(t, strapistore.ImportSkip, rep.Changes[0].Op)
	assert.Contains(t, rep.Changes[0].Reason, "no kind column")
	assert.Zero(t, v4.count(t, "api_tokens"))
}
