package leak_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/leak"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestAttack19cReportAcceptedAfterClose: Close "stops the waits to try
// revocations again" and returns once the revocations under way are done;
// its losses are logged. But nothing stops ServeHTTP: a report that
// arrives after Close (a server still draining, a handler mounted on two
// servers, or one whose request was waiting for a worker slot while Close
// ran) is answered 202 with Accepted, "it is being revoked", and handed to
// a goroutine that Close no longer waits for and that never retries, since
// the waits are stopped: during an outage the leaked key is dropped at
// once, after the reporter was told it is being revoked, and a reporter
// told 202 does not report again. (Its goroutine also calls WaitGroup.Add
// after Wait returned, which the sync package forbids when concurrent.)
//
// Should: after Close, a report is refused (503, so that the reporter
// retries elsewhere or later), never accepted and lost. Does: 202, then
// "the report is lost" without a single retry.
func TestAttack19cReportAcceptedAfterClose(t *testing.T) {
	store := &outage{Store: memstore.New()}
	f := newFixture(t, apitoken.Config{Store: store})
	h, srv := revokeServer(t, f, leak.RevokeConfig{Clock: apitokentest.NewClock()})
	_, key := f.mint(t, "a")
	h.Close()

	store.down.Store(true) // a short outage, which RetryFor (10 minutes) is there for
	status, _, body := post(t, srv.URL, []byte(key), nil)
	h.Wait()
	lost := strings.Contains(f.logs.String(), "the report is lost")
	t.Logf("after Close: %d %q; lost at once: %v", status, strings.TrimSpace(body), lost)
	assert.NotEqual(t, http.StatusAccepted, status, "a report was accepted after Close")
	assert.False(t, lost && status == http.StatusAccepted, "an accepted report was lost without a retry")
	store.down.Store(false)
	require.True(t, alive(t, f.svc, key), "the reported key still works")
	f.noKeys(t, key)
}
