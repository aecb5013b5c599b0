package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
)

// TestRefusesLostSalt copies a database without its salt file: the server
// must not start with a new salt, under which every key would fail.
func TestRefusesLostSalt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "apitoken.db")
	createOutside(t, db, "ci")
	salt, err := os.ReadFile(db + ".salt")
	require.NoError(t, err)
	h, err := apitoken.NewHasher(strings.TrimSpace(string(salt)))
	require.NoError(t, err)

	copied := filepath.Join(t.TempDir(), "copy.db")
	data, err := os.ReadFile(db)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copied, data, 0o600))

	err = start(ctx, copied, nil)
	require.Error(t, err, "the server started without the salt its tokens were made with")
	assert.Contains(t, err.Error(), h.ID(), "names the salt id")
	assert.Contains(t, err.Error(), "API_TOKEN_SALT")
	assert.Contains(t, err.Error(), copied+".salt")
	assert.NotContains(t, err.Error(), strings.TrimSpace(string(salt)))
	assert.NoFileExists(t, copied+".salt")

	// A wrong salt in the environment is refused too.
	err = start(ctx, db, map[string]string{"API_TOKEN_SALT": "a-wrong-salt-0123456789"})
	require.ErrorIs(t, err, apitoken.ErrUnknownSalt)
	assert.Contains(t, err.Error(), h.ID())
}

// start starts the server on db as newApp does, and stops it again at once.
func start(ctx context.Context, db string, env map[string]string) error {
	a, err := newApp(ctx, config{db: db, getenv: func(k string) string { return env[k] }, stdout: io.Discard,
		log: slog.New(slog.DiscardHandler), bcryptCost: bcrypt.MinCost})
	if err != nil {
		return err
	}
	return errors.Join(errors.New("started"), a.close(ctx))
}

// TestFileModes: the files the server creates next to its SQLite database,
// the database's -wal and -shm included, are its owner's alone, whatever
// the umask.
func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	ctx := context.Background()
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	db := filepath.Join(t.TempDir(), "apitoken.db")
	a, err := newApp(ctx, config{db: db, getenv: func(string) string { return "" }, stdout: io.Discard,
		log: slog.New(slog.DiscardHandler), bcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	defer a.close(ctx)
	_, _, err = a.svc.Create(ctx, apitoken.CreateParams{Name: "ci"})
	require.NoError(t, err)
	for _, suffix := range []string{"", "-wal", "-shm", ".salt", ".admin"} {
		fi, err := os.Stat(db + suffix)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), db+suffix)
	}
}

// createOutside creates a read-only token in the SQLite file db the way the
// CLI does, with the salt in db's salt file (made if missing), and returns
// its key.
func createOutside(t *testing.T, db, name string) string {
	t.Helper()
	ctx := context.Background()
	target, err := dbopen.Parse(db)
	require.NoError(t, err)
	store, sqlDB, err := dbopen.OpenStore(ctx, target)
	require.NoError(t, err)
	defer sqlDB.Close()
	salt, _, err := saltfile.Load(ctx, store, target.SidecarPath("salt"), func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt})
	require.NoError(t, err)
	defer svc.Close(ctx)
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: name, Type: apitoken.ReadOnly})
	require.NoError(t, err)
	return key
}
