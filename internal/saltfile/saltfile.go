// Package saltfile finds the salt that the demo server and the CLI hash keys
// with, so that both agree and neither ever replaces it: API_TOKEN_SALT if
// set, else a file kept next to the database, created once with a random
// salt.
//
// Strapi users lose every token when a redeploy forgets the salt; here a
// generated salt is written to disk before it is used, announced with a
// warning that says where it is, and never overwritten.
package saltfile

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// EnvVar is the environment variable whose value, when set, is the salt.
const EnvVar = "API_TOKEN_SALT"

// maxSaltLen bounds what is read from a salt file.
const maxSaltLen = 1024

// Source says where Load found the salt.
type Source string

// The places a salt comes from.
const (
	FromEnv       Source = "environment"
	FromFile      Source = "file"
	FromGenerated Source = "generated"
)

// Load returns the salt: the API_TOKEN_SALT variable read with getenv when it
// is set; else the content of the file at path; else, when store holds no
// token, a new salt of 16 random bytes in base64, as Strapi makes, which it
// first saves at path (mode 0600) and announces on log with a warning. A
// salt is never generated for a store that holds tokens, whose keys it would
// break: Load then fails naming the salt ids the tokens were made with and
// how to restore the salt. A salt file that is empty, too short or
// unreadable is an error too. A nil store holds no token.
func Load(ctx context.Context, store apitoken.Store, path string, getenv func(string) string, log *slog.Logger) (string, Source, error) {
	if salt := getenv(EnvVar); salt != "" {
		return salt, FromEnv, nil
	}
	data, created, err := ReadOrCreate(path, maxSaltLen, func() ([]byte, error) {
		if err := refuseIfTokens(ctx, store, path); err != nil {
			return nil, err
		}
		return newSalt(), nil
	})
	if errors.Is(err, ErrLost) {
		// Another process may have made the salt, and a token with it,
		// since the file was looked for: then that salt is the one.
		var rerr error
		if data, rerr = readFile(path, maxSaltLen); rerr != nil {
			return "", "", err
		}
		err = nil
	}
	if err != nil {
		return "", "", fmt.Errorf("saltfile: %w", err)
	}
	salt := strings.TrimSpace(string(data))
	if len(salt) < apitoken.MinSaltLen {
		return "", "", fmt.Errorf("saltfile: %s holds %d bytes, not a salt of at least %d: restore it from a backup, "+
			"or set %s; deleting it makes a new salt and every existing token stops working", path, len(salt), apitoken.MinSaltLen, EnvVar)
	}
	if created {
		log.Warn("GENERATED A NEW API TOKEN SALT. Back up this file, or set "+EnvVar+" to its content: "+
			"if it is lost or changed, every API token stops working.", "file", abs(path))
		return salt, FromGenerated, nil
	}
	if loose(path) {
		log.Warn("the salt file is readable by other users; run chmod 600 on it", "file", abs(path))
	}
	return salt, FromFile, nil
}

// ErrLost is returned by Load when there is no salt for a store that holds
// tokens.
var ErrLost = errors.New("saltfile: no salt for a database that holds tokens; a new one would make every key fail")

// refuseIfTokens returns ErrLost, with the salt ids the tokens were made
// with and how to restore the salt, when store holds tokens.
func refuseIfTokens(ctx context.Context, store apitoken.Store, path string) error {
	if store == nil {
		return nil
	}
	list, err := store.List(ctx)
	if err != nil || len(list) == 0 {
		return err
	}
	ids := map[string]int{}
	for _, t := range list {
		ids[t.SaltID]++
	}
	var made []string
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if id == "" {
			made = append(made, fmt.Sprintf("%d token(s) came from Strapi, which records no salt id: use Strapi's salt", ids[id]))
		} else {
			made = append(made, fmt.Sprintf("salt %s made %d token(s)", id, ids[id]))
		}
	}
	return fmt.Errorf("%w: %s. Restore the salt file %s from a backup, "+
		"or set %s to that salt", ErrLost, strings.Join(made, "; "), abs(path), EnvVar)
}

// Check returns an error matching apitoken.ErrUnknownSalt when store holds
// tokens that neither salt nor the previous salts of getenv made (see
// apitoken.CheckSalt), naming their salt ids and saying how to fix it; src
// and path say where salt came from. The old key of a regeneration with
// overlap counts until it stops working.
func Check(ctx context.Context, store apitoken.Store, salt string, src Source, path string, getenv func(string) string) error {
	r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: salt, PreviousSalts: Previous(getenv)})
	if err != nil || len(r.Unknown) == 0 {
		return err
	}
	var msg strings.Builder
	for _, id := range slices.Sorted(maps.Keys(r.Unknown)) {
		fmt.Fprintf(&msg, "unknown salt %s: %d token(s)", id, r.Unknown[id])
		if o, ok := r.Overlaps[id]; ok {
			fmt.Fprintf(&msg, " (%d by the old key of a regeneration with overlap, which works until %s)",
				o.Tokens, o.Until.UTC().Format(time.RFC3339))
		}
		msg.WriteString("; their keys cannot be verified until that salt is configured. ")
	}
	if src == FromEnv {
		fmt.Fprintf(&msg, "%s holds another salt: set it to the salt the tokens were made with, or unset it to use the salt file %s",
			EnvVar, abs(path))
	} else {
		fmt.Fprintf(&msg, "The salt file %s holds another salt: restore the right one from a backup, or set %s to the salt "+
			"the tokens were made with", abs(path), EnvVar)
	}
	fmt.Fprintf(&msg, "; during a salt rotation put the old salt in %s", PreviousEnvVar)
	return unknownSaltError{"saltfile: " + msg.String()}
}

// unknownSaltError is apitoken.ErrUnknownSalt with what to do about it.
type unknownSaltError struct{ msg string }

func (e unknownSaltError) Error() string { return e.msg }
func (e unknownSaltError) Unwrap() error { return apitoken.ErrUnknownSalt }

func newSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return []byte(base64.StdEncoding.EncodeToString(b) + "\n")
}

// ReadOrCreate returns the content of the file at path, at most max bytes,
// or, when there is no such file, creates it with mode 0600 holding what
// generate returns, and reports that it did. It never replaces a file: the
// new content is written to a temporary file that is then hard-linked into
// place, which fails if another process got there first, and then that
// process's file is read. So the file is never seen half-written.
func ReadOrCreate(path string, max int, generate func() ([]byte, error)) (data []byte, created bool, err error) {
	data, err = readFile(path, max)
	if !errors.Is(err, fs.ErrNotExist) {
		return data, false, err
	}
	content, err := generate()
	if err != nil {
		return nil, false, err
	}
	if err := create(path, content); errors.Is(err, fs.ErrExist) {
		data, err = readFile(path, max)
		return data, false, err
	} else if err != nil {
		return nil, false, err
	}
	return content, true, nil
}

func create(path string, content []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*") // mode 0600, O_EXCL
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeAndClose(tmp, path, content); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return createExcl(path, content) // a file system without hard links
	}
	syncDir(dir)
	return nil
}

func createExcl(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	return writeAndClose(f, path, content)
}

// writeAndClose writes content to f, syncs and closes it; errors name path,
// the file that content is meant for.
func writeAndClose(f *os.File, path string, content []byte) error {
	_, err := f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// readFile reads a regular file of at most max bytes.
func readFile(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: is it the right file?", path, max)
	}
	return data, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// loose reports whether others than the owner may read the file.
func loose(path string) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Perm()&0o077 != 0
}

func abs(path string) string {
	if p, err := filepath.Abs(path); err == nil {
		return p
	}
	return path
}

// PreviousEnvVar holds salts used before the current one, separated by
// commas, for salt rotation (apitoken.Config.PreviousSalts).
const PreviousEnvVar = "API_TOKEN_PREVIOUS_SALTS"

// Previous returns the salts of PreviousEnvVar, read with getenv.
func Previous(getenv func(string) string) []string {
	var salts []string
	for _, s := range strings.Split(getenv(PreviousEnvVar), ",") {
		if s = strings.TrimSpace(s); s != "" {
			salts = append(salts, s)
		}
	}
	return salts
}
