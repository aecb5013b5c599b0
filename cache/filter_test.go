package cache

import (
	"crypto/rand"
	"testing"

	"github.com/go-apitoken/apitoken"
)

// TestFilterFalsePositives: at the size it was built for, about one made-up
// key in 2,000 passes, and every added key does; memory is 2 bytes a key.
func TestFilterFalsePositives(t *testing.T) {
	const n = 100_000
	f := newFilter(n)
	keys := make([]filterKey, n)
	for i := range keys {
		var h apitoken.Hash
		rand.Read(h[:])
		keys[i] = keyOf(&h)
		f.add(keys[i])
	}
	for _, k := range keys {
		if !f.mayContain(k) {
			t.Fatal("an added key is missing")
		}
	}
	passed := 0
	for range n {
		var h apitoken.Hash
		rand.Read(h[:])
		if f.mayContain(keyOf(&h)) {
			passed++
		}
	}
	if passed > n/500 { // 0.2 %, four times the expected rate
		t.Errorf("%d of %d made-up keys passed", passed, n)
	}
	if f.bytes() > 2*n+8 {
		t.Errorf("%d bytes for %d keys", f.bytes(), n)
	}
	t.Logf("false positives: %d of %d; %d bytes for %d keys", passed, n, f.bytes(), n)
}

// BenchmarkFilterBuild builds the filter of 1,000,000 keys, as a cache does
// at start from KeyHashes (the database's part not included).
func BenchmarkFilterBuild(b *testing.B) {
	keys := make([]filterKey, 1_000_000)
	for i := range keys {
		var h apitoken.Hash
		rand.Read(h[:16])
		keys[i] = keyOf(&h)
	}
	for b.Loop() {
		f := newFilter(len(keys))
		for _, k := range keys {
			f.add(k)
		}
	}
}
