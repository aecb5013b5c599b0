package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestLeakRoutes: with -github-keys, a signed GitHub report deletes the
// token of its key; the public revoke route deletes another's; without
// the flag the GitHub route is not there.
func TestLeakRoutes(t *testing.T) {
	t.Setenv("APITOKEN_DB", "")
	dir := t.TempDir()
	keyFile, priv := githubKeySet(t, dir)

	env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword, "API_TOKEN_SALT": "leak-routes-salt-0123456789"}
	s := startServer(t, filepath.Join(dir, "leak.db"), env, func(c *config) { c.githubKeys = keyFile })
	_, reported := s.createToken(t, `{"name":"reported","type":"read-only","lifespan":null}`)
	_, found := s.createToken(t, `{"name":"found","type":"read-only","lifespan":null}`)
	require.Equal(t, http.StatusOK, s.do(t, "GET", "/api/articles", "", bearer(reported)).status)

	body := `[{"token":"` + reported + `","type":"apitoken","url":"https://github.com/o/r/blob/main/.env","source":"content"}]`
	r := s.do(t, "POST", "/secret-scanning/github", body, githubKeyID, githubSignature(t, priv, body))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"label":"true_positive"`)
	assert.Equal(t, http.StatusUnauthorized, s.do(t, "GET", "/api/articles", "", bearer(reported)).status)
	r = s.do(t, "POST", "/secret-scanning/github", body, githubKeyID, "Github-Public-Key-Signature: bad")
	assert.Equal(t, http.StatusUnauthorized, r.status)

	r = s.do(t, "POST", "/api/revoke-leaked-key", `{"key":"`+found+`"}`)
	require.Equal(t, http.StatusAccepted, r.status, r.body)
	s.stop() // waits for the revocation
	assert.Contains(t, s.logs.String(), "apitoken: leaked")
	assert.NotContains(t, s.logs.String(), reported)
	assert.NotContains(t, s.logs.String(), found)

	s = startServer(t, filepath.Join(dir, "leak.db"), env)
	assert.Equal(t, http.StatusUnauthorized, s.do(t, "GET", "/api/articles", "", bearer(found)).status, "revoked by the public route")
	assert.Equal(t, http.StatusNotFound, s.do(t, "POST", "/secret-scanning/github", body).status, "off without a key file")
}

// githubKeyID is the header naming the one key of githubKeySet.
const githubKeyID = "Github-Public-Key-Identifier: test-key"

// githubKeySet writes to dir a GitHub secret scanning key set holding one
// new key, "test-key", and returns the file and the key.
func githubKeySet(t *testing.T, dir string) (file string, priv *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	keys, err := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": "test-key", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true,
	}}})
	require.NoError(t, err)
	file = filepath.Join(dir, "github-keys.json")
	require.NoError(t, os.WriteFile(file, keys, 0o600))
	return file, priv
}

// githubSignature returns the Github-Public-Key-Signature header that
// GitHub sends with body when it signs with priv.
func githubSignature(t *testing.T, priv *ecdsa.PrivateKey, body string) string {
	t.Helper()
	digest := sha256.Sum256([]byte(body))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	require.NoError(t, err)
	return "Github-Public-Key-Signature: " + base64.StdEncoding.EncodeToString(sig)
}

// TestGitHubKeysFlag: -github-keys, else its environment variable, names
// the key file; a missing or bad file stops the server at start.
func TestGitHubKeysFlag(t *testing.T) {
	env := map[string]string{githubKeysEnv: "/from/env.json"}
	cfg, _, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "/from/env.json", cfg.githubKeys)
	cfg, _, err = parseFlags([]string{"-github-keys", "/from/flag.json"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "/from/flag.json", cfg.githubKeys)

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"public_keys":[{"key_identifier":"k","key":"nope"}]}`), 0o600))
	huge := filepath.Join(dir, "huge.json")
	require.NoError(t, os.WriteFile(huge, make([]byte, maxKeyFile+1), 0o600))
	for file, want := range map[string]string{filepath.Join(dir, "missing.json"): "no such file", bad: "PEM", huge: "larger than"} {
		a := &app{svc: apitokentest.New(t, apitoken.Config{}), log: slog.New(slog.DiscardHandler)}
		err := a.leakRoutes(config{githubKeys: file})
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
	}
}
