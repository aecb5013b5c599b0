package apitoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"strings"
	"sync"
)

// MinSaltLen is the shortest salt accepted, in bytes. Strapi generates 16
// random bytes written in base64 (24 characters).
const MinSaltLen = 16

// maxKeyLen bounds the keys worth hashing. Issued keys are 256 characters;
// anything much longer is refused before it costs a hash.
const maxKeyLen = 512

// Hash is the stored form of a key: HMAC-SHA512 keyed with the salt. Stores
// keep it as the 128 lowercase hex characters of Hex, which is what Strapi
// stores, so a Strapi database verifies here given the same salt.
type Hash [sha512.Size]byte

// Hex returns h as 128 lowercase hex characters.
func (h Hash) Hex() string { return hex.EncodeToString(h[:]) }

// ParseHash parses the 128 hex characters of a stored hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != hex.EncodedLen(len(h)) {
		return h, fmt.Errorf("apitoken: hash must be %d hex characters, got %d", hex.EncodedLen(len(h)), len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("apitoken: hash is not hex: %w", err)
	}
	return h, nil
}

// Hasher computes key hashes for one salt. It is safe for concurrent use and
// does not allocate per call for keys of up to 512 bytes.
type Hasher struct {
	pool sync.Pool // of *hmacState
	id   string
}

type hmacState struct {
	mac hash.Hash
	buf []byte // the key, copied so that Write does not need a conversion
	sum []byte
}

// NewHasher returns a Hasher for salt, which must be at least MinSaltLen bytes.
// The salt's bytes are the HMAC key as they are: a base64 salt is not decoded,
// as in Strapi.
func NewHasher(salt string) (*Hasher, error) {
	if salt == "" {
		return nil, errNoSalt
	}
	if n := len(strings.TrimSpace(salt)); n < MinSaltLen {
		// White space counts for nothing: sixteen spaces are no secret.
		return nil, fmt.Errorf("apitoken: salt is %d bytes besides white space, want at least %d: generate one with `openssl rand -base64 16`", n, MinSaltLen)
	}
	key := []byte(salt)
	fp := sha256.Sum256([]byte("apitoken salt id\x00" + salt))
	h := &Hasher{id: hex.EncodeToString(fp[:6])}
	h.pool.New = func() any {
		return &hmacState{mac: hmac.New(sha512.New, key), buf: make([]byte, 0, maxKeyLen), sum: make([]byte, 0, sha512.Size)}
	}
	return h, nil
}

// ID returns a short public name for the salt: 12 hex characters of a
// SHA-256 of it, which tells salts apart without revealing them.
func (h *Hasher) ID() string { return h.id }

// saltFromEnv returns salt, or API_TOKEN_SALT when salt is empty.
func saltFromEnv(salt string) string {
	if salt != "" {
		return salt
	}
	return os.Getenv("API_TOKEN_SALT")
}

// Sum returns the hash of key.
func (h *Hasher) Sum(key string) Hash {
	sum, _, _ := h.sum(key, nil)
	return sum
}

// sum returns the hash of key. With a memo it also returns the key's
// SHA-256, under which the memo keeps the hash, and takes the hash from the
// memo when it is there, saying so with remembered.
func (h *Hasher) sum(key string, memo *keyMemo) (sum Hash, digest [sha256.Size]byte, remembered bool) {
	st := h.pool.Get().(*hmacState)
	st.buf = append(st.buf[:0], key...)
	if memo != nil {
		digest = sha256.Sum256(st.buf)
		var e *memoEntry
		if e, remembered = memo.get(&digest); remembered {
			sum = e.hash
		}
	}
	if !remembered {
		st.mac.Reset()
		st.mac.Write(st.buf)
		st.sum = st.mac.Sum(st.sum[:0])
		copy(sum[:], st.sum)
	}
	if cap(st.buf) <= maxKeyLen {
		h.pool.Put(st)
	}
	return sum, digest, remembered
}
