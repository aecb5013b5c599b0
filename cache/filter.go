package cache

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"

	"github.com/go-apitoken/apitoken"
)

// filterBitsPerKey and filterProbes size the filter of known key hashes: 16
// bits (2 bytes) a key and 11 probes give about one false positive in 2,000
// (0.05%) at the size it was built for.
const (
	filterBitsPerKey = 16
	filterProbes     = 11
	minFilterKeys    = 1024
)

// filter is a Bloom filter of key hashes. Adds and lookups are lock-free:
// each word is set with an atomic OR, so a lookup racing an add sees the key
// or not, never a torn word. Keys are HMAC output, uniformly random, so
// their bytes serve as the filter's hash functions.
type filter struct {
	words []atomic.Uint64
	nbits uint64
	keys  int // keys it was sized for
	added atomic.Int64
}

// newFilter returns an empty filter sized for n keys.
func newFilter(n int) *filter {
	n = max(n, minFilterKeys)
	words := (n*filterBitsPerKey + 63) / 64
	return &filter{words: make([]atomic.Uint64, words), nbits: uint64(words) * 64, keys: n}
}

// bit maps a probe onto the filter's bits (Lemire's multiply-shift, which
// needs no power of two).
func (f *filter) bit(a uint64) uint64 {
	hi, _ := bits.Mul64(a, f.nbits)
	return hi
}

// filterKey is the part of a key hash the filter uses: two 64-bit words, a
// and b, of the double hashing a + i·b.
type filterKey [2]uint64

func keyOf(h *apitoken.Hash) filterKey {
	return filterKey{binary.LittleEndian.Uint64(h[0:8]), binary.LittleEndian.Uint64(h[8:16]) | 1}
}

func (f *filter) add(k filterKey) {
	a, b := k[0], k[1]
	for range filterProbes {
		bit := f.bit(a)
		f.words[bit/64].Or(1 << (bit % 64))
		a += b
	}
	f.added.Add(1)
}

// mayContain reports whether h may have been added; false is certain.
func (f *filter) mayContain(k filterKey) bool {
	a, b := k[0], k[1]
	for range filterProbes {
		bit := f.bit(a)
		if f.words[bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
		a += b
	}
	return true
}

// full reports whether more keys were added than it was sized for, by a
// quarter: its false positives have about tripled, and it is due for a
// rebuild, which also forgets deleted keys.
func (f *filter) full() bool { return f.added.Load() > int64(f.keys+f.keys/4) }

// bytes returns the filter's memory.
func (f *filter) bytes() int { return len(f.words) * 8 }
