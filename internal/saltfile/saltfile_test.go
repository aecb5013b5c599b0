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
	path := filepath.Join(t.TempDir(), "x.salt")
	os.WriteFile(path, []byte("file-salt-file-salt-file-salt"), 0o600)
	env := func(k string) string {
		if k == EnvVar {
			return "env-salt-env-salt-env-salt"
		}
		return ""
	}
	salt, src, err := Load(context.Background(), nil, path, env, slog.Default())
	if err != nil || salt != "env-salt-env-salt-env-salt" || src != FromEnv {
		t.Fatalf("Load = %q, %v, %v", salt, src, err)
	}
}

func TestGenerateOnceThenReuse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apitoken.db.salt")
	var log bytes.Buffer
	salt, src, err := Load(context.Background(), nil, path, noEnv, logger(&log))
	if err != nil || src != FromGenerated {
		t.Fatalf("Load = %q, %v, %v", salt, src, err)
	}
	if b, err := base64.StdEncoding.DecodeString(salt); err != nil || len(b) != 16 {
		t.Errorf("salt %q is not 16 bytes of base64", salt)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), path) ||
		!strings.Contains(log.String(), "every API token stops working") {
		t.Errorf("warning = %q", log.String())
	}
	if strings.Contains(log.String(), salt) {
		t.Error("the warning shows the salt")
	}

	log.Reset()
	again, src, err := Load(context.Background(), nil, path, noEnv, logger(&log))
	if err != nil || again != salt || src != FromFile {
		t.Fatalf("second Load = %q, %v, %v; want %q from file", again, src, err, salt)
	}
	if log.Len() != 0 {
		t.Errorf("second Load logged %q", log.String())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the salt file", len(entries))
	}
}

func TestKeepsFileSalt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	os.WriteFile(path, []byte("  my-own-salt-of-some-length\r\n"), 0o600)
	salt, src, err := Load(context.Background(), nil, path, noEnv, slog.Default())
	if err != nil || salt != "my-own-salt-of-some-length" || src != FromFile {
		t.Fatalf("Load = %q, %v, %v", salt, src, err)
	}
}

func TestRefusesDamagedFile(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"short":     "abc\n",
		"spaces":    "                    \n",
		"too large": strings.Repeat("a", 2000),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s")
			os.WriteFile(path, []byte(content), 0o600)
			_, _, err := Load(context.Background(), nil, path, noEnv, slog.Default())
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Error("the file was changed")
			}
		})
	}
}

func TestRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(context.Background(), nil, dir, noEnv, slog.Default()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
	if _, _, err := Load(context.Background(), nil, filepath.Join(dir, "missing", "s"), noEnv, slog.Default()); err == nil {
		t.Error("missing directory: Load succeeded")
	}
	link := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err == nil {
		if _, _, err := Load(context.Background(), nil, link, noEnv, slog.Default()); err == nil {
			t.Error("dangling symlink: Load succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
			t.Error("a salt was written through the dangling symlink")
		}
	}
}

func TestWarnsOnLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	os.WriteFile(path, []byte("a-salt-of-enough-length"), 0o644)
	os.Chmod(path, 0o644)
	var log bytes.Buffer
	if _, _, err := Load(context.Background(), nil, path, noEnv, logger(&log)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "chmod 600") {
		t.Errorf("log = %q", log.String())
	}
}

func TestConcurrentFirstStarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	const n = 8
	salts := make([]string, n)
	sources := make([]Source, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			salts[i], sources[i], err = Load(context.Background(), nil, path, noEnv, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	generated := 0
	for i := range n {
		if salts[i] != salts[0] {
			t.Fatalf("salts differ: %q and %q", salts[0], salts[i])
		}
		if sources[i] == FromGenerated {
			generated++
		}
	}
	if generated != 1 {
		t.Errorf("%d starts generated a salt, want 1", generated)
	}
}

// TestNoSaltForTokens: a store that holds tokens never gets a new salt.
func TestNoSaltForTokens(t *testing.T) {
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
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "apitoken.db.salt")
	store := racingStore{memstore.New(), path}
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "1", Name: "a", Type: apitoken.ReadOnly, SaltID: "x"}, apitoken.Hash{1}))
	salt, src, err := Load(ctx, store, path, noEnv, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, "the-other-process-salt-0123", salt)
	assert.Equal(t, FromFile, src)
}
