package cache_test

import (
	"context"
	"encoding/binary"
	"fmt"
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

// everyFound answers every hash with a token of its own (as a store with
// many valid tokens, or many keys of churning tokens, does).
type everyFound struct{ apitoken.Store }

func (everyFound) GetByHash(_ context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	return &apitoken.Token{ID: fmt.Sprintf("%x", h[:8]), Name: "n", Type: apitoken.ReadOnly}, nil
}

// TestFoundKeysHeapBounded: churn of found keys (more valid keys than
// MaxEntries), spread over the shards or crafted to land in one, leaves
// the heap where a full cache put it. It grew from 35 to 55 MB over 4
// million inserts before the found maps were rebuilt periodically.
func TestFoundKeysHeapBounded(t *testing.T) {
	const maxEntries = 64 * 1024 // 1024 per shard; all go to shard 0 here
	for _, oneShard := range []bool{false, true} {
		t.Run(fmt.Sprint("oneShard=", oneShard), func(t *testing.T) {
			ctx := context.Background()
			s := cache.New(everyFound{memstore.New()}, cache.Options{TTL: time.Hour, MaxEntries: maxEntries})
			var h apitoken.Hash
			flood := func(from, to int) {
				for i := from; i < to; i++ {
					binary.LittleEndian.PutUint64(h[1:], uint64(i))
					if !oneShard {
						h[0] = byte(i)
					}
					_, err := s.GetByHash(ctx, h)
					require.NoError(t, err)
				}
			}
			flood(0, 2*maxEntries)
			full := heapAlloc()
			n := 1_000_000
			if raceEnabled {
				n = 300_000
			}
			if v := os.Getenv("APITOKEN_TEST_FOUND_INSERTS"); v != "" {
				n, _ = strconv.Atoi(v)
			}
			mid := heapAlloc()
			flood(2*maxEntries, n/2)
			mid = heapAlloc()
			flood(n/2, n)
			after := heapAlloc()
			t.Logf("%d inserts: heap at half %.2f MB", n, mb(mid))
			runtime.KeepAlive(s)
			found, _ := s.Len()
			t.Logf("found held %d; heap %.2f MB full, %.2f MB after", found, mb(full), mb(after))
			assert.LessOrEqual(t, found, maxEntries)
			assert.Less(t, int64(after)-int64(full), int64(maxUnknownHeapGrowth), "the heap grew")
		})
	}
}
