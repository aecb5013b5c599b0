package cache_test

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// unknownInsertsEnv sets how many distinct unknown keys
// TestUnknownKeysHeapBounded tries; 10,000,000 is the long variant:
//
//	APITOKEN_TEST_UNKNOWN_INSERTS=10000000 go test -run UnknownKeysHeap -v ./cache
const unknownInsertsEnv = "APITOKEN_TEST_UNKNOWN_INSERTS"

// maxUnknownHeapGrowth is how much the heap may grow while a full
// unknown-key cache takes new keys: it is bounded by construction, so any
// growth is noise.
const maxUnknownHeapGrowth = 512 << 10

// TestUnknownKeysHeapBounded floods a cache with distinct unknown keys, as a
// scanner guessing keys does, and checks that once MaxNegative entries are
// held the heap stops growing.
func TestUnknownKeysHeapBounded(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 200_000 // the race detector makes each insert ten times slower
	}
	if v := os.Getenv(unknownInsertsEnv); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, unknownInsertsEnv)
	}
	ctx := context.Background()
	s := cache.New(memstore.New(), cache.Options{TTL: time.Hour, NegativeTTL: time.Hour})
	h := randomHash(t)
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			binary.LittleEndian.PutUint64(h[:], uint64(i)) // h[0] varies: every shard
			_, err := s.GetByHash(ctx, h)
			require.ErrorIs(t, err, apitoken.ErrNotFound)
		}
	}
	flood(0, 2*cache.DefaultMaxNegative) // full
	full := heapAlloc()
	start := time.Now()
	flood(2*cache.DefaultMaxNegative, n)
	after := heapAlloc()
	runtime.KeepAlive(s)
	_, unknown := s.Len()
	t.Logf("%d unknown keys in %v: heap %.2f MB when full, %.2f MB after; %d held",
		n, time.Since(start).Round(time.Millisecond), mb(full), mb(after), unknown)
	assert.LessOrEqual(t, unknown, cache.DefaultMaxNegative)
	assert.Less(t, int64(after)-int64(full), int64(maxUnknownHeapGrowth), "the heap grew")
}

// heapAlloc returns the bytes of live heap objects after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
