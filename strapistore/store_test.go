package strapistore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/storetest"
	"github.com/go-apitoken/apitoken/strapistore"
)

// TestStore runs the conformance suite on every engine and Strapi version.
// Strapi's schema keeps no salt id and no previous key; TestSetKey below
// covers the rest of SetKey. Owners are Strapi's admin user ids, and v4's
// schema has no admin tokens.
func TestStore(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		limits := []storetest.Limit{storetest.NoSaltID, storetest.NoPreviousKey, storetest.NoPolicy, storetest.NoKeyHint,
			storetest.NumericOwner}
		if kind, owner := newDB(t).store(t).AdminTokens(); !kind || !owner {
			limits = append(limits, storetest.NoKind) // v4's schema
		}
		storetest.Run(t, func(t *testing.T) apitoken.Store {
			return newDB(t).store(t)
		}, limits...)
	})
}

// TestSetKey is storetest's SetKey without the salt id, which the store
// does not keep.
func TestSetKey(t *testing.T) {
	forEach(t, func(t *testing.T, newDB func(t *testing.T) *strapiDB) {
		ctx := context.Background()
		s := newDB(t).store(t)
		base := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
		exp := base.Add(30 * 24 * time.Hour)
		tok := &apitoken.Token{ID: "new", Name: "rotating", Type: apitoken.Custom, Lifespan: apitoken.Days30, ExpiresAt: &exp,
			CreatedAt: base, UpdatedAt: base, Permissions: []string{"api::a.a.find"}, EncryptedKey: "v1:00:11:22", SaltID: "salt-a"}
		old := apitoken.Hash{1}
		require.NoError(t, s.Create(ctx, tok, old))
		got, err := s.Get(ctx, tok.ID)
		require.NoError(t, err)
		assert.Empty(t, got.SaltID, "no column for the salt id")
		if s.EncryptedKeys() {
			assert.Equal(t, "v1:00:11:22", got.EncryptedKey)
		} else {
			assert.Empty(t, got.EncryptedKey, "no encrypted_key column")
		}

		fresh, later := apitoken.Hash{2}, base.Add(2*time.Hour)
		require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fresh, EncryptedKey: "v1:33:44:55", SaltID: "salt-b", UpdatedAt: later}))
		_, err = s.GetByHash(ctx, old)
		assert.ErrorIs(t, err, apitoken.ErrNotFound, "the old hash is gone at once")
		got, err = s.GetByHash(ctx, fresh)
		require.NoError(t, err)
		assert.True(t, got.UpdatedAt.Equal(later))
		assert.True(t, got.ExpiresAt.Equal(exp))
		assert.Equal(t, []string{"api::a.a.find"}, got.Permissions)
		if s.EncryptedKeys() {
			assert.Equal(t, "v1:33:44:55", got.EncryptedKey)
		}

		// A key set again to the same values is still found (MySQL
		// reports no changed rows then).
		require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: fresh, EncryptedKey: "v1:33:44:55", UpdatedAt: later}))

		// Update leaves the key alone.
		_, err = s.Update(ctx, tok.ID, func(t *apitoken.Token) error {
			t.Description = "edited"
			return nil
		})
		require.NoError(t, err)
		got, err = s.GetByHash(ctx, fresh)
		require.NoError(t, err)
		assert.Equal(t, "edited", got.Description)

		// A graceful regeneration is refused before anything changes.
		err = s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: apitoken.Hash{3}, UpdatedAt: later, PreviousValidUntil: later})
		assert.ErrorIs(t, err, strapistore.ErrUnsupported)
		_, err = s.GetByHash(ctx, fresh)
		assert.NoError(t, err)

		assert.ErrorIs(t, s.SetKey(ctx, "999", apitoken.NewKey{Hash: apitoken.Hash{4}, UpdatedAt: later}), apitoken.ErrNotFound)
	})
}
