package apitoken_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

func TestCheckSalt(t *testing.T) {
	ctx := context.Background()
	const saltA, saltB, saltC = "salt-a-0123456789abcdef", "salt-b-0123456789abcdef", "salt-c-0123456789abcdef"
	idOf := func(salt string) string {
		h, err := apitoken.NewHasher(salt)
		require.NoError(t, err)
		return h.ID()
	}
	store := memstore.New()
	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: saltA}), "an empty store fits any salt")

	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: saltA, Logger: discard()})
	require.NoError(t, err)
	mustCreate(t, svc, apitoken.CreateParams{Name: "a1"})
	mustCreate(t, svc, apitoken.CreateParams{Name: "a2"})
	require.NoError(t, svc.Close(ctx))
	// A token imported from Strapi carries no salt id.
	require.NoError(t, store.Create(ctx, &apitoken.Token{ID: "7", Name: "strapi", Type: apitoken.ReadOnly}, apitoken.Hash{1}))

	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: saltA}))
	require.NoError(t, apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: saltB, PreviousSalts: []string{saltA}}),
		"a configured previous salt is known")

	err = apitoken.CheckSalt(ctx, apitoken.Config{Store: store, Salt: saltB, PreviousSalts: []string{saltC}})
	require.ErrorIs(t, err, apitoken.ErrUnknownSalt)
	assert.Contains(t, err.Error(), idOf(saltA), "the error names the salt id the tokens were made with")
	assert.Contains(t, err.Error(), "2 tokens")
	for _, salt := range []string{saltA, saltB, saltC} {
		assert.NotContains(t, err.Error(), salt, "the error never shows a salt")
	}

	r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: saltB, PreviousSalts: []string{saltC}})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Unknown: map[string]int{idOf(saltA): 2}, Unidentified: 1}, r)
	r, err = apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: saltB, PreviousSalts: []string{saltA}})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Previous: map[string]int{idOf(saltA): 2}, Unidentified: 1}, r)
	r, err = apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: saltA})
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltReport{Current: 2, Unidentified: 1}, r)

	_, err = apitoken.CountSalts(ctx, apitoken.Config{Store: store, Salt: "short"})
	assert.Error(t, err, "a salt New would refuse")
}
