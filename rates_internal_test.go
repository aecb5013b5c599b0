package apitoken

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestRatesForgetEndedWindows: counted in memory, the leases and counts
// of windows that have ended are dropped by later requests, so that memory
// follows the tokens in use, not every token ever used: ten windows of
// 3,000 tokens each, all different, leave at most a few windows' worth.
func TestRatesForgetEndedWindows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	local := &MemoryRates{}
	tr := &tokenRates{counter: local, now: func() time.Time { return now }}
	ctx := context.Background()
	rl := RateLimit{Requests: 100, Window: Duration(time.Minute)}
	const tokens, windows = 3000, 10
	for w := range windows {
		for i := range tokens {
			if _, _, ok, err := tr.take(ctx, fmt.Sprint(w, " ", i), rl); !ok || err != nil {
				t.Fatalf("take %d in window %d: ok %v, err %v", i, w, ok, err)
			}
		}
		now = now.Add(time.Minute)
	}
	// A sweep comes at the latest after twice as many takes as were kept by
	// the last: at most three windows' tokens are held, not ten.
	if len(tr.leases) > 3*tokens || len(local.counts) > 3*tokens {
		t.Errorf("%d leases and %d counts held after %d windows of %d tokens", len(tr.leases), len(local.counts), windows, tokens)
	}
	t.Logf("%d leases and %d counts held after %d windows of %d tokens", len(tr.leases), len(local.counts), windows, tokens)
}
