package cli

import (
	"crypto/sha256"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/strapitest"
	"github.com/go-apitoken/apitoken/strapistore"
)

// strapiSalt is the Strapi project's API_TOKEN_SALT in these tests.
const strapiSalt = "the-strapi-salt-0123456789"

// strapiFile is a Strapi v5 SQLite database made for a test.
type strapiFile struct {
	path string
	db   *sql.DB
}

// newStrapiFile creates Strapi's API token tables in a new SQLite file.
func newStrapiFile(t *testing.T) *strapiFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for _, stmt := range strapitest.DDL(strapistore.SQLite, strapistore.V5, strapistore.DefaultTablePrefix) {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	return &strapiFile{path, db}
}

// hashHex is key's access_key under Strapi's salt.
func hashHex(t *testing.T, key string) string {
	h, err := apitoken.NewHasher(strapiSalt)
	require.NoError(t, err)
	return h.Sum(key).Hex()
}

// add writes a read-only token as Strapi does, and returns its key.
func (s *strapiFile) add(t *testing.T, name string) string {
	t.Helper()
	key := strings.Repeat(name[:1], 256)
	now := time.Now().UnixMilli()
	_, err := s.db.Exec(`INSERT INTO strapi_api_tokens (document_id, name, description, type, access_key, created_at, updated_at, published_at)
		VALUES (?, ?, '', 'read-only', ?, ?, ?, ?)`, "doc"+name, name, hashHex(t, key), now, now, now)
	require.NoError(t, err)
	return key
}

func (s *strapiFile) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := s.db.Exec(query, args...)
	require.NoError(t, err)
}

// tables returns the names of the tables in the SQLite file at path.
func tables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	return names
}

func TestImportStrapiAgain(t *testing.T) {
	s := newStrapiFile(t)
	keyA := s.add(t, "alpha")
	s.add(t, "beta")
	db := newDB(t)
	strapiTables := tables(t, s.path)

	// Without Strapi's salt the keys could not work here: refused.
	r := run(t, "", "-db", db, "import-strapi", "--from", s.path)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "API_TOKEN_SALT")
	assert.NoFileExists(t, db+".salt")
	r = run(t, "", "-db", db, "-salt-file", filepath.Join(t.TempDir(), "none"), "import-strapi", "--from", s.path)
	assert.Equal(t, 2, r.code, "a -salt-file that does not exist: %s", r.stderr)

	env["API_TOKEN_SALT"] = strapiSalt
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	out := runOK(t, "-db", db, "import-strapi", "--from", s.path, "--dry-run")
	assert.Contains(t, out, "2 added")
	assert.NoFileExists(t, db, "a dry run made the database")
	out = runOK(t, "-db", db, "import-strapi", "--from", s.path)
	assert.Contains(t, out, `add 1 "alpha"`)
	assert.Equal(t, 0, run(t, keyA, "-db", db, "verify", "--key", "-").code)
	out = runOK(t, "-db", db, "import-strapi", "--from", s.path)
	assert.Contains(t, out, "2 unchanged")

	// Strapi regenerates alpha's key, renames beta, deletes nothing yet.
	keyA2 := strings.Repeat("f", 256)
	s.exec(t, "UPDATE strapi_api_tokens SET access_key = ? WHERE name = 'alpha'", hashHex(t, keyA2))
	s.exec(t, "UPDATE strapi_api_tokens SET name = 'beta 2' WHERE name = 'beta'")
	out = runOK(t, "-db", db, "import-strapi", "--from", s.path, "--dry-run")
	assert.Contains(t, out, `update 1 "alpha": key`)
	assert.Contains(t, out, `update 2 "beta 2": name`)
	assert.Contains(t, out, "Dry run")
	assert.Equal(t, 0, run(t, keyA, "-db", db, "verify", "--key", "-").code, "a dry run changes nothing")
	runOK(t, "-db", db, "import-strapi", "--from", s.path)
	assert.Equal(t, 1, run(t, keyA, "-db", db, "verify", "--key", "-").code, "the key Strapi regenerated away is refused")
	assert.Equal(t, 0, run(t, keyA2, "-db", db, "verify", "--key", "-").code)

	s.exec(t, "DELETE FROM strapi_api_tokens WHERE name = 'beta 2'")
	out = runOK(t, "-db", db, "import-strapi", "--from", s.path)
	assert.Contains(t, out, `gone 2 "beta 2"`)
	assert.Contains(t, out, "--prune")
	assert.Contains(t, runOK(t, "-db", db, "list"), "beta 2")
	out = runOK(t, "-db", db, "import-strapi", "--from", s.path, "--prune")
	assert.Contains(t, out, `delete 2 "beta 2"`)
	assert.NotContains(t, runOK(t, "-db", db, "list"), "beta 2")

	assert.Equal(t, strapiTables, tables(t, s.path), "the import added nothing to Strapi's database")
}

// TestStrapiReadOnly reads and verifies against a Strapi database in place,
// changing nothing in it.
func TestStrapiReadOnly(t *testing.T) {
	s := newStrapiFile(t)
	key := s.add(t, "alpha")
	require.NoError(t, s.db.Close())
	before := fileSum(t, s.path)

	// Without -strapi the CLI would make its tables in Strapi's database.
	r := run(t, "", "-db", s.path, "list")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "Strapi database")
	assert.Contains(t, r.stderr, "-strapi")

	r = run(t, "", "-db", s.path, "-strapi", "v5", "list")
	assert.Equal(t, 2, r.code, "no salt: %s", r.stderr)
	assert.Contains(t, r.stderr, "API_TOKEN_SALT")

	env["API_TOKEN_SALT"] = strapiSalt
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	assert.Contains(t, runOK(t, "-db", s.path, "-strapi", "v5", "list"), "alpha")
	assert.Contains(t, runOK(t, "-db", s.path, "-strapi", "v5", "show", "alpha"), "read-only")
	r = run(t, key, "-db", s.path, "-strapi", "v5", "verify", "--key", "-", "--action", "api::article.article.find")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, run(t, strings.Repeat("0", 256), "-db", s.path, "-strapi", "v5", "verify", "--key", "-").code)
	for _, args := range [][]string{{"create", "--name", "x"}, {"delete", "alpha"}, {"regenerate", "alpha"},
		{"update", "alpha", "--name", "y"}, {"import-strapi", "--from", s.path}} {
		r := run(t, "", append([]string{"-db", s.path, "-strapi", "v5"}, args...)...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}

	assert.Equal(t, before, fileSum(t, s.path), "Strapi's database was written")
	for _, suffix := range []string{".salt", "-wal", "-shm"} {
		assert.NoFileExists(t, s.path+suffix)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}
