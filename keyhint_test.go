package apitoken_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestKeyHint: a token's hint is its key's prefix and last 4 characters,
// never more, and follows the key through a regeneration.
func TestKeyHint(t *testing.T) {
	ctx := context.Background()
	hexSvc, _ := newService(t, apitoken.Config{})
	tok, key := mustCreate(t, hexSvc, apitoken.CreateParams{Name: "hex"})
	assert.Equal(t, "…"+key[len(key)-4:], tok.KeyHint)
	got, err := hexSvc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, tok.KeyHint, got.KeyHint)

	svc, _ := newService(t, apitoken.Config{KeyFormat: apitoken.PrefixedKeys, KeyPrefix: "acme"})
	tok, key = mustCreate(t, svc, apitoken.CreateParams{Name: "prefixed"})
	assert.Equal(t, "acme_…"+key[len(key)-4:], tok.KeyHint)
	assert.Len(t, strings.TrimPrefix(tok.KeyHint, "acme_…"), 4, "4 characters of the key's random part at most")
	_, fresh, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	got, err = svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "acme_…"+fresh[len(fresh)-4:], got.KeyHint, "the new key's hint")
	for _, s := range []string{got.String(), tok.String()} {
		assert.NotContains(t, s, "…", "String leaves the hint out too")
	}
}

// TestPreviousKeyExpiresAt: Get and List say until when the old key of a
// graceful regeneration works, and stop saying it once that has passed.
func TestPreviousKeyExpiresAt(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "graceful"})
	regen, _, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)
	want := clk.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	require.NotNil(t, regen.PreviousKeyExpiresAt)
	assert.True(t, want.Equal(*regen.PreviousKeyExpiresAt))
	list, err := svc.List(ctx)
	require.NoError(t, err)
	require.NotNil(t, list[0].PreviousKeyExpiresAt)
	clk.Add(time.Hour)
	_, err = svc.Verify(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the old key's time is up: it is no key of the token's any more")
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Nil(t, got.PreviousKeyExpiresAt, "Get no longer mentions it")
	list, err = svc.List(ctx)
	require.NoError(t, err)
	assert.Nil(t, list[0].PreviousKeyExpiresAt, "nor List")
}

// TestRegenerateExpired: regenerating an expired token gives it a new life
// of its lifespan from now and a working key; its old key stays dead, even
// when an overlap was asked for.
func TestRegenerateExpired(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "lapsed", Lifespan: apitoken.Days7})
	clk.Add(8 * 24 * time.Hour)
	_, err := svc.Verify(ctx, old)
	require.ErrorIs(t, err, apitoken.ErrExpired)

	got, fresh, err := svc.RegenerateWithOverlap(ctx, tok.ID, 24*time.Hour)
	require.NoError(t, err)
	require.NotNil(t, got.ExpiresAt)
	assert.True(t, clk.Now().Add(7*24*time.Hour).UTC().Truncate(time.Millisecond).Equal(*got.ExpiresAt), "seven days from now")
	assert.Nil(t, got.PreviousKeyExpiresAt, "no overlap for a dead key")
	assert.Equal(t, apitoken.Days7, got.Lifespan)
	_, err = svc.Verify(ctx, fresh)
	assert.NoError(t, err, "the new key works")
	_, err = svc.Verify(ctx, old)
	assert.Error(t, err, "the old key stays dead")

	// A token that has not expired keeps its expiry, as before.
	live, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "live", Lifespan: apitoken.Days7})
	clk.Add(24 * time.Hour)
	got, _, err = svc.Regenerate(ctx, live.ID)
	require.NoError(t, err)
	assert.True(t, live.ExpiresAt.Equal(*got.ExpiresAt))
}
