package apitoken_test

import (
	"context"
	"hash/crc32"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// countingStore counts lookups, to show which keys never reach the store.
type countingStore struct {
	*memstore.Store
	lookups atomic.Int64
}

func (c *countingStore) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	c.lookups.Add(1)
	return c.Store.GetByHash(ctx, h)
}

func TestPrefixedKeys(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyFormat: apitoken.PrefixedKeys, KeyPrefix: "acme"})
	require.NoError(t, err)
	defer svc.Close(context.Background())
	ctx := context.Background()

	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci"})
	require.NoError(t, err)
	pattern := regexp.MustCompile(apitoken.KeyPattern("acme"))
	assert.True(t, pattern.MatchString("token: "+key+"\n"), "scanners find %s with %s", key, pattern)
	assert.Equal(t, "\\bacme_[0-9A-Za-z]{49}\\b", apitoken.KeyPattern("acme"))

	// The checksum is a CRC32 of the random part, in 6 base62 digits.
	random, sum := key[5:5+43], key[5+43:]
	want := crc32.ChecksumIEEE([]byte(random))
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var got uint64
	for _, c := range sum {
		got = got*62 + uint64(strings.IndexRune(digits, c))
	}
	assert.Equal(t, uint64(want), got)

	_, err = svc.Verify(ctx, key)
	require.NoError(t, err)
	require.EqualValues(t, 1, store.lookups.Load())

	flipped := []byte(key)
	flipped[10] ^= 1
	for _, bad := range []string{string(flipped), key[:len(key)-1], key + "a", "acme_" + strings.Repeat("A", 49), "short", strings.Repeat("z", 255)} {
		_, err := svc.Verify(ctx, bad)
		assert.ErrorIs(t, err, apitoken.ErrInvalidKey, bad)
	}
	assert.EqualValues(t, 1, store.lookups.Load(), "malformed keys never reach the store")

	// Keys of the other format keep working, and may be issued again.
	hexSvc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyPrefix: "acme"})
	require.NoError(t, err)
	defer hexSvc.Close(ctx)
	_, hexKey, err := hexSvc.Create(ctx, apitoken.CreateParams{Name: "strapi style"})
	require.NoError(t, err)
	assert.Len(t, hexKey, 256)
	_, err = svc.Verify(ctx, hexKey)
	assert.NoError(t, err, "a prefixed-key service still verifies Strapi keys")
	_, err = hexSvc.Verify(ctx, key)
	assert.NoError(t, err)

	for _, p := range []string{"UPPER", "has_underscore", strings.Repeat("a", 17), "spa ce"} {
		_, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, KeyFormat: apitoken.PrefixedKeys, KeyPrefix: p})
		assert.Error(t, err, p)
	}
}

func TestSaltRotation(t *testing.T) {
	store := memstore.New()
	ctx := context.Background()
	const oldSalt, newSalt = "the-old-salt-0123456789", "the-new-salt-0123456789"
	old, err := apitoken.New(apitoken.Config{Store: store, Salt: oldSalt})
	require.NoError(t, err)
	tok, key, err := old.Create(ctx, apitoken.CreateParams{Name: "ci"})
	require.NoError(t, err)
	_, otherKey, err := old.Create(ctx, apitoken.CreateParams{Name: "idle"})
	require.NoError(t, err)
	require.NoError(t, old.Close(ctx))

	strict, err := apitoken.New(apitoken.Config{Store: store, Salt: newSalt})
	require.NoError(t, err)
	defer strict.Close(ctx)
	_, err = strict.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "without PreviousSalts a new salt invalidates, as in Strapi")

	var events []apitoken.Event
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: newSalt, PreviousSalts: []string{oldSalt},
		OnEvent: func(_ context.Context, e apitoken.Event) { events = append(events, e) }})
	require.NoError(t, err)
	defer svc.Close(ctx)
	counts, err := svc.CountBySalt(ctx)
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltCounts{Previous: 2}, counts)

	got, err := svc.Verify(ctx, key)
	require.NoError(t, err, "a key under a previous salt is accepted")
	assert.Equal(t, tok.ID, got.ID)
	counts, err = svc.CountBySalt(ctx)
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltCounts{Current: 1, Previous: 1}, counts, "and moved to the current salt")
	require.Len(t, events, 1)
	assert.Equal(t, apitoken.EventSaltMoved, events[0].Kind)

	_, err = strict.Verify(ctx, key)
	assert.NoError(t, err, "once moved, the key verifies under the new salt alone")
	_, err = strict.Verify(ctx, otherKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "an unused token stays on the old salt")

	_, err = apitoken.New(apitoken.Config{Store: store, Salt: newSalt, PreviousSalts: []string{"short"}})
	assert.Error(t, err)
}

// strapiEncrypted is strapiKey encrypted by Node's crypto as Strapi does,
// with encryption key "strapi-encryption-key-0123456789" and IV 00…0f:
//
//	key = sha256(secret); c = createCipheriv("aes-256-gcm", key, iv)
//	"v1:" + iv.hex + ":" + ciphertext.hex + ":" + c.getAuthTag().hex
const strapiEncrypted = "v1:000102030405060708090a0b0c0d0e0f:" +
	"b91f8dab2aa49fc52d4c545cabd7bdd165205ce2000d78de7163fa1b45fab7dd61840260cc777849e8749402eaa46885a1d14b5527858996dc97723890247b37eb" +
	"d7c7acca09ce56c03362ae54509dfee996c7e3ab82ef88cd8d5b1370ed1d9e32c5b02ae0919fe972561ebe083fe086955031830c003853ea37f2d308d4bb5782" +
	"2c8903b96c42828eeaa508de980b511465342762c56f7036927fc02b1ab080bfa0e5409e5582d7cd2e9bd590f00c062ddd56aa4aa8d395911f00e137f7b67deb" +
	"17a804673ab3a39fc3c75194ac3864d89962436c2ed400671ae6c8d56bb0c620d38baf3cca932611a64f14bdce264a3ece187c94a96b9116055eee1a215cac" +
	":e8ab34e6733a044d36ad4510992c889b"

func TestRevealKey(t *testing.T) {
	const secret = "strapi-encryption-key-0123456789"
	store := memstore.New()
	ctx := context.Background()
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt, EncryptionKey: secret})
	require.NoError(t, err)
	defer svc.Close(ctx)
	assert.True(t, svc.CanReveal())

	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "recoverable"})
	require.NoError(t, err)
	assert.Regexp(t, `^v1:[0-9a-f]{32}:[0-9a-f]{512}:[0-9a-f]{32}$`, tok.EncryptedKey)
	shown, err := svc.RevealKey(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, key, shown)
	_, fresh, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	shown, err = svc.RevealKey(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, fresh, shown, "regenerate stores the new key's copy")

	// A copy Strapi made decrypts here.
	hash, err := apitoken.ParseHash(strapiHash)
	require.NoError(t, err)
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "strapi", Name: "from strapi", Type: apitoken.ReadOnly, EncryptedKey: strapiEncrypted}, hash))
	shown, err = svc.RevealKey(ctx, "strapi")
	require.NoError(t, err)
	assert.Equal(t, strapiKey, shown)

	other, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt, EncryptionKey: "a-different-encryption-key"})
	require.NoError(t, err)
	defer other.Close(ctx)
	_, err = other.RevealKey(ctx, "strapi")
	assert.ErrorIs(t, err, apitoken.ErrNotRecoverable, "the wrong encryption key")
	assert.NotContains(t, err.Error(), strapiKey)

	plain, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt})
	require.NoError(t, err)
	defer plain.Close(ctx)
	assert.False(t, plain.CanReveal())
	_, err = plain.RevealKey(ctx, "strapi")
	assert.ErrorIs(t, err, apitoken.ErrNotRecoverable)
	tok2, _, err := plain.Create(ctx, apitoken.CreateParams{Name: "unrecoverable"})
	require.NoError(t, err)
	assert.Empty(t, tok2.EncryptedKey, "without an encryption key nothing is stored")
	_, err = svc.RevealKey(ctx, tok2.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotRecoverable)

	for i, bad := range []string{"v2:00:00:00", "v1:zz:00:00", "v1:00", strapiEncrypted[:len(strapiEncrypted)-2] + "00"} {
		require.NoError(t, store.Create(ctx, &apitoken.Token{ID: bad, Name: bad, Type: apitoken.ReadOnly, EncryptedKey: bad}, apitoken.Hash{byte(i + 1)}))
		_, err := svc.RevealKey(ctx, bad)
		assert.ErrorIs(t, err, apitoken.ErrNotRecoverable, bad)
	}
}
