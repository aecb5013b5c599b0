package leak_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/leak"
	"github.com/go-apitoken/apitoken/memstore"
)

type answer struct {
	TokenHash string `json:"token_hash"`
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

func hashOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// githubServer serves NewGitHub of cfg for f's Service, signed by s.
func githubServer(t *testing.T, f *fixture, cfg leak.GitHubConfig, s ...signer) *httptest.Server {
	t.Helper()
	cfg.Service = f.svc
	cfg.KeysJSON = keySet(t, s...)
	cfg.Logger = f.logs.logger()
	h, err := leak.NewGitHub(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func signed(t *testing.T, s signer, body []byte) map[string][]string {
	return map[string][]string{leak.KeyIdentifierHeader: {s.id}, leak.SignatureHeader: {s.sign(t, body)}}
}

// TestGitHubRevokes: a signed report of two keys issued here (one
// reported twice, one expired), a key of another service and a made-up
// key of ours: the tokens are deleted, each match labelled in order by its
// SHA-256, each revocation audited with where it was found, and no key in
// the log or the answer.
func TestGitHubRevokes(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	gh := newSigner(t, "current")
	srv := githubServer(t, f, leak.GitHubConfig{}, gh, newSigner(t, "older"))
	idA, keyA := f.mint(t, "a")
	tok, keyB, err := f.svc.Create(context.Background(), apitoken.CreateParams{Name: "b", Lifespan: apitoken.Duration(7 * 24 * time.Hour)})
	require.NoError(t, err)
	_, keep := f.mint(t, "kept")
	f.clock.Add(8 * 24 * time.Hour) // b has expired: revoked all the same

	other := "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	madeUp := keyA[:len(keyA)-10] + "0123456789"
	body := report(t, keyA, other, keyB, madeUp, keyA)
	status, hdr, got := post(t, srv.URL, body, signed(t, gh, body))
	require.Equal(t, http.StatusOK, status, got)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	var ans []answer
	require.NoError(t, json.Unmarshal([]byte(got), &ans))
	want := []answer{
		{TokenHash: hashOf(keyA), TokenType: "apitoken_key", Label: "true_positive"},
		{TokenHash: hashOf(other), TokenType: "apitoken_key", Label: "false_positive"},
		{TokenHash: hashOf(keyB), TokenType: "apitoken_key", Label: "true_positive"},
		{TokenHash: hashOf(madeUp), TokenType: "apitoken_key", Label: "false_positive"},
		{TokenHash: hashOf(keyA), TokenType: "apitoken_key", Label: "true_positive"},
	}
	assert.Equal(t, want, ans)
	for _, k := range []string{keyA, keyB, madeUp, other} {
		assert.NotContains(t, got, k, "keys are named by their hash")
	}

	_, err = f.svc.Get(context.Background(), idA)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	_, err = f.svc.Get(context.Background(), tok.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	assert.True(t, alive(t, f.svc, keep), "an unreported key lives")

	leaked := f.events.leaked()
	require.Len(t, leaked, 2, "keyA, reported twice, is revoked once")
	assert.Equal(t, idA, leaked[0].TokenID)
	assert.Equal(t, "GitHub secret scanning: commit https://github.com/o/r/blob/main/fa", leaked[0].Where)
	assert.Equal(t, "127.0.0.1", leaked[0].Client)
	assert.Equal(t, tok.ID, leaked[1].TokenID)
	assert.Contains(t, f.logs.String(), "leak: GitHub secret scanning report")
	assert.Contains(t, f.logs.String(), "revoked=2")
	f.noKeys(t, keyA, keyB, madeUp)
}

// TestGitHubDisableRaw: Disable disables instead of deleting; RawToken
// answers token_raw, as GitHub's format also allows.
func TestGitHubDisableRaw(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	gh := newSigner(t, "k")
	srv := githubServer(t, f, leak.GitHubConfig{Disable: true, RawToken: true}, gh)
	id, key := f.mint(t, "a")
	body := report(t, key)
	status, _, got := post(t, srv.URL, body, signed(t, gh, body))
	require.Equal(t, http.StatusOK, status, got)
	var ans []answer
	require.NoError(t, json.Unmarshal([]byte(got), &ans))
	assert.Equal(t, []answer{{TokenRaw: key, TokenType: "apitoken_key", Label: "true_positive"}}, ans)
	assert.NotContains(t, got, "token_hash")

	tok, err := f.svc.Get(context.Background(), id)
	require.NoError(t, err)
	assert.True(t, tok.Disabled)
	_, err = f.svc.Verify(context.Background(), key)
	assert.ErrorIs(t, err, apitoken.ErrDisabled)

	// Reported again: still a true positive, not written again.
	status, _, got = post(t, srv.URL, body, signed(t, gh, body))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, got, `"label":"true_positive"`)
	f.noKeys(t, key)
}

// TestGitHubResentDeleted: in delete mode, a report sent again labels the
// key whose token the first one deleted true_positive still; a handler
// that did not delete it (another instance) cannot tell.
func TestGitHubResentDeleted(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	gh := newSigner(t, "k")
	srv := githubServer(t, f, leak.GitHubConfig{}, gh)
	_, key := f.mint(t, "a")
	body := report(t, key)
	for range 2 {
		status, _, got := post(t, srv.URL, body, signed(t, gh, body))
		require.Equal(t, http.StatusOK, status, got)
		assert.Contains(t, got, `"label":"true_positive"`)
	}
	other := githubServer(t, f, leak.GitHubConfig{}, gh)
	status, _, got := post(t, other.URL, body, signed(t, gh, body))
	require.Equal(t, http.StatusOK, status, got)
	assert.Contains(t, got, `"label":"false_positive"`, "another handler never saw the token")
	f.noKeys(t, key)
}

// TestGitHubRefuses: reports that are unsigned, signed by an unknown or
// other key, signed over another body, with a malformed signature, too
// large or not a report are refused, and revoke nothing.
func TestGitHubRefuses(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	gh, stranger := newSigner(t, "k"), newSigner(t, "stranger")
	srv := githubServer(t, f, leak.GitHubConfig{MaxBody: 4 << 10}, gh)
	_, key := f.mint(t, "a")
	body := report(t, key)
	other := report(t, key, key)
	notDER := base64.StdEncoding.EncodeToString([]byte("not a DER signature at all"))
	signedBy := func(b []byte) map[string][]string { return signed(t, gh, b) }
	huge := report(t, append([]string{key}, strings.Split(strings.Repeat("x,", 100), ",")[:100]...)...)
	for _, c := range []struct {
		name    string
		body    []byte
		headers map[string][]string
		status  int
	}{
		{"unsigned", body, nil, 401},
		{"no signature", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}}, 401},
		{"no identifier", body, map[string][]string{leak.SignatureHeader: {gh.sign(t, body)}}, 401},
		{"two identifiers", body, map[string][]string{leak.KeyIdentifierHeader: {"k", "k"}, leak.SignatureHeader: {gh.sign(t, body)}}, 401},
		{"two signatures", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {gh.sign(t, body), gh.sign(t, body)}}, 401},
		{"unknown identifier", body, map[string][]string{leak.KeyIdentifierHeader: {"stranger"}, leak.SignatureHeader: {stranger.sign(t, body)}}, 401},
		{"signed by another key", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {stranger.sign(t, body)}}, 401},
		{"signature of another body", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {gh.sign(t, other)}}, 401},
		{"body with a trailing newline", append(append([]byte{}, body...), '\n'), signedBy(body), 401},
		{"not base64", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {"%%%not base64%%%"}}, 401},
		{"base64 of no DER", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {notDER}}, 401},
		{"empty signature", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {""}}, 401},
		{"overlong signature", body, map[string][]string{leak.KeyIdentifierHeader: {"k"}, leak.SignatureHeader: {strings.Repeat("A", 10_000)}}, 401},
		{"too large", huge, signedBy(huge), 413},
		{"signed garbage", []byte("garbage"), signedBy([]byte("garbage")), 400},
		{"signed null", []byte("null"), signedBy([]byte("null")), 400},
		{"signed object", []byte(`{"token":"x"}`), signedBy([]byte(`{"token":"x"}`)), 400},
		{"signed array of strings", []byte(`["` + key + `"]`), signedBy([]byte(`["` + key + `"]`)), 400},
		{"match without token", []byte(`[{"type":"t"}]`), signedBy([]byte(`[{"type":"t"}]`)), 400},
		{"token not a string", []byte(`[{"token":1}]`), signedBy([]byte(`[{"token":1}]`)), 400},
		{"trailing data", append(append([]byte{}, body...), []byte("[]")...), signedBy(append(append([]byte{}, body...), []byte("[]")...)), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, got := post(t, srv.URL, c.body, c.headers)
			assert.Equal(t, c.status, status, got)
			assert.NotContains(t, got, key)
			assert.True(t, alive(t, f.svc, key), "nothing revoked")
		})
	}
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Empty(t, f.events.leaked())
	assert.Contains(t, f.logs.String(), "leak: GitHub report refused")
	f.noKeys(t, key)
}

// TestGitHubEmptyReport: a signed empty list is answered with an empty
// list.
func TestGitHubEmptyReport(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	gh := newSigner(t, "k")
	srv := githubServer(t, f, leak.GitHubConfig{}, gh)
	body := []byte(" [ ] ")
	status, _, got := post(t, srv.URL, body, signed(t, gh, body))
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[]`, got)
}

// TestGitHubStoreDown: when the store fails the report is answered with
// 503, so that GitHub sends it again, and the key verifies once the store
// is back only until the report is sent again.
func TestGitHubStoreDown(t *testing.T) {
	store := &outage{Store: memstore.New()}
	f := newFixture(t, apitoken.Config{Store: store, KeyMemo: -1})
	gh := newSigner(t, "k")
	srv := githubServer(t, f, leak.GitHubConfig{}, gh)
	_, key := f.mint(t, "a")
	body := report(t, key)
	store.down.Store(true)
	status, _, _ := post(t, srv.URL, body, signed(t, gh, body))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, f.logs.String(), "GitHub will send it again")
	store.down.Store(false)
	assert.True(t, alive(t, f.svc, key))
	status, _, got := post(t, srv.URL, body, signed(t, gh, body))
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, got, "true_positive")
	assert.False(t, alive(t, f.svc, key))
	f.noKeys(t, key)
}

// TestGitHubDocsSample: the signed sample of GitHub's partner program
// documentation, made with GitHub's published test key, verifies; its
// token was never issued here.
func TestGitHubDocsSample(t *testing.T) {
	const (
		id   = "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d"
		sig  = "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY="
		body = `[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]`
		pub  = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\nHzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\n-----END PUBLIC KEY-----\n"
	)
	keys, err := json.Marshal(map[string]any{"public_keys": []map[string]any{{"key_identifier": id, "key": pub, "is_current": true}}})
	require.NoError(t, err)
	f := newFixture(t, apitoken.Config{})
	h, err := leak.NewGitHub(leak.GitHubConfig{Service: f.svc, KeysJSON: keys, RawToken: true, Logger: discard()})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	status, _, got := post(t, srv.URL, []byte(body), map[string][]string{"GITHUB-PUBLIC-KEY-IDENTIFIER": {id}, "GITHUB-PUBLIC-KEY-SIGNATURE": {sig}})
	require.Equal(t, http.StatusOK, status, got)
	assert.JSONEq(t, `[{"token_raw":"some_token","token_type":"some_type","label":"false_positive"}]`, got)
}

// TestGitHubEveryInstanceRefuses: two instances, each a Service on a cache
// of one shared store with a change feed. Once the handler of one has
// answered a report, the other refuses the key as soon as the feed has
// delivered the change: Sync, bounded by the 1 s target, returns and the
// key is refused, though the other instance had it cached.
func TestGitHubEveryInstanceRefuses(t *testing.T) {
	for _, disable := range []bool{false, true} {
		name := map[bool]string{false: "delete", true: "disable"}[disable]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := memstore.New()
			instance := func() *apitoken.Service {
				c := cache.New(db, cache.Options{Logger: discard()})
				t.Cleanup(func() { c.Close() })
				require.Eventually(t, func() bool { return c.FeedStats().Running }, 5*time.Second, time.Millisecond)
				return apitokentest.New(t, apitoken.Config{Store: c, KeyFormat: apitoken.PrefixedKeys})
			}
			a, b := instance(), instance()
			_, key, err := a.Create(ctx, apitoken.CreateParams{Name: "ci"})
			require.NoError(t, err)
			require.NoError(t, db.Sync(ctx))
			_, err = b.Verify(ctx, key)
			require.NoError(t, err, "B knows the key, and caches it")
			_, err = b.Verify(ctx, key)
			require.NoError(t, err)

			gh := newSigner(t, "k")
			h, err := leak.NewGitHub(leak.GitHubConfig{Service: a, KeysJSON: keySet(t, gh), Disable: disable, Logger: discard()})
			require.NoError(t, err)
			srv := httptest.NewServer(h)
			defer srv.Close()
			body := report(t, key)
			status, _, _ := post(t, srv.URL, body, signed(t, gh, body))
			require.Equal(t, http.StatusOK, status)

			within, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			require.NoError(t, db.Sync(within), "the feed delivers the change within 1 s")
			_, err = b.Verify(ctx, key)
			if disable {
				assert.ErrorIs(t, err, apitoken.ErrDisabled)
			} else {
				assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
			}
			_, err = a.Verify(ctx, key)
			assert.Error(t, err)
		})
	}
}
