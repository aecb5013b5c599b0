package apitoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// attackGet sends a GET with the Authorization value auth ("" for none)
// and returns the status.
func attackGet(t *testing.T, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestReviewExpiredKeyEscapesFailureLimit: FailureLimit promises that a
// limited client gets past the limit only "with a key this Service knows to
// be valid", and that its other keys get 429 "without an HMAC or a store
// lookup". But the memo remembers every key the store found, expired or
// not (Verify puts it before looking at the expiry, and never forgets it,
// since the store still finds it). So a limited attacker holding any
// expired key (its own old token, one found in an old repo) escapes the
// limit for ever: every request is checked, costs a store lookup and an
// expired-key audit event, and records one more failure that changes
// nothing.
func TestReviewExpiredKeyEscapesFailureLimit(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	store := &countingStore{Store: memstore.New()}
	var events sync.Map
	svc, err := apitoken.New(apitoken.Config{
		Store: store, Salt: testSalt, Logger: discard(), Clock: clock, AnyAction: true,
		FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 3},
		OnEvent: func(_ context.Context, e apitoken.Event) {
			n, _ := events.LoadOrStore(e.Kind, new(int))
			*n.(*int)++
		},
	})
	require.NoError(t, err)
	defer svc.Close(ctx)
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "old", Lifespan: apitoken.Days7})
	require.NoError(t, err)

	srv := httptest.NewServer(svc.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()

	require.Equal(t, 200, attackGet(t, srv.URL, "Bearer "+key), "the key works while valid; the memo learns it")
	clock.Add(8 * 24 * time.Hour) // the token expires

	garbage := "Bearer " + strings.Repeat("a", 256)
	for range 3 {
		require.Equal(t, 401, attackGet(t, srv.URL, garbage))
	}
	require.Equal(t, 429, attackGet(t, srv.URL, garbage), "the attacker's address is now limited")

	before := store.lookups.Load()
	statuses := map[int]int{}
	for range 50 {
		statuses[attackGet(t, srv.URL, "Bearer "+key)]++
	}
	lookups := store.lookups.Load() - before
	t.Logf("limited client with an expired key: statuses %v, store lookups %d", statuses, lookups)
	assert.Equal(t, map[int]int{429: 50}, statuses, "an expired key is not a key the Service knows to be valid: a limited client should get 429")
	assert.Zero(t, lookups, "a limited client must cost no store lookup")
}

// TestReviewForgedPrefixVariants: the forged-prefix guarantee, pushed with
// case, look-alike, empty, '_'-containing, short and long variants and
// white space or NUL. These all hold (no lookup); kept as a regression net.
func TestReviewForgedPrefixVariants(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, Logger: discard(),
		KeyFormat: apitoken.PrefixedKeys, KeyPrefix: "acme"})
	require.NoError(t, err)
	defer svc.Close(ctx)
	good := forge("acme")
	keys := []string{
		forge("ACME"), forge("Acme"), forge("acm\u0435"), forge(""), forge("ac_me"), forge("acme_"),
		forge("_acme"), forge("acme\x00"), forge("acme "), " " + good, good + " ", good + "\x00",
		good[:len(good)-1], good + "a", "acme__" + good[5:len(good)-1],
		"\x00" + good[1:], strings.ToUpper(good[:4]) + good[4:],
	}
	for _, k := range keys {
		_, err := svc.Verify(ctx, k)
		require.ErrorIs(t, err, apitoken.ErrInvalidKey, "%q", k)
	}
	assert.Zero(t, store.lookups.Load())
}

// TestReviewFailureLimitAddresses: IPv6 per /64 with zones, IPv4-mapped,
// ports. These hold; a regression net for the normalisation.
func TestReviewFailureLimitAddresses(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, apitoken.Config{FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 1}})
	h := svc.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	status := func(remote string) int {
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", "Bearer nope")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	groups := [][]string{
		{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:2", "[2001:db8:1:2::1%eth0]:3", "[2001:DB8:1:2:0:0:0:7]:4"},
		{"192.0.2.7:1", "[::ffff:192.0.2.7]:2", "[::ffff:c000:207]:3", "[::ffff:192.0.2.7%x]:4"},
		{"[fe80::1%eth0]:1", "[fe80::2%eth1]:2"},
	}
	for _, g := range groups {
		assert.Equal(t, 401, status(g[0]))
		for _, a := range g[1:] {
			assert.Equal(t, 429, status(a), "%s should share the bucket of %s", a, g[0])
		}
	}
}
