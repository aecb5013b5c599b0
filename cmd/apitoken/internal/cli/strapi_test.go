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

var dialects = []strapistore.Dialect{strapistore.SQLite, strapistore.Postgres, strapistore.MySQL}

// newStrapi makes Strapi v5's API token tables in a new database on d.
func newStrapi(t *testing.T, d strapistore.Dialect) *strapitest.DB {
	t.Helper()
	db := strapitest.NewDB(t, d)
	db.CreateTables(t, true)
	return db
}

// hashHex is key's access_key under Strapi's salt.
func hashHex(t *testing.T, key string) string {
	h, err := apitoken.NewHasher(strapiSalt)
	require.NoError(t, err)
	return h.Sum(key).Hex()
}

// addStrapiToken writes a read-only token as Strapi does, and returns its key.
func addStrapiToken(t *testing.T, db *strapitest.DB, name string) string {
	t.Helper()
	key := strings.Repeat(name[:1], 256)
	now := db.Time(time.Now())
	db.Exec(t, `INSERT INTO strapi_api_tokens (document_id, name, description, type, access_key, created_at, updated_at, published_at)
		VALUES (?, ?, '', 'read-only', ?, ?, ?, ?)`, "doc"+name, name, hashHex(t, key), now, now, now)
	return key
}

// destination returns a -db value for the tokens to import into: a new
// SQLite file, or an empty schema (database) on the server of d.
func destination(t *testing.T, d strapistore.Dialect) string {
	if d == strapistore.SQLite {
		return newDB(t)
	}
	return strapitest.NewDB(t, d).Value
}

func TestImportStrapiAgain(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			s := newStrapi(t, d)
			keyA := addStrapiToken(t, s, "alpha")
			addStrapiToken(t, s, "beta")
			db := destination(t, d)
			strapiTables := s.Tables(t)
			saltFile := filepath.Join(t.TempDir(), "salt")

			// Without Strapi's salt the keys could not work here: refused.
			r := run(t, "", "-db", db, "-salt-file", saltFile, "import-strapi", "--from", s.Value)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.Contains(t, r.stderr, "API_TOKEN_SALT")
			assert.NoFileExists(t, saltFile)

			require.NoError(t, os.WriteFile(saltFile, []byte(strapiSalt+"\n"), 0o600))
			importArgs := []string{"-db", db, "-salt-file", saltFile, "import-strapi", "--from", s.Value}
			verify := func(key string) int {
				return run(t, key, "-db", db, "-salt-file", saltFile, "verify", "--key", "-").code
			}
			out := runOK(t, append(importArgs, "--dry-run")...)
			assert.Contains(t, out, "2 added")
			if d == strapistore.SQLite {
				assert.NoFileExists(t, db, "a dry run made the database")
			}
			out = runOK(t, importArgs...)
			assert.Contains(t, out, `add 1 "alpha"`)
			assert.Equal(t, 0, verify(keyA))
			out = runOK(t, importArgs...)
			assert.Contains(t, out, "2 unchanged", "running the import again")

			// Strapi regenerates alpha's key and renames beta.
			keyA2 := strings.Repeat("f", 256)
			s.Exec(t, "UPDATE strapi_api_tokens SET access_key = ? WHERE name = 'alpha'", hashHex(t, keyA2))
			s.Exec(t, "UPDATE strapi_api_tokens SET name = 'beta 2' WHERE name = 'beta'")
			out = runOK(t, append(importArgs, "--dry-run")...)
			assert.Contains(t, out, `update 1 "alpha": key`)
			assert.Contains(t, out, `update 2 "beta 2": name`)
			assert.Contains(t, out, "Dry run")
			assert.Equal(t, 0, verify(keyA), "a dry run changes nothing")
			runOK(t, importArgs...)
			assert.Equal(t, 1, verify(keyA), "the key Strapi regenerated away is refused")
			assert.Equal(t, 0, verify(keyA2))

			// Strapi deletes beta 2: reported, deleted with --prune.
			s.Exec(t, "DELETE FROM strapi_api_tokens WHERE name = 'beta 2'")
			out = runOK(t, importArgs...)
			assert.Contains(t, out, `gone 2 "beta 2"`)
			assert.Contains(t, out, "--prune")
			assert.Contains(t, runOK(t, "-db", db, "-salt-file", saltFile, "list"), "beta 2")
			out = runOK(t, append(importArgs, "--prune")...)
			assert.Contains(t, out, `delete 2 "beta 2"`)
			assert.NotContains(t, runOK(t, "-db", db, "-salt-file", saltFile, "list"), "beta 2")

			assert.Equal(t, strapiTables, s.Tables(t), "the import added tables to Strapi's database")
		})
	}
}

// TestStrapiReadOnly reads and verifies against a Strapi database in place,
// changing nothing in it.
func TestStrapiReadOnly(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			s := newStrapi(t, d)
			key := addStrapiToken(t, s, "alpha")
			tables := s.Tables(t)
			var before [32]byte
			if s.Path != "" {
				require.NoError(t, s.Close())
				before = fileSum(t, s.Path)
			}

			// Without -strapi the CLI would make its tables in Strapi's database.
			r := run(t, "", "-db", s.Value, "list")
			assert.Equal(t, 1, r.code, r.stderr)
			assert.Contains(t, r.stderr, "Strapi database")
			assert.Contains(t, r.stderr, "-strapi")

			r = run(t, "", "-db", s.Value, "-strapi", "v5", "list")
			assert.Equal(t, 2, r.code, "no salt: %s", r.stderr)
			assert.Contains(t, r.stderr, "API_TOKEN_SALT")

			env["API_TOKEN_SALT"] = strapiSalt
			t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
			assert.Contains(t, runOK(t, "-db", s.Value, "-strapi", "v5", "list"), "alpha")
			assert.Contains(t, runOK(t, "-db", s.Value, "-strapi", "v5", "show", "alpha"), "read-only")
			r = run(t, key, "-db", s.Value, "-strapi", "v5", "verify", "--key", "-", "--action", "api::article.article.find")
			assert.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, 1, run(t, strings.Repeat("0", 256), "-db", s.Value, "-strapi", "v5", "verify", "--key", "-").code)
			for _, args := range [][]string{{"create", "--name", "x"}, {"delete", "alpha"}, {"regenerate", "alpha"},
				{"update", "alpha", "--name", "y"}, {"import-strapi", "--from", s.Value}} {
				r := run(t, "", append([]string{"-db", s.Value, "-strapi", "v5"}, args...)...)
				assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
			}

			if s.Path != "" {
				assert.Equal(t, before, fileSum(t, s.Path), "Strapi's database was written")
				for _, suffix := range []string{".salt", "-wal", "-shm"} {
					assert.NoFileExists(t, s.Path+suffix)
				}
				return
			}
			assert.Equal(t, tables, s.Tables(t), "tables were added to Strapi's database")
			var lastUsed sql.NullTime
			require.NoError(t, s.QueryRow("SELECT last_used_at FROM strapi_api_tokens").Scan(&lastUsed))
			assert.False(t, lastUsed.Valid, "verify recorded last use in Strapi's database")
		})
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// TestImportDryRunWritesNothing: a dry run into an existing database that
// is not yet an apitoken database plans against an empty store and leaves
// the file's bytes as they were (it had created apitoken's tables in it).
func TestImportDryRunWritesNothing(t *testing.T) {
	s := newStrapi(t, strapistore.SQLite)
	addStrapiToken(t, s, "alpha")
	dest := newDB(t)
	d, err := sql.Open("sqlite", dest)
	require.NoError(t, err)
	_, err = d.Exec("CREATE TABLE unrelated (x int)")
	require.NoError(t, err)
	require.NoError(t, d.Close())
	before := fileSum(t, dest)
	env["API_TOKEN_SALT"] = strapiSalt
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	r := run(t, "", "-db", dest, "import-strapi", "--from", s.Value, "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"alpha"`)
	assert.Equal(t, before, fileSum(t, dest), "--dry-run wrote to the -db file")
}
