package leak_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/leak"
)

// TestAttack18RevokeByDeadPreviousKey: over the public revoke endpoint,
// anyone holding a token's old key — dead since the overlap of the
// regeneration that replaced it ended — gets the token deleted, and with it
// the owner's new key. The store still finds the token under the old hash
// (with its expiry clamped to the overlap's end) and Lookup checks no
// expiry, although its doc says a previous key counts only while its
// overlap lasts.
func TestAttack18RevokeByDeadPreviousKey(t *testing.T) {
	ctx := context.Background()
	for _, disable := range []bool{false, true} {
		f := newFixture(t, apitoken.Config{})
		h, srv := revokeServer(t, f, leak.RevokeConfig{Disable: disable})
		id, oldKey := f.mint(t, "ci")
		_, newKey, err := f.svc.RegenerateWithOverlap(ctx, id, time.Hour)
		require.NoError(t, err)
		f.clock.Add(2 * time.Hour)
		_, err = f.svc.Verify(ctx, oldKey)
		require.Error(t, err, "the old key is dead once its overlap ended")

		status, _, _ := post(t, srv.URL, []byte(oldKey), nil)
		require.Equal(t, http.StatusAccepted, status)
		h.Wait()
		assert.True(t, alive(t, f.svc, newKey), "disable=%v: a dead key revoked the token's live key", disable)
		assert.Empty(t, f.events.leaked(), "disable=%v: a dead key was recorded as a leak of the token", disable)
	}
}
