package leak

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// PublicKey is a key GitHub signs secret scanning reports with.
type PublicKey struct {
	// ID is the key's key_identifier, which reports name in their
	// Github-Public-Key-Identifier header.
	ID string
	// Key is an ECDSA key on P-256.
	Key *ecdsa.PublicKey
	// Current is GitHub's is_current: the key new reports are signed
	// with. Reports signed with any configured key are accepted, so that
	// a rotation loses none.
	Current bool
}

// Bounds of a key set.
const (
	maxKeySet   = 1 << 20 // bytes of the JSON document
	maxKeys     = 100
	maxKeyIDLen = 256
)

// ParseGitHubKeys parses the key set GitHub publishes for secret scanning
// (https://api.github.com/meta/public_keys/secret_scanning):
//
//	{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}
//
// Every key must be a PEM "PUBLIC KEY" (PKIX) of ECDSA on P-256, under a
// distinct, non-empty identifier. It fails on anything else, naming the key.
func ParseGitHubKeys(data []byte) ([]PublicKey, error) {
	if len(data) > maxKeySet {
		return nil, fmt.Errorf("leak: key set is %d bytes, more than %d", len(data), maxKeySet)
	}
	var doc struct {
		PublicKeys []struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
			IsCurrent     bool   `json:"is_current"`
		} `json:"public_keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("leak: key set is not GitHub's JSON: %w", err)
	}
	if len(doc.PublicKeys) == 0 {
		return nil, errors.New(`leak: key set holds no keys: want {"public_keys": [{"key_identifier": …, "key": …}]}`)
	}
	if len(doc.PublicKeys) > maxKeys {
		return nil, fmt.Errorf("leak: key set holds %d keys, more than %d", len(doc.PublicKeys), maxKeys)
	}
	keys := make([]PublicKey, 0, len(doc.PublicKeys))
	for i, k := range doc.PublicKeys {
		pub, err := parsePEM(k.Key)
		if err != nil {
			return nil, fmt.Errorf("leak: key %d (%.40q): %w", i, k.KeyIdentifier, err)
		}
		keys = append(keys, PublicKey{ID: k.KeyIdentifier, Key: pub, Current: k.IsCurrent})
	}
	if _, err := keyMap(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// parsePEM parses a PEM PKIX public key of ECDSA on P-256.
func parsePEM(s string) (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New(`not a PEM "PUBLIC KEY" block`)
	}
	if len(trimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return p256(k)
}

// p256 returns k as an ECDSA key on P-256, or an error.
func p256(k any) (*ecdsa.PublicKey, error) {
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec == nil || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA key on P-256")
	}
	return ec, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// keyMap indexes keys by ID, refusing empty, overlong and repeated ids and
// keys not on P-256.
func keyMap(keys []PublicKey) (map[string]*ecdsa.PublicKey, error) {
	m := make(map[string]*ecdsa.PublicKey, len(keys))
	for i, k := range keys {
		switch {
		case k.ID == "" || len(k.ID) > maxKeyIDLen:
			return nil, fmt.Errorf("leak: key %d: the identifier must be 1 to %d bytes", i, maxKeyIDLen)
		case m[k.ID] != nil:
			return nil, fmt.Errorf("leak: key %d: identifier %.40q appears twice", i, k.ID)
		}
		pub, err := p256(k.Key)
		if err != nil {
			return nil, fmt.Errorf("leak: key %d (%.40q): %w", i, k.ID, err)
		}
		m[k.ID] = pub
	}
	return m, nil
}

// Why a report's signature is refused.
var (
	errNoSignature  = errors.New("no or more than one Github-Public-Key-Identifier or Github-Public-Key-Signature header")
	errUnknownKey   = errors.New("the report names a key identifier that is not configured")
	errBadSignature = errors.New("the signature does not verify")
	errNotBase64    = errors.New("the signature is not base64")
)

// maxSignatureLen bounds the base64 signature header: a P-256 DER
// signature is at most 72 bytes.
const maxSignatureLen = 200

// verifySignature checks sig, the base64 of an ASN.1 DER ECDSA signature of
// body's SHA-256, against key.
func verifySignature(key *ecdsa.PublicKey, sig string, body []byte) error {
	if len(sig) > maxSignatureLen {
		return errNotBase64
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errNotBase64
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(key, digest[:], der) {
		return errBadSignature
	}
	return nil
}
