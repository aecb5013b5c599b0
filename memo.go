package apitoken

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultKeyMemo is the number of keys a Service remembers the hash of
// unless Config.KeyMemo says otherwise.
const DefaultKeyMemo = 10_000

// keyMemo remembers the hashes of keys that the store knew, under the
// SHA-256 of the key. Finding a key's hash here costs a SHA-256: a fifth of
// the HMAC-SHA512 on CPUs with SHA extensions, about as much without them.
//
// It holds no key: a SHA-256 of a key with 256 random bits reveals no more of
// the key than its stored hash does. Only keys the store found enter it, so
// garbage keys cannot fill it; a key the store no longer knows is forgotten
// at its next use; and it is emptied when full, so it holds about max
// entries at most (puts racing the emptying may add a few).
type keyMemo struct {
	hashes sync.Map // [sha256.Size]byte: *memoEntry
	n      atomic.Int64
	max    int64
}

// memoEntry is a remembered key's hash and its token's expiry when it was
// found, which says how long the memo may vouch for the key (see has).
type memoEntry struct {
	hash    Hash
	expires time.Time // zero: never
}

func (m *keyMemo) get(digest *[sha256.Size]byte) (*memoEntry, bool) {
	v, ok := m.hashes.Load(*digest)
	if !ok {
		return nil, false
	}
	return v.(*memoEntry), true
}

// has reports whether the memo holds key, and its token had not expired
// at now when it was found. An expiry moved later since then makes has
// say no too early, which costs the key's holder only a wait; one moved
// earlier makes it say yes until the key's next use forgets it.
func (m *keyMemo) has(key string, now time.Time) bool {
	digest := sha256.Sum256([]byte(key))
	e, ok := m.get(&digest)
	return ok && (e.expires.IsZero() || now.Before(e.expires))
}

func (m *keyMemo) put(digest [sha256.Size]byte, h Hash, expires *time.Time) {
	if m.n.Load() >= m.max {
		m.hashes.Clear()
		m.n.Store(0)
	}
	e := &memoEntry{hash: h}
	if expires != nil {
		e.expires = *expires
	}
	if _, loaded := m.hashes.LoadOrStore(digest, e); !loaded {
		m.n.Add(1)
	}
}

func (m *keyMemo) forget(digest [sha256.Size]byte) {
	if _, loaded := m.hashes.LoadAndDelete(digest); loaded {
		m.n.Add(-1)
	}
}
