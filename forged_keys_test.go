package apitoken_test

import (
	"context"
	"crypto/rand"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// forge makes a key of prefix with a correct checksum, as anyone can: the
// CRC32 is public.
func forge(prefix string) string {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	random := []byte(rand.Text() + rand.Text())[:43]
	for i, c := range random {
		random[i] = base62[int(c)%62]
	}
	sum := crc32.ChecksumIEEE(random)
	var digits [6]byte
	for i := 5; i >= 0; i-- {
		digits[i] = base62[sum%62]
		sum /= 62
	}
	return prefix + "_" + string(random) + string(digits[:])
}

// TestForgedPrefixNeverReachesStore: keys with a right checksum but a prefix
// the Service does not issue are refused before hashing; keys of its own
// prefix and Strapi's hex keys still verify.
func TestForgedPrefixNeverReachesStore(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyFormat: apitoken.PrefixedKeys, KeyPrefix: "acme", Logger: discard()})
	require.NoError(t, err)
	defer svc.Close(ctx)
	hexSvc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyPrefix: "acme", Logger: discard()})
	require.NoError(t, err)
	defer hexSvc.Close(ctx)

	prefixes := []string{"x", "apitoken", "acm", "acmee", "ghp", "0123456789abcdef"}
	for i := range 1000 {
		_, err := svc.Verify(ctx, forge(prefixes[i%len(prefixes)]))
		require.ErrorIs(t, err, apitoken.ErrInvalidKey)
	}
	assert.Zero(t, store.lookups.Load(), "1,000 keys of forged prefixes cost no store lookup")

	_, err = svc.Verify(ctx, forge("acme"))
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	assert.EqualValues(t, 1, store.lookups.Load(), "a forgery with the right prefix and checksum is looked up: the CRC is no secret")

	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "prefixed"})
	require.NoError(t, err)
	_, hexKey, err := hexSvc.Create(ctx, apitoken.CreateParams{Name: "hex"})
	require.NoError(t, err)
	for _, s := range []*apitoken.Service{svc, hexSvc} {
		for _, k := range []string{key, hexKey} {
			_, err := s.Verify(ctx, k)
			assert.NoError(t, err)
		}
	}
}
