package leak_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// logBuffer is a slog destination safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// recorder collects audit events.
type recorder struct {
	mu     sync.Mutex
	events []apitoken.Event
}

func (r *recorder) record(_ context.Context, e apitoken.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// leaked returns the EventLeaked events.
func (r *recorder) leaked() []apitoken.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []apitoken.Event
	for _, e := range r.events {
		if e.Kind == apitoken.EventLeaked {
			out = append(out, e)
		}
	}
	return out
}

// fixture is a Service issuing prefixed keys, with its log and events.
type fixture struct {
	svc    *apitoken.Service
	clock  *apitokentest.Clock
	logs   *logBuffer
	events *recorder
}

func newFixture(t *testing.T, cfg apitoken.Config) *fixture {
	t.Helper()
	f := &fixture{clock: apitokentest.NewClock(), logs: &logBuffer{}, events: &recorder{}}
	cfg.Clock = f.clock
	cfg.KeyFormat = apitoken.PrefixedKeys
	cfg.Logger = f.logs.logger()
	cfg.OnEvent = f.events.record
	cfg.ExpiryWarning = -1
	f.svc = apitokentest.New(t, cfg)
	return f
}

// mint creates a token and returns its id and key.
func (f *fixture) mint(t *testing.T, name string) (string, string) {
	t.Helper()
	tok, key, err := f.svc.Create(context.Background(), apitoken.CreateParams{Name: name})
	require.NoError(t, err)
	return tok.ID, key
}

// noKeys asserts that none of keys, nor their first 20 characters after
// the prefix, appear in the log.
func (f *fixture) noKeys(t *testing.T, keys ...string) {
	t.Helper()
	logs := f.logs.String()
	for _, k := range keys {
		require.NotContains(t, logs, k)
		require.NotContains(t, logs, k[len("apitoken_"):len("apitoken_")+20])
	}
}

// signer is a GitHub signing key.
type signer struct {
	id   string
	priv *ecdsa.PrivateKey
}

func newSigner(t testing.TB, id string) signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return signer{id, priv}
}

// keySet returns GitHub's key set document of signers.
func keySet(t testing.TB, signers ...signer) []byte {
	t.Helper()
	type key struct {
		ID      string `json:"key_identifier"`
		Key     string `json:"key"`
		Current bool   `json:"is_current"`
	}
	var doc struct {
		Keys []key `json:"public_keys"`
	}
	for i, s := range signers {
		der, err := x509.MarshalPKIXPublicKey(&s.priv.PublicKey)
		require.NoError(t, err)
		doc.Keys = append(doc.Keys, key{s.id, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), i == 0})
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

// sign returns the signature header of body.
func (s signer) sign(t testing.TB, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, digest[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// report returns a report body of keys, each found in a commit at a URL.
func report(t testing.TB, keys ...string) []byte {
	t.Helper()
	var ms []map[string]string
	for i, k := range keys {
		ms = append(ms, map[string]string{"token": k, "type": "apitoken_key", "url": "https://github.com/o/r/blob/main/f" + string(rune('a'+i%26)), "source": "commit"})
	}
	b, err := json.Marshal(ms)
	require.NoError(t, err)
	return b
}

// post sends body to url with headers, and returns the status, headers and
// body of the answer.
func post(t testing.TB, url string, body []byte, headers map[string][]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// outage is a memstore whose lookups fail while down is set.
type outage struct {
	*memstore.Store
	down atomic.Bool
}

func (s *outage) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.GetByHash(ctx, h)
}

// alive reports whether key still verifies.
func alive(t testing.TB, svc *apitoken.Service, key string) bool {
	t.Helper()
	_, err := svc.Verify(context.Background(), key)
	if err != nil && !errors.Is(err, apitoken.ErrInvalidKey) && !errors.Is(err, apitoken.ErrDisabled) {
		t.Fatalf("verify: %v", err)
	}
	return err == nil
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
