package apitoken_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// strapiSalt, strapiKey and strapiHash were computed outside Go with
//
//	printf %s "$KEY" | openssl dgst -sha512 -hmac "$SALT"
//
// which is what Strapi stores for that salt and key.
const (
	strapiSalt = "nE6aN2sLmXWb2f4oJmQJpQ=="
	strapiHash = "e2115fdaf1ccbed71411dd4191fdeac13a3332269ccae33a4da44d8e04d7aee1" +
		"a61f337edcad4928d2c0ca34dfe085cca85a5d7f5d0efe1c2d70580d2322edc2"
)

var strapiKey = strings.Repeat("0123456789abcdef", 16)

func TestHashMatchesStrapi(t *testing.T) {
	h, err := apitoken.NewHasher(strapiSalt)
	require.NoError(t, err)
	assert.Equal(t, strapiHash, h.Sum(strapiKey).Hex())

	parsed, err := apitoken.ParseHash(strapiHash)
	require.NoError(t, err)
	assert.Equal(t, h.Sum(strapiKey), parsed)
}

// A database row written by Strapi verifies here with the same salt.
func TestVerifyStrapiRow(t *testing.T) {
	store := memstore.New()
	hash, err := apitoken.ParseHash(strapiHash)
	require.NoError(t, err)
	require.NoError(t, store.Create(context.Background(), &apitoken.Token{ID: "1", Name: "from strapi", Type: apitoken.ReadOnly}, hash))
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt})
	require.NoError(t, err)
	defer svc.Close(context.Background())

	tok, err := svc.Verify(context.Background(), strapiKey)
	require.NoError(t, err)
	assert.Equal(t, "from strapi", tok.Name)
	_, err = svc.Verify(context.Background(), strings.ToUpper(strapiKey))
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "keys are case-sensitive")
	_, err = svc.Verify(context.Background(), strapiHash)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the stored hash is not a key")
}

func TestHasherLongKeys(t *testing.T) {
	h, err := apitoken.NewHasher(strapiSalt)
	require.NoError(t, err)
	long := strings.Repeat("k", 10_000)
	assert.Equal(t, h.Sum(long), h.Sum(long), "keys beyond the pooled buffer hash the same each time")
	assert.NotEqual(t, h.Sum(long), h.Sum(long[:9_999]))
}

func TestSaltRequired(t *testing.T) {
	t.Setenv("API_TOKEN_SALT", "")
	_, err := apitoken.New(apitoken.Config{Store: memstore.New()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "API_TOKEN_SALT")
	assert.Contains(t, err.Error(), "openssl rand -base64 16", "the message says how to make one")

	_, err = apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "too-short"})
	assert.ErrorContains(t, err, "at least 16")

	t.Setenv("API_TOKEN_SALT", strapiSalt)
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New()})
	require.NoError(t, err, "the salt comes from the environment")
	svc.Close(context.Background())

	_, err = apitoken.New(apitoken.Config{Salt: strapiSalt})
	assert.ErrorContains(t, err, "Store")
}

func TestParseHashRejects(t *testing.T) {
	for _, s := range []string{"", "abc", strings.Repeat("g", 128), strapiHash + "00"} {
		_, err := apitoken.ParseHash(s)
		assert.Error(t, err, "%q", s)
	}
}

// TestBlankSalt: a salt of white space is refused, whatever its length.
func TestBlankSalt(t *testing.T) {
	for _, salt := range []string{strings.Repeat(" ", 16), strings.Repeat("\t\n ", 10), " short-salt-1234 "} {
		_, err := apitoken.NewHasher(salt)
		assert.Error(t, err, "%q", salt)
	}
	_, err := apitoken.NewHasher(" padded-but-long-enough-salt ")
	assert.NoError(t, err, "white space around a long enough salt is kept, as Strapi keeps it")
}
