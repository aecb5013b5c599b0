package strapistore_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/strapistore"
)

// The Strapi project's secrets, and keys with their stored forms, computed
// outside Go:
//
//	printf %s "$key" | openssl dgst -sha512 -hmac "$salt"
//
// and, for the encrypted copies, with Node's crypto as Strapi does it:
//
//	k = sha256(encryptionKey); c = createCipheriv("aes-256-gcm", k, iv)
//	"v1:" + iv.hex + ":" + ciphertext.hex + ":" + c.getAuthTag().hex
const (
	strapiSalt          = "nE6aN2sLmXWb2f4oJmQJpQ=="
	strapiEncryptionKey = "strapi-encryption-key-0123456789"
)

var (
	fullKey  = strings.Repeat("0123456789abcdef", 16)
	fullHash = "e2115fdaf1ccbed71411dd4191fdeac13a3332269ccae33a4da44d8e04d7aee1" +
		"a61f337edcad4928d2c0ca34dfe085cca85a5d7f5d0efe1c2d70580d2322edc2"
	// IV 000102…0f.
	fullEncrypted = "v1:000102030405060708090a0b0c0d0e0f:" +
		"b91f8dab2aa49fc52d4c545cabd7bdd165205ce2000d78de7163fa1b45fab7dd61840260cc777849e8749402eaa46885a1d14b5527858996dc97723890247b37eb" +
		"d7c7acca09ce56c03362ae54509dfee996c7e3ab82ef88cd8d5b1370ed1d9e32c5b02ae0919fe972561ebe083fe086955031830c003853ea37f2d308d4bb5782" +
		"2c8903b96c42828eeaa508de980b511465342762c56f7036927fc02b1ab080bfa0e5409e5582d7cd2e9bd590f00c062ddd56aa4aa8d395911f00e137f7b67deb" +
		"17a804673ab3a39fc3c75194ac3864d89962436c2ed400671ae6c8d56bb0c620d38baf3cca932611a64f14bdce264a3ece187c94a96b9116055eee1a215cac" +
		":e8ab34e6733a044d36ad4510992c889b"

	expiredKey  = strings.Repeat("fedcba9876543210", 16)
	expiredHash = "76f267563f059dc3f030e9b882d373aba4e60f35b0383edaf033b8709282716a" +
		"266183ed85ee87c2c359227879499101967fa290a8b9972d4875074720669e67"

	customKey  = strings.Repeat("00112233445566778899aabbccddeeff", 8)
	customHash = "2c5b881f85db50ca5ae5ee91a233f10ea633f387a5133a1c66f24cfdfd294c88" +
		"5819c1b079815a7ba31a6e742ac8c6a57010c5d5ca46976374aa696ffd01cd06"
	// IV f0e0d0…00.
	customEncrypted = "v1:f0e0d0c0b0a090807060504030201000:" +
		"12367140f48cea90e34f727ded829c13dd1b3869025eb79c17147dce9f747b911ed21ecce9ace2b7121914211dd12b8fb49adfd8ef6b49fac784101fd39a4418" +
		"67e22ad89fff7172cfcd8fb8deea17371d84f91f1d2f3f4e8c3604b110445adcea6d336289688e1516204f6b947f7fe9562ee8cad47e10580883089f5f2e308c" +
		"4383632b39f70eae080bba4e1f1c1c9b7a27aeb02e76459f85e4786e433f7a7648c1df5d218b1ab3070743a5682869aac5a74efe9a3199fd96f2118b5d3ce91c" +
		"6da4dad10a336c9c7ee6a9dc3223a2cbae5d552d3c5c07dccc1330eaffed27fa59fab1b120dce5084be0a54a2960652894a4429bd560b5b7923a9639c689954b" +
		":c7a25623e7588ddd67269358c4418c6e"
)

// strapiRows are the fixture tokens, as Strapi would have written them.
type strapiRows struct {
	full, expired, custom int64
	created               time.Time
}

// seed writes three tokens the way Strapi does: a full-access one that never
// expires, a read-only one that expired in 2020, and a custom one with two
// permissions that expires in 2099. In v5 the rows carry document ids,
// published_at and encrypted keys.
func (s *strapiDB) seed(t *testing.T) strapiRows {
	t.Helper()
	created := time.Date(2020, 1, 1, 12, 0, 0, 123_000_000, time.UTC)
	v5 := s.version == strapistore.V5
	insert := func(name, typ, hash string, encrypted, lifespan, expires any) int64 {
		cols := "name, description, type, access_key, last_used_at, expires_at, lifespan, created_at, updated_at"
		args := []any{name, "", typ, hash, nil, expires, lifespan, s.time(created), s.time(created)}
		if v5 {
			cols += ", document_id, published_at, locale, encrypted_key"
			args = append(args, "wzantxt7e3lfjypiihs5"+randomHex(2), s.time(created), nil, encrypted)
		}
		return s.insertID(t, "INSERT INTO "+s.prefix+"api_tokens ("+cols+") VALUES ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")", args...)
	}
	r := strapiRows{created: created}
	r.full = insert("Full Access", "full-access", fullHash, fullEncrypted, nil, nil)
	// Made without an encryption key: encrypted_key is NULL.
	r.expired = insert("Expired", "read-only", expiredHash, nil, int64(604800000), s.time(created.Add(7*24*time.Hour)))
	r.custom = insert("Custom", "custom", customHash, customEncrypted, int64(2592000000), s.time(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	for i, action := range []string{"plugin::upload.content-api.find", "api::article.article.find"} {
		cols, args := "action, created_at, updated_at", []any{action, s.time(created), s.time(created)}
		if v5 {
			cols += ", document_id, published_at, locale"
			args = append(args, "lpyls65b4v45uwxm3ducv9"+randomHex(1), s.time(created), nil)
		}
		perm := s.insertID(t, "INSERT INTO "+s.prefix+"api_token_permissions ("+cols+") VALUES (?, ?, ?"+strings.Repeat(", ?", len(args)-3)+")", args...)
		s.exec(t, "INSERT INTO "+s.links()+" (api_token_permission_id, api_token_id, "+s.orderCol()+") VALUES (?, ?, ?)", perm, r.custom, float64(i+1))
	}
	return r
}

func newService(t *testing.T, store apitoken.Store) *apitoken.Service {
	t.Helper()
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: strapiSalt, EncryptionKey: strapiEncryptionKey, AnyAction: true,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(context.Background()) })
	return svc
}

// checkStrapiTokens verifies the fixture keys through svc: types, expiry,
// custom permissions (end to end through the middleware), and RevealKey.
func checkStrapiTokens(t *testing.T, svc *apitoken.Service, r strapiRows, recoverable bool) {
	t.Helper()
	ctx := context.Background()

	full, err := svc.Verify(ctx, fullKey)
	require.NoError(t, err)
	assert.Equal(t, "Full Access", full.Name)
	assert.Equal(t, apitoken.FullAccess, full.Type)
	assert.Nil(t, full.ExpiresAt)
	assert.Equal(t, apitoken.Unlimited, full.Lifespan)
	assert.True(t, full.CreatedAt.Equal(r.created), "createdAt %v", full.CreatedAt)
	assert.Equal(t, strapistoreID(r.full), full.ID)

	expired, err := svc.Verify(ctx, expiredKey)
	assert.ErrorIs(t, err, apitoken.ErrExpired)
	require.NotNil(t, expired)
	assert.Equal(t, apitoken.Days7, expired.Lifespan)
	assert.True(t, expired.ExpiresAt.Equal(r.created.Add(7*24*time.Hour)))

	custom, err := svc.Verify(ctx, customKey)
	require.NoError(t, err)
	assert.Equal(t, apitoken.Custom, custom.Type)
	assert.Equal(t, apitoken.Days30, custom.Lifespan)
	assert.Equal(t, []string{"api::article.article.find", "plugin::upload.content-api.find"}, custom.Permissions)

	_, err = svc.Verify(ctx, strings.Repeat("ab", 128))
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)

	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /api/articles", svc.Require("api::article.article.find")(ok))
	mux.Handle("POST /api/articles", svc.Require("api::article.article.create")(ok))
	for _, c := range []struct {
		method, key string
		want        int
	}{
		{"GET", customKey, http.StatusOK},
		{"POST", customKey, http.StatusForbidden},
		{"GET", fullKey, http.StatusOK},
		{"POST", fullKey, http.StatusOK},
		{"GET", expiredKey, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(c.method, "/api/articles", nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		assert.Equal(t, c.want, rec.Code, "%s with the key of %s", c.method, map[string]string{customKey: "custom", fullKey: "full", expiredKey: "expired"}[c.key])
	}

	for id, key := range map[int64]string{r.full: fullKey, r.custom: customKey} {
		shown, err := svc.RevealKey(ctx, strapistoreID(id))
		if recoverable {
			require.NoError(t, err)
			assert.Equal(t, key, shown)
		} else {
			assert.ErrorIs(t, err, apitoken.ErrNotRecoverable)
		}
	}
	_, err = svc.RevealKey(ctx, strapistoreID(r.expired))
	assert.ErrorIs(t, err, apitoken.ErrNotRecoverable, "Strapi stored no encrypted copy")
}

// strapistoreID is the Token.ID of a Strapi id.
func strapistoreID(id int64) string { return strconv.FormatInt(id, 10) }

// TestStrapiTokens verifies tokens that Strapi wrote, with hashes and
// encrypted keys computed outside Go, through a Service on the store; then
// imports them into a memstore and verifies them there.
func TestStrapiTokens(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		ctx := context.Background()
		sdb := newDB(t)
		rows := sdb.seed(t)
		store := sdb.store(t)
		checkStrapiTokens(t, newService(t, store), rows, sdb.version == strapistore.V5)

		// lastUsedAt is written to Strapi's column.
		svc := newService(t, store)
		_, err := svc.Verify(ctx, customKey)
		require.NoError(t, err)
		require.NoError(t, svc.Flush(ctx))
		got, err := store.Get(ctx, strapistoreID(rows.custom))
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		assert.WithinDuration(t, time.Now(), *got.LastUsedAt, time.Minute)

		mem := memstore.New()
		rep, err := strapistore.Import(ctx, store, mem, strapistore.ImportOptions{})
		require.NoError(t, err)
		assert.Equal(t, 3, rep.Count(strapistore.ImportAdd))
		assert.Len(t, rep.Changes, 3)
		checkStrapiTokens(t, newService(t, mem), rows, sdb.version == strapistore.V5)
		copied, err := mem.Get(ctx, strapistoreID(rows.custom))
		require.NoError(t, err)
		assert.True(t, copied.LastUsedAt.Equal(*got.LastUsedAt), "lastUsedAt is copied")
		assert.True(t, copied.UpdatedAt.Equal(rows.created))

		rep, err = strapistore.Import(ctx, store, mem, strapistore.ImportOptions{})
		require.NoError(t, err)
		assert.Empty(t, rep.Changes, "a second import changes nothing")
		assert.Equal(t, 3, rep.Unchanged)
	})
}
