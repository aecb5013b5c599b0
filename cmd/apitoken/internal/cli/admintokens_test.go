package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
	"github.com/go-apitoken/apitoken/strapistore"
)

// TestAdminTokens: create --kind admin makes an admin token for --owner,
// within --owner-permissions (by default every admin permission); list,
// show and their JSON carry kind and owner, list --kind picks a kind;
// update keeps to the ceiling and cannot change kind or owner; regenerate
// works. A server over the same database accepts the key on admin routes
// only, with the permissions its owner really holds there. On every engine
// the CLI tests use.
//
// It needs a store that keeps kinds: sqlstore's migration 0008.
func TestAdminTokens(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			db := destination(t, d)
			salt := filepath.Join(t.TempDir(), "salt")
			cli := func(stdin string, args ...string) result {
				t.Helper()
				return run(t, stdin, append([]string{"-db", db, "-salt-file", salt}, args...)...)
			}
			ok := func(args ...string) string {
				t.Helper()
				r := cli("", args...)
				require.Equal(t, 0, r.code, "apitoken %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
				return r.stdout
			}

			var ops tokenWithKey
			require.NoError(t, json.Unmarshal([]byte(ok("create", "--name", "ops", "--kind", "admin", "--owner", "alice@example.com",
				"--permission", "admin::api-tokens.read", "--permission", "admin::api-tokens.delete", "--duration", "30d", "--json")), &ops))
			assert.Equal(t, apitoken.KindAdmin, ops.Kind)
			assert.Equal(t, "alice@example.com", ops.Owner)
			assert.Equal(t, apitoken.Custom, ops.Type, "an admin token is custom without --type")
			assert.Equal(t, []string{"admin::api-tokens.delete", "admin::api-tokens.read"}, ops.Permissions)
			require.Regexp(t, keyPattern, ops.AccessKey+"\n")

			out := ok("create", "--name", "uploads", "--kind", "admin", "--owner", "bob",
				"--owner-permissions", "admin::api-tokens.read, plugin::upload.read", "--owner-permissions", "admin::users.read",
				"--permission", "plugin::upload.read", "--permission", "admin::users.read")
			assert.Regexp(t, `\nkind:\s+admin\n`, out)
			assert.Regexp(t, `\nowner:\s+bob\n`, out)
			assert.Regexp(t, `\npermissions:\s+admin::users.read plugin::upload.read\n`, out)
			reader := strings.TrimSpace(ok("create", "--name", "reader", "--quiet"))

			out = ok("list")
			assert.Regexp(t, `\n\S+\s+ops\s+custom\s+admin\s+alice@example.com\s`, out)
			assert.Regexp(t, `\n\S+\s+reader\s+read-only\s+content-api\s+-\s`, out)
			names := func(args ...string) map[string]apitoken.Token {
				t.Helper()
				var list []apitoken.Token
				require.NoError(t, json.Unmarshal([]byte(ok(append([]string{"list", "--json"}, args...)...)), &list))
				m := map[string]apitoken.Token{}
				for _, tok := range list {
					m[tok.Name] = tok
				}
				return m
			}
			all := names()
			require.Len(t, all, 3)
			assert.Equal(t, apitoken.KindAdmin, all["ops"].Kind)
			assert.Equal(t, "alice@example.com", all["ops"].Owner)
			assert.Equal(t, apitoken.KindContentAPI, all["reader"].Kind)
			assert.Empty(t, all["reader"].Owner)
			assert.ElementsMatch(t, []string{"ops", "uploads"}, keys(names("--kind", "admin")))
			assert.ElementsMatch(t, []string{"reader"}, keys(names("--kind", "content-api")))

			var shown apitoken.Token
			require.NoError(t, json.Unmarshal([]byte(ok("show", "ops", "--json")), &shown))
			assert.Equal(t, apitoken.KindAdmin, shown.Kind)
			assert.Equal(t, "alice@example.com", shown.Owner)
			assert.Regexp(t, `\nowner:\s+alice@example.com\n`, ok("show", ops.ID))

			// The server's administrators: alice holds read and update, not
			// delete; bob is unknown there.
			srv := adminServer(t, db, salt, map[string][]string{"alice@example.com": {"admin::api-tokens.read", "admin::api-tokens.update"}})
			assert.Equal(t, http.StatusOK, srv.status(t, ops.AccessKey, "admin::api-tokens.read"))
			assert.Equal(t, http.StatusForbidden, srv.status(t, ops.AccessKey, "admin::api-tokens.delete"), "alice no longer holds delete")
			assert.Equal(t, http.StatusUnauthorized, srv.status(t, reader, "admin::api-tokens.read"), "a content-API key")

			// verify checks content-API keys: an admin key is refused, and
			// said to be one.
			r := cli(ops.AccessKey, "verify", "--key", "-")
			assert.Equal(t, 1, r.code, r.stderr)
			assert.Contains(t, r.stderr, "admin token's key")
			assert.Empty(t, leak(r.stderr+r.stdout, ops.AccessKey))

			var updated apitoken.Token
			require.NoError(t, json.Unmarshal([]byte(ok("update", "ops", "--permission", "admin::api-tokens.update",
				"--description", "on call", "--json")), &updated))
			assert.Equal(t, []string{"admin::api-tokens.update"}, updated.Permissions)
			assert.Equal(t, apitoken.KindAdmin, updated.Kind)
			for _, tt := range []struct {
				args   []string
				code   int
				stderr string
			}{
				{[]string{"--permission", "admin::api-tokens.delete", "--owner-permissions", "admin::api-tokens.read"}, 1, "beyond the owner's: admin::api-tokens.delete"},
				{[]string{"--permission", "admin::users.read"}, 1, "beyond the owner's: admin::users.read"},
				{[]string{"--type", "read-only"}, 1, "type must be custom"},
				{[]string{"--permission", "api::article.article.find"}, 2, "content-API action"},
				{[]string{"--description", "x", "--owner-permissions", "admin::x"}, 2, "--owner-permissions: \"admin::x\" is not an admin permission"},
				{[]string{"--owner", "mallory"}, 2, "flag provided but not defined: -owner"},
				{[]string{"--kind", "content-api"}, 2, "flag provided but not defined: -kind"},
			} {
				r := cli("", append([]string{"update", "ops"}, tt.args...)...)
				assert.Equal(t, tt.code, r.code, "update %v: %s", tt.args, r.stderr)
				assert.Contains(t, r.stderr, tt.stderr, "update %v", tt.args)
			}
			require.NoError(t, json.Unmarshal([]byte(ok("show", "ops", "--json")), &shown))
			assert.Equal(t, []string{"admin::api-tokens.update"}, shown.Permissions, "refused updates changed the token")
			assert.Equal(t, "on call", shown.Description, "refused updates changed the token")
			assert.Equal(t, apitoken.Custom, shown.Type, "refused updates changed the token")
			assert.Equal(t, apitoken.KindAdmin, shown.Kind, "refused updates changed the token")
			assert.Equal(t, "alice@example.com", shown.Owner, "refused updates changed the token")
			assert.Equal(t, http.StatusOK, srv.status(t, ops.AccessKey, "admin::api-tokens.update"))

			var regen tokenWithKey
			require.NoError(t, json.Unmarshal([]byte(ok("regenerate", "ops", "--json")), &regen))
			assert.Equal(t, apitoken.KindAdmin, regen.Kind)
			assert.Equal(t, "alice@example.com", regen.Owner)
			assert.Equal(t, http.StatusUnauthorized, srv.status(t, ops.AccessKey, "admin::api-tokens.update"), "the replaced key")
			assert.Equal(t, http.StatusOK, srv.status(t, regen.AccessKey, "admin::api-tokens.update"), "the new key")

			out = ok("delete", "ops")
			assert.Contains(t, out, `Deleted token "ops"`)
			assert.Equal(t, http.StatusUnauthorized, srv.status(t, regen.AccessKey, "admin::api-tokens.update"), "the deleted token's key")
		})
	}
}

func keys(m map[string]apitoken.Token) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	return names
}

// server is an admin server over a database the CLI writes.
type server struct{ *httptest.Server }

// adminServer serves, over the tokens of db, one admin route per
// permission (/admin/PERMISSION) through Service.RequireAdmin, where
// the administrators are those of holds, with the permissions it gives.
func adminServer(t *testing.T, db, saltPath string, holds map[string][]string) server {
	t.Helper()
	ctx := context.Background()
	target, err := dbopen.Parse(db)
	require.NoError(t, err)
	store, sqldb, err := dbopen.OpenStore(ctx, target)
	require.NoError(t, err)
	t.Cleanup(func() { sqldb.Close() })
	salt, _, err := saltfile.Load(ctx, store, saltPath, getenv, nil)
	require.NoError(t, err)
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt,
		OwnerPermissions: func(_ context.Context, owner string) ([]string, error) {
			perms, ok := holds[owner]
			if !ok {
				return nil, apitoken.ErrNotFound
			}
			return perms, nil
		}})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(ctx) })
	mux := http.NewServeMux()
	for _, p := range []string{"admin::api-tokens.read", "admin::api-tokens.update", "admin::api-tokens.delete"} {
		mux.Handle("/admin/"+p, svc.RequireAdmin(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	}
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return server{s}
}

// status returns the status of a request to the route of permission with
// key.
func (s server) status(t *testing.T, key, permission string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/admin/"+permission, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminTokenRefused: malformed, oversized and hostile kinds, owners and
// permissions are refused with a message that says what is wrong, show
// nothing of the input that a terminal would run, and store nothing.
// None of them reaches the store, so no kind needs to be kept.
func TestAdminTokenRefused(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	runOK(t, "-db", db, "create", "--name", "taken")
	admin := []string{"create", "--name", "x", "--kind", "admin", "--owner", "alice"}
	with := func(extra ...string) []string { return append(append([]string{}, admin...), extra...) }
	read := "admin::api-tokens.read"
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown kind", []string{"create", "--name", "x", "--kind", "root"}, 2, "--kind: want content-api or admin"},
		{"kind in capitals", []string{"create", "--name", "x", "--kind", "Admin"}, 2, "--kind: want content-api or admin"},
		{"empty kind is content-api", []string{"create", "--name", "x", "--kind", "", "--owner", "alice"}, 2, "--owner is for admin tokens"},
		{"owner on a content token", []string{"create", "--name", "x", "--owner", "alice"}, 2, "--owner is for admin tokens (--kind admin)"},
		{"owner on an explicit content token", []string{"create", "--name", "x", "--kind", "content-api", "--owner", "alice"}, 2, "--owner is for admin tokens"},
		{"owner permissions on a content token", []string{"create", "--name", "x", "--owner-permissions", read}, 2, "--owner-permissions is for admin tokens"},
		{"admin without owner", []string{"create", "--name", "x", "--kind", "admin", "--permission", read}, 2, "--owner is required for admin tokens"},
		{"owner with an escape", []string{"create", "--name", "x", "--kind", "admin", "--owner", "al\x1b[2Jice", "--permission", read}, 2, "--owner: no control or formatting characters"},
		{"owner with a newline", []string{"create", "--name", "x", "--kind", "admin", "--owner", "alice\nbob", "--permission", read}, 2, "no control or formatting"},
		{"owner with a bidi override", []string{"create", "--name", "x", "--kind", "admin", "--owner", "alice\u202egro.live", "--permission", read}, 2, "no control or formatting"},
		{"owner of 256 bytes", []string{"create", "--name", "x", "--kind", "admin", "--owner", strings.Repeat("o", 256), "--permission", read}, 2, "--owner: at most 255 bytes"},
		{"huge owner", []string{"create", "--name", "x", "--kind", "admin", "--owner", strings.Repeat("o-", 100000), "--permission", read}, 2, "--owner: at most 255 bytes"},
		{"owner not UTF-8", []string{"create", "--name", "x", "--kind", "admin", "--owner", "a\xffb", "--permission", read}, 2, "--owner: not valid UTF-8"},
		{"owner with spaces around", []string{"create", "--name", "x", "--kind", "admin", "--owner", " alice", "--permission", read}, 2, "--owner: no leading or trailing spaces"},
		{"blank owner", []string{"create", "--name", "x", "--kind", "admin", "--owner", "   ", "--permission", read}, 2, "--owner: no leading or trailing spaces"},
		{"beyond the owner's", with("--owner-permissions", read, "--permission", "admin::api-tokens.delete"), 1, "Permissions beyond the owner's: admin::api-tokens.delete"},
		{"beyond the default", with("--permission", "admin::users.read"), 1, "Permissions beyond the owner's: admin::users.read (the owner's, as this command knows them: --owner-permissions"},
		{"content action", with("--permission", "api::article.article.find"), 2, `--permission: "api::article.article.find" is a content-API action`},
		{"content action among admin ones", with("--permission", read, "--permission", "api::article.article.find"), 2, "is a content-API action"},
		{"content action in the ceiling", with("--owner-permissions", "api::article.article.find", "--permission", read), 2, `--owner-permissions: "api::article.article.find" is a content-API action`},
		{"one part", with("--permission", "admin::tokens"), 2, "is not an admin permission"},
		{"no scope", with("--permission", "api-tokens.read"), 2, "is not an admin permission"},
		{"SQL", with("--permission", "'; DROP TABLE apitoken_tokens; --"), 2, "is not an admin permission"},
		{"escape in a permission", with("--permission", "admin::a.\x1b[2J"), 2, "admin::a.\uFFFD[2J"},
		{"space in a permission", with("--owner-permissions", "admin::a b.c", "--permission", read), 2, "is not an admin permission"},
		{"huge permission", with("--permission", "admin::"+strings.Repeat("a.", 50000)), 2, "is longer than 200 bytes"},
		{"empty permission in a list", with("--owner-permissions", read+",,admin::api-tokens.delete", "--permission", read), 2, "--owner-permissions: an empty permission"},
		{"empty ceiling", with("--owner-permissions", "", "--permission", read), 2, "--owner-permissions: an empty permission"},
		{"too many owner permissions", with("--owner-permissions", strings.TrimSuffix(strings.Repeat(read+",", 1001), ","), "--permission", read), 2, "--owner-permissions: at most 1000 permissions"},
		{"admin token not custom", with("--type", "read-only", "--permission", read), 1, "type must be custom"},
		{"admin token without permissions", admin, 1, "Missing permissions"},
		{"admin permission on a content token", []string{"create", "--name", "x", "--type", "custom", "--permission", read}, 1, "Unknown permissions provided: admin::api-tokens.read"},
		{"list of an unknown kind", []string{"list", "--kind", "admins"}, 2, "--kind: want content-api or admin"},
		{"owner permissions on a content token's update", []string{"update", "taken", "--description", "d", "--owner-permissions", read}, 2, "--owner-permissions is for admin tokens; this is a content-API token"},
		{"kind on update", []string{"update", "taken", "--kind", "admin"}, 2, "flag provided but not defined: -kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"-db", db}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "exit code; stderr %q", truncate(r.stderr, 300))
			assert.Contains(t, r.stderr, tt.stderr)
			assert.False(t, strings.ContainsAny(r.stderr, "\x1b\u202e"), "stderr holds terminal control characters: %q", r.stderr)
			assert.LessOrEqual(t, len(r.stderr), 4096, "stderr bytes: no echo of oversized input")
			assert.Empty(t, r.stdout)
		})
	}
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "list", "--json")), &list))
	require.Len(t, list, 1, "refused commands left tokens")
	assert.Equal(t, "taken", list[0].Name)
	assert.Empty(t, list[0].Description, "a refused update changed the token")
}

// TestContentTokenKind: content-API tokens show as such, in text and JSON,
// whether or not the store keeps kinds; list --kind picks them.
func TestContentTokenKind(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var created tokenWithKey
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "create", "--name", "r", "--json")), &created))
	assert.Equal(t, apitoken.KindContentAPI, created.Kind)
	out := runOK(t, "-db", db, "show", "r")
	assert.Regexp(t, `\nkind:\s+content-api\n`, out)
	assert.Regexp(t, `\nowner:\s+-\n`, out)
	out = runOK(t, "-db", db, "show", "r", "--json")
	assert.Contains(t, out, `"kind": "content-api"`)
	assert.NotContains(t, out, `"owner"`)
	assert.Contains(t, runOK(t, "-db", db, "list"), " KIND ")
	assert.Contains(t, runOK(t, "-db", db, "list", "--kind", "admin"), "No tokens")
	assert.Equal(t, "[]\n", runOK(t, "-db", db, "list", "--kind", "admin", "--json"))
	var list []apitoken.Token
	require.NoError(t, json.Unmarshal([]byte(runOK(t, "-db", db, "list", "--kind", "content-api", "--json")), &list))
	require.Len(t, list, 1)
	assert.Equal(t, apitoken.KindContentAPI, list[0].Kind)
}

// TestKeptKindFailsClosed: on a store that does not keep kinds (strapistore
// writes every token it makes as a content-API token), an admin token the
// CLI makes is deleted, its key never shown, rather than left to open the
// content API. strapistore stands for sqlstore before its migration 0008.
func TestKeptKindFailsClosed(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newStrapi(t, d)
			store, err := strapistore.New(s.DB, strapistore.Options{Version: strapistore.V5, Dialect: d})
			require.NoError(t, err)
			c := &command{}
			svc, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt, OwnerPermissions: c.ownerPermissions,
				Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer svc.Close(ctx)
			tok, _, err := svc.Create(ctx, apitoken.CreateParams{Name: "ops", Kind: apitoken.KindAdmin, Owner: "alice",
				Permissions: []string{"admin::api-tokens.read"}})
			if err == nil {
				err = keptKind(ctx, svc, tok)
				require.Error(t, err)
				assert.Contains(t, message(err), "does not keep token kinds")
				assert.Contains(t, message(err), "its key never shown")
			}
			var n int
			require.NoError(t, s.QueryRow("SELECT COUNT(*) FROM strapi_api_tokens").Scan(&n))
			assert.Zero(t, n, "the admin token is left in the store (create: %v)", err)
		})
	}
}
