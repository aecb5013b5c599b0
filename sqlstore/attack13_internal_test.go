package sqlstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAttack13OwnWriteUnseenBehindAnotherPin: a write made here whose
// change no poll reported (its transaction's commit stalled until the feed
// gave up on its seq) must keep its token off the replica until a barrier,
// as polled does when the token has no other outstanding seq. When the
// token also waits for an earlier change seen in the log, polled clears the
// write's pending mark, and once the replica holds that earlier seq the
// token is read from the replica again, which may not have replayed the
// write (a revocation made here, resurrected for the replica's lag).
func TestAttack13OwnWriteUnseenBehindAnotherPin(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := serving(t, now)
	r.saw(7, "tok", now) // an earlier change made elsewhere, not replayed yet
	r.wrote("tok", nil, now)
	r.polled(r.pollStarted(), now) // the write's change was not in it
	r.mu.Lock()
	r.releaseLocked([]int64{7}, now) // the replica has the earlier change
	r.mu.Unlock()

	_, ok := r.route("tok")
	assert.False(t, ok, "a token whose write no poll reported must not be read from the replica")
}
