package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// RunRateCounter tests the apitoken.RateCounter that newCounter returns.
// Each call of newCounter must return a counter with no counts. Run runs
// it for stores that are RateCounters; run it yourself for a counter that
// is no Store, as the redisrate module does.
func RunRateCounter(t *testing.T, newCounter func(t *testing.T) apitoken.RateCounter) {
	tests := []struct {
		name string
		fn   func(*testing.T, apitoken.RateCounter)
	}{
		{"Take", testTakeRate},
		{"Windows", testTakeRateWindows},
		{"LimitChanged", testTakeRateLimitChanged},
		{"Concurrent", testTakeRateConcurrent},
		{"ConcurrentBatches", testTakeRateBatches},
		{"CancelledContext", testTakeRateCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newCounter(t)) })
	}
}

// testTakeRateStore runs RunRateCounter's checks on a store that is a
// RateCounter.
func testTakeRateStore(t *testing.T, newStore func(t *testing.T) apitoken.Store) {
	if _, ok := newStore(t).(apitoken.RateCounter); !ok {
		t.Skip("the store is no apitoken.RateCounter")
	}
	RunRateCounter(t, func(t *testing.T) apitoken.RateCounter { return newStore(t).(apitoken.RateCounter) })
}

// rateWindow is the window the checks count in, aligned as a Service
// aligns it.
const rateWindow = time.Minute

var rateStart = base.Truncate(rateWindow)

// takeRate takes n and checks what was granted and counted.
func takeRate(t *testing.T, c apitoken.RateCounter, id string, start time.Time, limit, n, wantGranted, wantCount int) {
	t.Helper()
	granted, count, err := c.TakeRate(context.Background(), id, start, rateWindow, limit, n)
	require.NoError(t, err)
	assert.Equal(t, wantGranted, granted, "granted of %d", n)
	assert.Equal(t, wantCount, count, "count after taking %d", n)
}

// testTakeRate: takes are granted in full up to the limit, then in part,
// then not at all; each token has its own count.
func testTakeRate(t *testing.T, c apitoken.RateCounter) {
	id, other := uuid.NewString(), uuid.NewString()
	takeRate(t, c, id, rateStart, 5, 3, 3, 3)
	takeRate(t, c, id, rateStart, 5, 3, 2, 5)
	takeRate(t, c, id, rateStart, 5, 1, 0, 5)
	takeRate(t, c, other, rateStart, 5, 1, 1, 1)
	takeRate(t, c, other, rateStart, 5, 10, 4, 5)
}

// testTakeRateWindows: each window has its own count, and an earlier one
// is not changed by a later one.
func testTakeRateWindows(t *testing.T, c apitoken.RateCounter) {
	id := uuid.NewString()
	takeRate(t, c, id, rateStart, 2, 2, 2, 2)
	next := rateStart.Add(rateWindow)
	takeRate(t, c, id, next, 2, 1, 1, 1)
	takeRate(t, c, id, next.Add(rateWindow), 2, 5, 2, 2)
	takeRate(t, c, id, next, 2, 5, 1, 2)
}

// testTakeRateLimitChanged: a lower limit than the count grants nothing
// and takes nothing back; a higher one grants the difference.
func testTakeRateLimitChanged(t *testing.T, c apitoken.RateCounter) {
	id := uuid.NewString()
	takeRate(t, c, id, rateStart, 5, 5, 5, 5)
	takeRate(t, c, id, rateStart, 3, 1, 0, 5)
	takeRate(t, c, id, rateStart, 8, 5, 3, 8)
}

// testTakeRateConcurrent: of 1,000 concurrent takes of one request against
// a limit of 500, on any number of connections, exactly 500 are granted.
func testTakeRateConcurrent(t *testing.T, c apitoken.RateCounter) {
	const limit, takes, workers = 500, 1000, 50
	id := uuid.NewString()
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for range takes / workers {
				g, count, err := c.TakeRate(context.Background(), id, rateStart, rateWindow, limit, 1)
				if !assert.NoError(t, err) {
					return
				}
				assert.LessOrEqual(t, count, limit)
				granted.Add(int64(g))
				if g == 0 {
					refused.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(limit), granted.Load(), "granted")
	assert.Equal(t, int64(takes-limit), refused.Load(), "refused")
}

// testTakeRateBatches: concurrent takes of batches share the limit out
// exactly, at most one of them in part.
func testTakeRateBatches(t *testing.T, c apitoken.RateCounter) {
	const limit, n, takes = 100, 7, 40
	id := uuid.NewString()
	var granted, partial atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range takes {
		wg.Go(func() {
			<-start
			g, _, err := c.TakeRate(context.Background(), id, rateStart, rateWindow, limit, n)
			if !assert.NoError(t, err) {
				return
			}
			assert.True(t, g >= 0 && g <= n, "granted %d of %d", g, n)
			granted.Add(int64(g))
			if g > 0 && g < n {
				partial.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(limit), granted.Load(), "granted")
	assert.Equal(t, int64(1), partial.Load(), "batches granted in part: 100 = 14×7 + 2")
	takeRate(t, c, id, rateStart, limit, 1, 0, limit)
}

// testTakeRateCancelled: a cancelled context is an error, and takes
// nothing.
func testTakeRateCancelled(t *testing.T, c apitoken.RateCounter) {
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := c.TakeRate(ctx, id, rateStart, rateWindow, 5, 1)
	assert.Error(t, err)
	takeRate(t, c, id, rateStart, 5, 5, 5, 5)
}
