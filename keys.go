package apitoken

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// KeyFormat is the form of newly issued keys. Keys of both forms always
// verify, whatever the format of new ones.
type KeyFormat int

const (
	// HexKeys are Strapi's: 128 random bytes as 256 lowercase hex
	// characters, with no prefix and no checksum.
	HexKeys KeyFormat = iota
	// PrefixedKeys look like GitHub's: "<prefix>_", 43 base62 characters
	// (256 random bits), and a 6-character base62 CRC32 of them. Secret
	// scanners find them by KeyPattern, and a mistyped key fails its
	// checksum before it costs a hash or a store lookup. The checksum is
	// public, so it does not stop forgeries: a Service refuses unhashed only
	// keys of prefixes other than its own (see Config.KeyPrefix).
	PrefixedKeys
)

// Key layout of PrefixedKeys.
const (
	randomLen    = 43 // base62 characters: 43 × log2(62) ≈ 256.03 bits
	checksumLen  = 6  // base62 characters: 62^6 > 2^32
	maxPrefixLen = 16
	hexKeyLen    = 256
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// KeyPattern returns a regular expression that matches the PrefixedKeys of
// prefix, for secret scanners.
func KeyPattern(prefix string) string {
	return `\b` + prefix + `_[0-9A-Za-z]{` + fmt.Sprint(randomLen+checksumLen) + `}\b`
}

func validPrefix(p string) error {
	if p == "" || len(p) > maxPrefixLen || strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) >= 0 {
		return fmt.Errorf("apitoken: key prefix %q must be 1 to %d lowercase letters or digits", truncate(p, 40), maxPrefixLen)
	}
	return nil
}

// newKey returns a new key in format f.
func newKey(f KeyFormat, prefix string) string {
	if f == HexKeys {
		var b [hexKeyLen / 2]byte
		rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
		return hex.EncodeToString(b[:])
	}
	key := make([]byte, 0, len(prefix)+1+randomLen+checksumLen)
	key = append(key, prefix...)
	key = append(key, '_')
	var b [1]byte
	for len(key) < len(prefix)+1+randomLen {
		rand.Read(b[:])
		if c := b[0] & 63; c < 62 { // rejection keeps the characters uniform
			key = append(key, base62[c])
		}
	}
	return string(appendChecksum(key, key[len(prefix)+1:]))
}

func appendChecksum(dst, random []byte) []byte {
	sum := crc32.ChecksumIEEE(random)
	var digits [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		digits[i] = base62[sum%62]
		sum /= 62
	}
	return append(dst, digits[:]...)
}

// keyHint returns what of key may be shown (see Token.KeyHint): its prefix
// and last 4 characters. Keys are at least 50 characters long, so the hint
// holds at most 4 of their random characters.
func keyHint(key string) string {
	if len(key) < 50 {
		return ""
	}
	prefix := ""
	if i := strings.IndexByte(key, '_'); i > 0 && i <= maxPrefixLen {
		prefix = key[:i+1]
	}
	return prefix + "…" + key[len(key)-4:]
}

// plausibleKey reports whether key can be a key this Service issued: 256
// characters (Strapi's form, which has no checksum; the hash decides), or a
// key of the Service's prefix whose checksum is right. Everything else is
// refused before hashing. The checksum is public, so it only catches typos:
// the prefix check is what keeps made-up keys of other prefixes from the
// store.
func (s *Service) plausibleKey(key string) bool {
	if len(key) == hexKeyLen {
		return true
	}
	p := len(s.keyPrefix)
	if len(key) != p+1+randomLen+checksumLen || key[p] != '_' || key[:p] != s.keyPrefix {
		return false
	}
	random, sum := key[p+1:p+1+randomLen], key[p+1+randomLen:]
	var want [checksumLen]byte
	var buf [randomLen]byte
	copy(buf[:], random)
	appendChecksum(want[:0], buf[:])
	return string(want[:]) == sum
}

// keyCipher encrypts keys the way Strapi does: AES-256-GCM with the SHA-256 of
// the configured string as key and a 16-byte random IV, stored as
// "v1:<iv hex>:<ciphertext hex>:<tag hex>".
type keyCipher struct{ aead cipher.AEAD }

const ivLen, tagLen = 16, 16

func newKeyCipher(secret string) (*keyCipher, error) {
	k := sha256.Sum256([]byte(secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("apitoken: encryption key: %w", err)
	}
	aead, err := cipher.NewGCMWithNonceSize(block, ivLen)
	if err != nil {
		return nil, fmt.Errorf("apitoken: encryption key: %w", err)
	}
	return &keyCipher{aead}, nil
}

func (c *keyCipher) encrypt(key string) string {
	iv := make([]byte, ivLen)
	rand.Read(iv)
	sealed := c.aead.Seal(nil, iv, []byte(key), nil)
	ct, tag := sealed[:len(sealed)-tagLen], sealed[len(sealed)-tagLen:]
	return "v1:" + hex.EncodeToString(iv) + ":" + hex.EncodeToString(ct) + ":" + hex.EncodeToString(tag)
}

func (c *keyCipher) decrypt(stored string) (string, error) {
	parts := strings.Split(stored, ":")
	if len(parts) != 4 || parts[0] != "v1" {
		return "", fmt.Errorf("%w: stored copy is not in v1 format", ErrNotRecoverable)
	}
	iv, err1 := hex.DecodeString(parts[1])
	ct, err2 := hex.DecodeString(parts[2])
	tag, err3 := hex.DecodeString(parts[3])
	if err := errors.Join(err1, err2, err3); err != nil || len(iv) != ivLen || len(tag) != tagLen {
		return "", fmt.Errorf("%w: stored copy is malformed", ErrNotRecoverable)
	}
	plain, err := c.aead.Open(nil, iv, append(ct, tag...), nil)
	if err != nil {
		return "", fmt.Errorf("%w: stored copy does not decrypt with the configured encryption key", ErrNotRecoverable)
	}
	return string(plain), nil
}
