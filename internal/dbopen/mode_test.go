package dbopen

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestSQLiteFileModes checks that a SQLite database OpenStore creates, and
// its -wal and -shm files once they exist, are readable by their owner
// alone, whatever the umask: they hold the key hashes.
func TestSQLiteFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	for _, umask := range []int{0, 0o022, 0o077} {
		old := syscall.Umask(umask)
		path := filepath.Join(t.TempDir(), "tokens.db")
		target, err := Parse(path)
		require.NoError(t, err)
		ctx := context.Background()
		store, db, err := OpenStore(ctx, target)
		syscall.Umask(old)
		require.NoError(t, err)
		require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "1", Name: "a", Type: apitoken.ReadOnly}, apitoken.Hash{1}))
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			require.NoError(t, err, "%s must exist while the database is open", p)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s with umask %#o", p, umask)
		}
		require.NoError(t, db.Close())
	}
}

// TestExistingModeKept: a database that exists keeps the mode its owner gave it.
func TestExistingModeKept(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "tokens.db")
	require.NoError(t, os.WriteFile(path, nil, 0o640))
	require.NoError(t, os.Chmod(path, 0o640))
	target, err := Parse(path)
	require.NoError(t, err)
	_, db, err := OpenStore(context.Background(), target)
	require.NoError(t, err)
	defer db.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

// TestDanglingSymlink: a -db symlink to a file that does not exist is
// refused, since SQLite would create the target with the umask's mode.
func TestDanglingSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "tokens.db")
	require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere.db"), link))
	_, err := Open(context.Background(), Target{Dialect: sqlstore.SQLite, Driver: "sqlite", Path: link, DSN: link, display: link})
	require.ErrorContains(t, err, "symbolic link")
	_, err = os.Stat(filepath.Join(dir, "elsewhere.db"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing created")
}
