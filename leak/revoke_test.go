package leak_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/leak"
	"github.com/go-apitoken/apitoken/memstore"
)

// revokeServer serves NewRevoke of cfg for f's Service.
func revokeServer(t *testing.T, f *fixture, cfg leak.RevokeConfig) (*leak.Revoke, *httptest.Server) {
	t.Helper()
	cfg.Service = f.svc
	cfg.Logger = f.logs.logger()
	h, err := leak.NewRevoke(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// TestRevokeAnswersAlike: a key issued here, in text, JSON or as a bearer
// header value, and keys never issued here are answered alike; once the
// background work is done the reported tokens are gone, audited, and no
// key reached the log.
func TestRevokeAnswersAlike(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	h, srv := revokeServer(t, f, leak.RevokeConfig{Burst: 100})
	idText, keyText := f.mint(t, "text")
	_, keyJSON := f.mint(t, "json")
	_, keyBearer := f.mint(t, "bearer")
	_, keep := f.mint(t, "kept")
	unknown := keep[:len(keep)-10] + "0123456789"

	reports := []struct {
		body        string
		contentType string
	}{
		{keyText + "\n", "text/plain"},
		{`{"key":"` + keyJSON + `"}`, "application/json; charset=utf-8"},
		{"Bearer " + keyBearer, ""},
		{unknown, "text/plain"},
		{"ghp_someone_elses_key", "text/plain"},
		{strings.Repeat("f", 256), ""},
	}
	var first http.Header
	for i, r := range reports {
		status, hdr, body := post(t, srv.URL, []byte(r.body), map[string][]string{"Content-Type": {r.contentType}})
		require.Equal(t, http.StatusAccepted, status, "report %d", i)
		assert.Equal(t, leak.Accepted, body, "report %d", i)
		hdr.Del("Date")
		if first == nil {
			first = hdr
		}
		assert.Equal(t, first, hdr, "report %d: the same headers", i)
	}
	h.Wait()

	for _, k := range []string{keyText, keyJSON, keyBearer} {
		assert.False(t, alive(t, f.svc, k))
	}
	assert.True(t, alive(t, f.svc, keep))
	leaked := f.events.leaked()
	require.Len(t, leaked, 3)
	ids := map[string]bool{}
	for _, e := range leaked {
		ids[e.TokenID] = true
		assert.Equal(t, "reported to the leaked key endpoint", e.Where)
		assert.Equal(t, "127.0.0.1", e.Client)
	}
	assert.True(t, ids[idText])
	f.noKeys(t, keyText, keyJSON, keyBearer, unknown)
}

// TestRevokeDisable: Disable disables the reported key's token.
func TestRevokeDisable(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	h, srv := revokeServer(t, f, leak.RevokeConfig{Disable: true})
	id, key := f.mint(t, "a")
	status, _, _ := post(t, srv.URL, []byte(key), nil)
	require.Equal(t, http.StatusAccepted, status)
	h.Wait()
	tok, err := f.svc.Get(context.Background(), id)
	require.NoError(t, err)
	assert.True(t, tok.Disabled)
	_, err = f.svc.Verify(context.Background(), key)
	assert.ErrorIs(t, err, apitoken.ErrDisabled)
}

// TestRevokeRateLimit: past its burst a client gets 429 with Retry-After,
// whatever it sends, until its time has come; other clients are not held
// up, and the addresses of one IPv6 /64 are one client.
func TestRevokeRateLimit(t *testing.T) {
	f := newFixture(t, apitoken.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	h, srv := revokeServer(t, f, leak.RevokeConfig{Burst: 2})
	_, key := f.mint(t, "a")
	from := func(client, body string) (int, http.Header) {
		status, hdr, _ := post(t, srv.URL, []byte(body), map[string][]string{"X-Forwarded-For": {client}})
		return status, hdr
	}
	for i := 0; i < 2; i++ {
		status, _ := from("198.51.100.7", "nonsense")
		require.Equal(t, http.StatusAccepted, status)
	}
	status, hdr := from("198.51.100.7", key)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "60", hdr.Get("Retry-After"))
	h.Wait()
	assert.True(t, alive(t, f.svc, key), "a limited report is not acted on")

	status, _ = from("2001:db8::1", "nonsense")
	assert.Equal(t, http.StatusAccepted, status, "another client")
	status, _ = from("2001:db8::2", "nonsense")
	assert.Equal(t, http.StatusAccepted, status)
	status, _ = from("2001:db8::ffff", "nonsense")
	assert.Equal(t, http.StatusTooManyRequests, status, "one /64, one client")

	f.clock.Add(59 * time.Second)
	status, hdr = from("198.51.100.7", key)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "1", hdr.Get("Retry-After"))
	f.clock.Add(time.Second)
	status, _ = from("198.51.100.7", key)
	assert.Equal(t, http.StatusAccepted, status, "its time has come")
	h.Wait()
	assert.False(t, alive(t, f.svc, key))
}

// TestRevokeMalformed: empty, blank, oversized and malformed reports are
// refused, revoke nothing, and are not echoed.
func TestRevokeMalformed(t *testing.T) {
	f := newFixture(t, apitoken.Config{})
	h, srv := revokeServer(t, f, leak.RevokeConfig{Burst: 100, MaxBody: 512})
	_, key := f.mint(t, "a")
	for _, c := range []struct {
		name, body, contentType string
		status                  int
	}{
		{"empty", "", "", 400},
		{"blank", " \r\n\t ", "", 400},
		{"two words", key + " " + key, "", 400},
		{"control character", key + "\x00", "", 400},
		{"bad JSON", `{"key":`, "application/json", 400},
		{"JSON of no key", `{"token":"` + key + `"}`, "application/json", 400},
		{"JSON key not a string", `{"key":1}`, "application/json", 400},
		{"oversized", strings.Repeat(key, 20), "", 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := post(t, srv.URL, []byte(c.body), map[string][]string{"Content-Type": {c.contentType}})
			assert.Equal(t, c.status, status, body)
			assert.NotContains(t, body, key)
		})
	}
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	h.Wait()
	assert.True(t, alive(t, f.svc, key))
	assert.Empty(t, f.events.leaked())
}

// TestRevokeStoreDown: a report is answered alike while the store fails,
// and its revocation is tried again until the store is back; the failures
// are logged, without the key.
func TestRevokeStoreDown(t *testing.T) {
	store := &outage{Store: memstore.New()}
	f := newFixture(t, apitoken.Config{Store: store})
	retries := apitokentest.NewClock()
	h, srv := revokeServer(t, f, leak.RevokeConfig{Clock: retries})
	_, key := f.mint(t, "a")
	store.down.Store(true)
	status, _, body := post(t, srv.URL, []byte(key), nil)
	assert.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, leak.Accepted, body)
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		retries.WaitForTimers(1)
		retries.Add(wait)
	}
	retries.WaitForTimers(1)
	assert.Contains(t, f.logs.String(), "leak: a reported key could not be looked up or revoked; trying again")
	store.down.Store(false)
	retries.Add(8 * time.Second)
	h.Wait()
	assert.False(t, alive(t, f.svc, key), "revoked once the store was back")
	assert.NotContains(t, f.logs.String(), "the report is lost")
	f.noKeys(t, key)
}

// TestRevokeStoreDownGivesUp: past RetryFor, or when Close stops the
// waits, a revocation is logged as lost, without its key.
func TestRevokeStoreDownGivesUp(t *testing.T) {
	for _, closed := range []bool{false, true} {
		store := &outage{Store: memstore.New()}
		f := newFixture(t, apitoken.Config{Store: store})
		retries := apitokentest.NewClock()
		h, srv := revokeServer(t, f, leak.RevokeConfig{Clock: retries, RetryFor: 3 * time.Second})
		_, key := f.mint(t, "a")
		store.down.Store(true)
		status, _, _ := post(t, srv.URL, []byte(key), nil)
		require.Equal(t, http.StatusAccepted, status)
		retries.WaitForTimers(1)
		if closed {
			h.Close()
		} else {
			retries.Add(time.Second)
			retries.WaitForTimers(1)
			retries.Add(2 * time.Second) // 3 s waited; the next wait, 4 s, is past RetryFor
			h.Wait()
		}
		assert.Contains(t, f.logs.String(), "the report is lost", "closed %v", closed)
		store.down.Store(false)
		assert.True(t, alive(t, f.svc, key), "closed %v", closed)
		f.noKeys(t, key)
	}
}
