package leak_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/leak"
)

// TestMatchHidesToken: String, %v, %+v, %#v and slog leave the key out.
func TestMatchHidesToken(t *testing.T) {
	m := leak.Match{Token: "apitoken_SECRETSECRET", Type: "t", URL: "https://x", Source: "commit"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "match", m)
	for _, s := range []string{m.String(), fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprint([]leak.Match{m}), logs.String()} {
		assert.NotContains(t, s, "SECRET")
		assert.Contains(t, s, "https://x")
	}
}

// TestParseGitHubKeys: GitHub's document parses; anything else is refused
// with a reason.
func TestParseGitHubKeys(t *testing.T) {
	a, b := newSigner(t, "a"), newSigner(t, "b")
	keys, err := leak.ParseGitHubKeys(keySet(t, a, b))
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, "a", keys[0].ID)
	assert.True(t, keys[0].Current)
	assert.False(t, keys[1].Current)
	assert.True(t, keys[1].Key.Equal(&b.priv.PublicKey))

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	p384PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	good := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustDER(t, a)}))
	doc := func(keys ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"public_keys": keys})
		require.NoError(t, err)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("nope"), "not GitHub's JSON"},
		{"no keys", []byte(`{"public_keys":[]}`), "no keys"},
		{"other document", []byte(`{"keys":[1]}`), "no keys"},
		{"not PEM", doc(map[string]any{"key_identifier": "a", "key": "MFkw"}), "PEM"},
		{"two blocks", doc(map[string]any{"key_identifier": "a", "key": good + good}), "more than one"},
		{"P-384", doc(map[string]any{"key_identifier": "a", "key": p384PEM}), "P-256"},
		{"no identifier", doc(map[string]any{"key_identifier": "", "key": good}), "identifier"},
		{"repeated identifier", doc(map[string]any{"key_identifier": "a", "key": good}, map[string]any{"key_identifier": "a", "key": good}), "twice"},
		{"huge", bytes.Repeat([]byte(" "), 2<<20), "bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := leak.ParseGitHubKeys(c.data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "leak: "))
		})
	}
	_, err = leak.NewGitHub(leak.GitHubConfig{Service: newFixture(t, apitoken.Config{}).svc})
	assert.ErrorContains(t, err, "Keys or KeysJSON")
}

func mustDER(t *testing.T, s signer) []byte {
	der, err := x509.MarshalPKIXPublicKey(&s.priv.PublicKey)
	require.NoError(t, err)
	return der
}

// FuzzParseReport: the parser never panics; what it accepts has a token in
// every match and survives a round trip; its errors never quote a token.
func FuzzParseReport(f *testing.F) {
	for _, s := range []string{
		`[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]`,
		`[]`, ` [ ] `, `null`, `{}`, `[{}]`, `[{"token":1}]`, `[1]`, `[{"token":"a"}]x`,
		`[{"token":"a","extra":{"nested":[1,2]}}]`, `[{"token":"\u0000\ud800"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := leak.ParseReport(body)
		if err != nil {
			require.Nil(t, ms)
			require.True(t, strings.HasPrefix(err.Error(), "leak: "))
			return
		}
		for _, m := range ms {
			require.NotEmpty(t, m.Token)
		}
		again, err := json.Marshal(ms)
		require.NoError(t, err)
		ms2, err := leak.ParseReport(again)
		require.NoError(t, err)
		require.Equal(t, ms, ms2)
	})
}
