package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
)

// env is the environment the commands see: empty unless a test sets it, so
// that the developer's APITOKEN_DB and API_TOKEN_SALT do not leak in. A test
// that sets it must not call t.Parallel: the parallel tests read it.
var env = map[string]string{}

func init() { getenv = func(k string) string { return env[k] } }

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line with stdin and returns what it did.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// runOK runs the command line and fails the test unless it exits 0.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, "", args...)
	require.Equal(t, 0, r.code, "apitoken %s: exit code\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

func newDB(t *testing.T) string {
	return filepath.Join(t.TempDir(), "tokens.db")
}

// keyPattern matches a prefixed key alone on its line, as create --quiet
// prints it.
var keyPattern = regexp.MustCompile(`^apitoken_[0-9A-Za-z]{49}\n$`)

type tokenWithKey struct {
	apitoken.Token
	AccessKey string `json:"accessKey"`
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	out := runOK(t, "-db", db, "create", "--name", "ci", "--description", "CI pipeline", "--type", "custom",
		"--permission", "api::article.article.find", "--permission", "api::article.article.create", "--duration", "30d", "--json")
	var created tokenWithKey
	require.NoError(t, json.Unmarshal([]byte(out), &created), "create --json: %s", out)
	require.Equal(t, "ci", created.Name, "created %+v", created)
	require.Equal(t, apitoken.Custom, created.Type, "created %+v", created)
	require.Equal(t, apitoken.Days30, created.Lifespan, "created %+v", created)
	require.Len(t, created.Permissions, 2, "created %+v", created)
	require.NotNil(t, created.ExpiresAt, "created %+v", created)
	require.Regexp(t, keyPattern, created.AccessKey+"\n", "created %+v", created)
	_, err := os.Stat(db + ".salt")
	require.NoError(t, err, "no salt file next to the database")

	// Human output shows the key once, at the end.
	out = runOK(t, "-db", db, "create", "--name", "reader")
	assert.Contains(t, out, "shown only this once", "create output")
	assert.Regexp(t, `\napitoken_[0-9A-Za-z]{49}\n$`, out, "create output")
	quiet := runOK(t, "create", "-db", db, "--name", "quiet", "--type", "full-access", "--quiet")
	assert.Regexp(t, keyPattern, quiet, "create --quiet printed %q, want the key alone", quiet)

	out = runOK(t, "list", "-db", db)
	for _, name := range []string{"ci", "quiet", "reader"} {
		assert.Contains(t, out, name, "list lacks %s", name)
	}
	hint := "apitoken_…" + created.AccessKey[len(created.AccessKey)-4:]
	assert.Equal(t, hint, created.KeyHint)
	assert.Contains(t, out, " KEY ", "list has a key column")
	assert.Contains(t, out, hint, "list shows the key's hint")
	assert.NotContains(t, out, created.AccessKey[10:len(created.AccessKey)-4], "and no more of the key")
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "list", "-db", db, "--json")), &list), "list --json")
	require.Len(t, list, 3, "list --json = %+v", list)
	require.Equal(t, "ci", list[0].Name, "list --json = %+v", list)

	// show by id and by name; flags may follow the argument.
	var shown apitoken.Token
	json.Unmarshal([]byte(runOK(t, "show", "-db", db, created.ID, "--json")), &shown)
	assert.Equal(t, created.ID, shown.ID, "show by id = %+v", shown)
	assert.Equal(t, "CI pipeline", shown.Description, "show by id = %+v", shown)
	out = runOK(t, "-db", db, "show", "ci")
	assert.Contains(t, out, created.ID, "show by name")
	assert.Contains(t, out, "api::article.article.create", "show by name")

	var updated apitoken.Token
	json.Unmarshal([]byte(runOK(t, "-db", db, "update", "ci", "--name", "ci-2", "--type", "read-only", "--duration", "unlimited", "--json")), &updated)
	assert.Equal(t, "ci-2", updated.Name, "updated = %+v", updated)
	assert.Equal(t, apitoken.ReadOnly, updated.Type, "updated = %+v", updated)
	assert.Nil(t, updated.Permissions, "updated = %+v", updated)
	assert.Nil(t, updated.ExpiresAt, "updated = %+v", updated)

	verify := func(key, action string) int {
		t.Helper()
		args := []string{"-db", db, "verify", "--key", "-"}
		if action != "" {
			args = append(args, "--action", action)
		}
		return run(t, key+"\n", args...).code
	}
	assert.Equal(t, 0, verify(created.AccessKey, "api::article.article.find"), "verify of ci's key: exit code")
	newKey := runOK(t, "-db", db, "regenerate", "ci-2", "--quiet")
	require.Regexp(t, keyPattern, newKey, "regenerate --quiet printed %q", newKey)
	assert.Equal(t, 1, verify(created.AccessKey, ""), "old key after regenerate: exit code")
	assert.Equal(t, 0, verify(strings.TrimSpace(newKey), ""), "new key: exit code")

	out = runOK(t, "-db", db, "delete", created.ID)
	assert.Contains(t, out, `Deleted token "ci-2"`, "delete printed")
	r := run(t, "", "-db", db, "show", created.ID)
	assert.Equal(t, 1, r.code, "show after delete = %+v", r)
	assert.Contains(t, r.stderr, "apitoken list", "show after delete")
	assert.Equal(t, 1, verify(strings.TrimSpace(newKey), ""), "deleted token's key: exit code")
}

func TestVerify(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "r", "--quiet"))
	expired := expiredKey(t, db)

	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"valid", "", []string{"--key", key}, 0, ""},
		{"stdin", key + "\r\n", []string{"--key", "-"}, 0, ""},
		{"allowed action", key, []string{"--key", "-", "--action", "api::article.article.findOne"}, 0, ""},
		{"refused action", key, []string{"--key", "-", "--action", "api::article.article.delete"}, 1, "may not perform api::article.article.delete"},
		{"expired", expired, []string{"--key", "-"}, 1, "expired"},
		{"unknown", strings.Repeat("a", 256), []string{"--key", "-"}, 1, "no token has this key"},
		{"junk", "not a key at all", []string{"--key", "-"}, 1, "no token has this key"},
		{"no key flag", "", nil, 2, "--key is required"},
		{"empty stdin", "", []string{"--key", "-"}, 2, "no key on standard input"},
		{"oversized stdin", strings.Repeat("a", 1<<20), []string{"--key", "-"}, 2, "longer than 4096"},
		{"bad action", key, []string{"--key", "-", "--action", "delete everything"}, 2, "--action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, append([]string{"-db", db, "verify"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "exit code; stderr %q", r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.NotContains(t, r.stderr, key, "the key was printed")
			assert.NotContains(t, r.stdout, key, "the key was printed")
		})
	}

	var v verdict
	r := run(t, expired, "-db", db, "verify", "--key", "-", "--json")
	assert.NoError(t, json.Unmarshal([]byte(r.stdout), &v), "verify --json of an expired key: %s", r.stdout)
	assert.False(t, v.Valid, "verify --json of an expired key = %+v", v)
	if assert.NotNil(t, v.Token, "verify --json of an expired key = %+v", v) {
		assert.Equal(t, "expired", v.Token.Name, "verify --json of an expired key = %+v", v)
	}
}

// expiredKey makes a token in db that expired a day ago, through a Service
// whose clock runs eight days behind, and returns its key.
func expiredKey(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	target, err := dbopen.Parse(db)
	require.NoError(t, err)
	store, sqldb, err := dbopen.OpenStore(ctx, target)
	require.NoError(t, err)
	defer sqldb.Close()
	salt, _, err := saltfile.Load(ctx, store, target.SidecarPath("salt"), getenv, nil)
	require.NoError(t, err)
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt, Clock: apitokentest.NewClockAt(time.Now().Add(-8 * 24 * time.Hour))})
	require.NoError(t, err)
	defer svc.Close(ctx)
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "expired", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	return key
}

func TestHexKeys(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "strapi style", "--hex-keys", "--quiet"))
	require.Regexp(t, `^[0-9a-f]{256}$`, key, "--hex-keys made %q", key)
	r := run(t, key, "-db", db, "verify", "--key", "-")
	assert.Equal(t, 0, r.code, "a hex key made by the CLI does not verify: %s", r.stderr)
}

func TestSaltStatus(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "a")
	runOK(t, "-db", db, "create", "--name", "b")
	var n saltStatus
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "salt-status", "--json")), &n))
	assert.Equal(t, saltStatus{Salt: saltID(t, db+".salt"), Current: 2}, n)
}

func TestImportStrapiRefuses(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"import-strapi"}, "--from is required"},
		{[]string{"import-strapi", "--from", filepath.Join(t.TempDir(), "none.db")}, "no Strapi database at"},
		{[]string{"import-strapi", "--from", "x.db", "--strapi", "v3"}, "--strapi: want v4 or v5"},
		{[]string{"import-strapi", "--from", "ftp://host/db"}, "--from"},
		{[]string{"import-strapi", "--from", newDB(t) + "x"}, "no Strapi database at"},
	} {
		r := run(t, "", append([]string{"-db", db}, tt.args...)...)
		assert.NotZero(t, r.code, "%v: exit code; stderr %q", tt.args, r.stderr)
		assert.Contains(t, r.stderr, tt.stderr, "%v", tt.args)
	}
}

func TestRefusedInput(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "taken")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "usage:"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"list", "--all"}, 2, "flag provided but not defined"},
		{"unknown global flag", []string{"--verbose", "list"}, 2, "flag provided but not defined"},
		{"no name", []string{"create"}, 2, "--name is required"},
		{"blank name", []string{"create", "--name", "   "}, 2, "--name is required"},
		{"name taken", []string{"create", "--name", "taken"}, 1, "Name already taken"},
		{"long name", []string{"create", "--name", strings.Repeat("n", 10000)}, 1, "at most 100 characters"},
		{"escape in name", []string{"create", "--name", "evil\x1b[2J"}, 1, "control characters"},
		{"invalid UTF-8", []string{"create", "--name", "a\xffb"}, 1, "valid UTF-8"},
		{"long description", []string{"create", "--name", "d", "--description", strings.Repeat("d", 5000)}, 1, "at most 1000"},
		{"bad type", []string{"create", "--name", "x", "--type", "admin"}, 2, "--type: want read-only, full-access or custom"},
		{"bad duration", []string{"create", "--name", "x", "--duration", "1y"}, 2, "--duration"},
		{"huge duration", []string{"create", "--name", "x", "--duration", "99999999999d"}, 2, "--duration"},
		{"disallowed duration", []string{"create", "--name", "x", "--duration", "1d"}, 2, "--duration: want 7d, 30d, 90d or unlimited"},
		{"permission on read-only", []string{"create", "--name", "x", "--permission", "api::a.a.find"}, 1, "Non-custom tokens"},
		{"custom without permissions", []string{"create", "--name", "x", "--type", "custom"}, 1, "Missing permissions"},
		{"malformed permission", []string{"create", "--name", "x", "--type", "custom", "--permission", "'; DROP TABLE x; --"}, 1, "Unknown permissions"},
		{"extra argument", []string{"list", "extra"}, 2, `unexpected argument "extra"`},
		{"missing id", []string{"show"}, 2, "want one ID or NAME"},
		{"two ids", []string{"delete", "a", "b"}, 2, "want one ID or NAME"},
		{"nothing to update", []string{"update", "taken"}, 2, "nothing to change"},
		{"update unknown", []string{"update", "nosuch", "--name", "y"}, 1, `no token has the id or name "nosuch"`},
		{"escape in id", []string{"show", "\x1b]0;pwned\x07"}, 1, "\uFFFD]0;pwned\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"-db", db}, tt.args...)...)
			if tt.name == "no command" {
				r = run(t, "")
			}
			assert.Equal(t, tt.code, r.code, "exit code; stderr %q", truncate(r.stderr, 300))
			assert.Contains(t, r.stderr, tt.stderr)
			assert.False(t, strings.ContainsAny(r.stderr, "\x1b\x07"), "stderr holds terminal control characters: %q", r.stderr)
			assert.LessOrEqual(t, len(r.stderr), 4096, "stderr bytes: the usage at most, no echo of oversized input")
		})
	}
	var list []apitoken.Token
	json.Unmarshal([]byte(runOK(t, "-db", db, "list", "--json")), &list)
	assert.Len(t, list, 1, "refused commands left tokens")
}

func TestDescriptionIsSanitizedOnOutput(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "d", "--description", "line\x1b[31mred\u202eevil")
	out := runOK(t, "-db", db, "show", "d")
	assert.False(t, strings.ContainsAny(out, "\x1b\u202e"), "show printed %q", out)
	assert.Contains(t, out, "line\uFFFD[31mred\uFFFDevil", "show printed")
}

func TestHelp(t *testing.T) {
	t.Parallel()
	assert.Contains(t, runOK(t, "-h"), "verify --key - < key.txt", "-h")
	assert.Contains(t, runOK(t, "create", "-h"), "-permission", "create -h")
	for _, flag := range []string{"-kind", "-owner ", "-owner-permissions"} {
		assert.Contains(t, runOK(t, "create", "-h"), flag, "create -h")
	}
	assert.Contains(t, runOK(t, "update", "-h"), "-owner-permissions", "update -h")
	assert.Contains(t, runOK(t, "list", "-h"), "-kind", "list -h")
	assert.Contains(t, runOK(t, "-h"), "every permission of\nthe admin API", "-h says the default ceiling")
}

func TestDatabaseAndSalt(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	// Commands other than create refuse a missing SQLite file.
	r := run(t, "", "-db", db, "list")
	assert.Equal(t, 1, r.code, "list of a missing database = %+v", r)
	assert.Contains(t, r.stderr, "no database at", "list of a missing database")
	_, err := os.Stat(db)
	assert.Error(t, err, "list created the database")
	r = run(t, "", "-db", "redis://localhost/0", "list")
	assert.Equal(t, 1, r.code, "redis URL = %+v", r)
	assert.Contains(t, r.stderr, "unknown database scheme", "redis URL")

	// APITOKEN_DB gives the database; -salt-file where the salt goes.
	env["APITOKEN_DB"] = db
	t.Cleanup(func() { delete(env, "APITOKEN_DB") })
	salt := filepath.Join(dir, "elsewhere.salt")
	key := strings.TrimSpace(runOK(t, "-salt-file", salt, "create", "--name", "s", "--quiet"))
	_, err = os.Stat(salt)
	require.NoError(t, err, "no salt at -salt-file")
	r = run(t, key, "verify", "-salt-file", salt, "--key", "-")
	assert.Equal(t, 0, r.code, "verify with the same salt file = %+v", r)
	// Another salt does not verify the key: a salt file is never silently
	// made up for a database that has tokens under another one.
	r = run(t, key, "verify", "--key", "-")
	assert.Equal(t, 1, r.code, "verify with a different salt = %+v", r)
	// API_TOKEN_SALT wins over any file.
	env["APITOKEN_DB"] = filepath.Join(dir, "b.db")
	env["API_TOKEN_SALT"] = "an-environment-salt-value"
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	k2 := strings.TrimSpace(runOK(t, "-salt-file", salt, "create", "--name", "e", "--quiet"))
	r = run(t, k2, "verify", "-salt-file", filepath.Join(dir, "unused.salt"), "--key", "-")
	assert.Equal(t, 0, r.code, "verify with the environment salt = %+v", r)
	_, err = os.Stat(filepath.Join(dir, "unused.salt"))
	assert.Error(t, err, "a salt file was made although API_TOKEN_SALT is set")
}

func TestHelpersWriteNothingToStdoutOnError(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := Run(context.Background(), []string{"-db", newDB(t), "create", "--name", ""}, strings.NewReader(""), &out, io.Discard)
	assert.NotZero(t, code, "exit code")
	assert.Empty(t, out.String(), "stdout")
}

// TestVerifyJSONHidesAction: verify --json writes its reason to standard
// output, which is not filtered; a key given as --action is hidden there too.
func TestVerifyJSONHidesAction(t *testing.T) {
	env["API_TOKEN_SALT"] = "cli-verify-json-salt-0123456789"
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	db := newDB(t)
	k1 := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "a", "--quiet"))
	k2 := strings.TrimSpace(runOK(t, "-db", db, "create", "--name", "b", "--quiet"))
	r := run(t, k1, "-db", db, "verify", "--key", "-", "--json", "--action", "api::a.a."+k2)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "[hidden]")
	assert.NotContains(t, r.stdout, k2[9:])
}

// TestMistypedTypeAndDuration: a --type or --duration that is not one of
// the choices is a usage mistake (exit 2) naming them in the CLI's units.
func TestMistypedTypeAndDuration(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "kept")
	for _, args := range [][]string{
		{"create", "--name", "a", "--type", "readonly"},
		{"create", "--name", "a", "--type", "Read-Only"},
		{"update", "kept", "--type", "fullaccess"},
		{"create", "--name", "a", "--duration", "14d"},
		{"update", "kept", "--duration", "1d"},
		{"update", "kept", "--duration", "365d", "--type", "read-only"},
	} {
		r := run(t, "", append([]string{"-db", db}, args...)...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
		assert.Regexp(t, `want (7d, 30d, 90d or unlimited|read-only, full-access or custom)`, r.stderr, args)
		assert.NotContains(t, r.stderr, "604800000")
	}
}
