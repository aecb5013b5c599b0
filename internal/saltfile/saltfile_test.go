package saltfile

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

func noEnv(string) string { return "" }

func logger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestEnvWins(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.salt")
	os.WriteFile(path, []byte("file-salt-file-salt-file-salt"), 0o600)
	env := func(k string) string {
		if k == EnvVar {
			return "env-salt-env-salt-env-salt"
		}
		return ""
	}
	salt, src, err := Load(context.Background(), nil, path, env, slog.Default())
	require.NoError(t, err)
	assert.Equal(t, "env-salt-env-salt-env-salt", salt)
	assert.Equal(t, FromEnv, src)
}

func TestGenerateOnceThenReuse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "apitoken.db.salt")
	var log bytes.Buffer
	salt, src, err := Load(context.Background(), nil, path, noEnv, logger(&log))
	require.NoError(t, err)
	require.Equal(t, FromGenerated, src, "Load = %q", salt)
	b, err := base64.StdEncoding.DecodeString(salt)
	assert.NoError(t, err, "salt %q is not base64", salt)
	assert.Len(t, b, 16, "salt %q is not 16 bytes of base64", salt)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode")
	assert.Contains(t, log.String(), "level=WARN", "warning")
	assert.Contains(t, log.String(), path, "warning")
	assert.Contains(t, log.String(), "every API token stops working", "warning")
	assert.NotContains(t, log.String(), salt, "the warning shows the salt")

	log.Reset()
	again, src, err := Load(context.Background(), nil, path, noEnv, logger(&log))
	require.NoError(t, err, "second Load")
	require.Equal(t, salt, again, "second Load")
	require.Equal(t, FromFile, src, "second Load")
	assert.Empty(t, log.String(), "second Load logged")
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "the directory holds only the salt file")
}

func TestKeepsFileSalt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s")
	os.WriteFile(path, []byte("  my-own-salt-of-some-length\r\n"), 0o600)
	salt, src, err := Load(context.Background(), nil, path, noEnv, slog.Default())
	require.NoError(t, err)
	assert.Equal(t, "my-own-salt-of-some-length", salt)
	assert.Equal(t, FromFile, src)
}

func TestRefusesDamagedFile(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"empty":     "",
		"short":     "abc\n",
		"spaces":    "                    \n",
		"too large": strings.Repeat("a", 2000),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "s")
			os.WriteFile(path, []byte(content), 0o600)
			_, _, err := Load(context.Background(), nil, path, noEnv, slog.Default())
			require.Error(t, err, "Load succeeded")
			b, _ := os.ReadFile(path)
			assert.Equal(t, content, string(b), "the file was changed")
		})
	}
}

func TestRefusesNonFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, err := Load(context.Background(), nil, dir, noEnv, slog.Default())
	assert.ErrorContains(t, err, "not a regular file", "directory")
	_, _, err = Load(context.Background(), nil, filepath.Join(dir, "missing", "s"), noEnv, slog.Default())
	assert.Error(t, err, "missing directory: Load succeeded")
	link := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err == nil {
		_, _, err = Load(context.Background(), nil, link, noEnv, slog.Default())
		assert.Error(t, err, "dangling symlink: Load succeeded")
		_, err = os.Stat(filepath.Join(dir, "nowhere"))
		assert.Error(t, err, "a salt was written through the dangling symlink")
	}
}

func TestWarnsOnLooseMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s")
	os.WriteFile(path, []byte("a-salt-of-enough-length"), 0o644)
	os.Chmod(path, 0o644)
	var log bytes.Buffer
	_, _, err := Load(context.Background(), nil, path, noEnv, logger(&log))
	require.NoError(t, err)
	assert.Contains(t, log.String(), "chmod 600", "log")
}

func TestConcurrentFirstStarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s")
	const n = 8
	salts := make([]string, n)
	sources := make([]Source, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			salts[i], sources[i], err = Load(context.Background(), nil, path, noEnv, slog.New(slog.DiscardHandler))
			assert.NoError(t, err) // not require: this is not the test's goroutine
		})
	}
	wg.Wait()
	generated := 0
	for i := range n {
		require.Equal(t, salts[0], salts[i], "salts differ")
		if sources[i] == FromGenerated {
			generated++
		}
	}
	assert.Equal(t, 1, generated, "starts that generated a salt")
}

// TestNoSaltForTokens: a store that holds tokens never gets a new salt.
func TestNoSaltForTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.New()
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "1", Name: "a", Type: apitoken.ReadOnly, SaltID: "0123456789ab"}, apitoken.Hash{1}))
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "2", Name: "b", Type: apitoken.ReadOnly}, apitoken.Hash{2}))
	path := filepath.Join(t.TempDir(), "apitoken.db.salt")
	_, _, err := Load(ctx, store, path, noEnv, slog.Default())
	require.ErrorIs(t, err, ErrLost)
	assert.Contains(t, err.Error(), "salt 0123456789ab made 1 token(s)")
	assert.Contains(t, err.Error(), "1 token(s) came from Strapi")
	assert.Contains(t, err.Error(), path)
	assert.NoFileExists(t, path)
}

// racingStore is a memstore whose List first does what another process
// starting at the same moment would: write the salt file, then a token.
type racingStore struct {
	*memstore.Store
	path string
}

func (s racingStore) List(ctx context.Context) ([]*apitoken.Token, error) {
	if err := os.WriteFile(s.path, []byte("the-other-process-salt-0123\n"), 0o600); err != nil {
		return nil, err
	}
	return s.Store.List(ctx)
}

// TestSaltMadeMeanwhile: when another process makes the salt and a token
// between the look for the file and the generation, its salt is used.
func TestSaltMadeMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "apitoken.db.salt")
	store := racingStore{memstore.New(), path}
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "1", Name: "a", Type: apitoken.ReadOnly, SaltID: "x"}, apitoken.Hash{1}))
	salt, src, err := Load(ctx, store, path, noEnv, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, "the-other-process-salt-0123", salt)
	assert.Equal(t, FromFile, src)
}
