package apitoken_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// limitedAPI serves GET /api/articles through Require over real HTTP, with a
// failure limit of 3 and no tries earned back within a test. The remote
// address of each request is the X-Test-Remote header, as a reverse proxy
// that rewrites RemoteAddr would set it, so that tests can speak from many
// addresses.
func limitedAPI(t *testing.T) (*httptest.Server, *apitoken.Service, *countingStore) {
	t.Helper()
	store := &countingStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, Logger: discard(), Clock: apitokentest.NewClock(),
		FailureLimit: &apitoken.FailureLimit{Rate: rate.Every(time.Hour), Burst: 3}})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(t.Context()) })
	guarded := svc.Require("api::article.article.find")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("X-Test-Remote"); a != "" {
			r = r.Clone(r.Context())
			r.RemoteAddr = a
		}
		guarded.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, svc, store
}

func getFrom(t *testing.T, srv *httptest.Server, remote, key string) int {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if remote != "" {
		req.Header.Set("X-Test-Remote", remote)
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestFailureLimitSparesValidKeys: an attacker behind the same address as
// honest clients (a NAT, a proxy, a unix socket) cannot lock them out, and
// its guesses past the limit still cost no store lookup.
func TestFailureLimitSparesValidKeys(t *testing.T) {
	srv, svc, store := limitedAPI(t)
	_, honest := mustCreate(t, svc, apitoken.CreateParams{Name: "honest"})
	require.Equal(t, 200, getFrom(t, srv, "", honest), "the honest client works before the attack")

	for range 3 {
		require.Equal(t, 401, getFrom(t, srv, "", forge("apitoken")))
	}
	lookups := store.lookups.Load()
	for range 100 {
		require.Equal(t, 429, getFrom(t, srv, "", forge("apitoken")))
		require.Equal(t, 429, getFrom(t, srv, "", strings.Repeat("0", 256)))
	}
	assert.Equal(t, lookups, store.lookups.Load(), "a limited client's unknown keys reach no store")

	assert.Equal(t, 200, getFrom(t, srv, "", honest), "a valid key is not refused for someone else's failures")
	assert.Equal(t, 200, getFrom(t, srv, "", honest))

	_, fresh := mustCreate(t, svc, apitoken.CreateParams{Name: "fresh"})
	assert.Equal(t, 429, getFrom(t, srv, "", fresh), "a key this Service has never verified waits like any other unknown key")
	assert.Equal(t, 200, getFrom(t, srv, "127.0.0.2:1", fresh))
	assert.Equal(t, 200, getFrom(t, srv, "", fresh), "once verified, it gets through")
}

// TestFailureLimitClientAddresses: IPv6 clients are counted per /64, the
// smallest block one subscriber gets, and an IPv4 address counts as itself
// in its IPv4-mapped IPv6 form.
func TestFailureLimitClientAddresses(t *testing.T) {
	srv, _, _ := limitedAPI(t)
	var statuses []int
	for i := range 20 {
		statuses = append(statuses, getFrom(t, srv, fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1), forge("apitoken")))
	}
	assert.Equal(t, []int{401, 401, 401}, statuses[:3])
	for _, s := range statuses[3:] {
		assert.Equal(t, 429, s, "20 addresses of one /64 are one client")
	}
	assert.Equal(t, 401, getFrom(t, srv, "[2001:db8:1:3::a]:443", forge("apitoken")), "another /64 is another client")

	for _, remote := range []string{"10.0.0.3:1", "[::ffff:10.0.0.3]:2", "10.0.0.3:3"} {
		assert.Equal(t, 401, getFrom(t, srv, remote, forge("apitoken")), remote)
	}
	assert.Equal(t, 429, getFrom(t, srv, "[::ffff:10.0.0.3]:4", forge("apitoken")), "10.0.0.3 and ::ffff:10.0.0.3 are one client")
}
