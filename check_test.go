package apitoken_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestCheckAuthorization: the hook for servers that are not net/http gives
// the middleware's answers for every token type and state, puts the token
// in the context, and records the same audit events, naming the client it
// is given.
func TestCheckAuthorization(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	store := &outageStore{Store: memstore.New()}
	var mu sync.Mutex
	var events []apitoken.Event
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: testSalt, Clock: clk, AnyAction: true,
		OnEvent: func(_ context.Context, e apitoken.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}})
	const find, create = "api::article.article.find", "api::article.article.create"
	keys := apitokentest.Mint(t, svc, create)
	_, weekKey := mustCreate(t, svc, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	gone, goneKey := mustCreate(t, svc, apitoken.CreateParams{Name: "gone"})
	_, err := svc.Delete(ctx, gone.ID)
	require.NoError(t, err)
	clk.Add(8 * 24 * time.Hour)

	tests := []struct {
		name    string
		values  []string
		actions []string
		want    error
		token   string // the token's name in the context
	}{
		{"read-only find", []string{"Bearer " + keys.ReadOnly}, []string{find}, nil, "read-only"},
		{"read-only create", []string{"Bearer " + keys.ReadOnly}, []string{create}, apitoken.ErrForbidden, ""},
		{"read-only, no action", []string{"Bearer " + keys.ReadOnly}, nil, apitoken.ErrForbidden, ""},
		{"full-access, no action", []string{"bearer " + keys.FullAccess}, nil, nil, "full-access"},
		{"custom create", []string{"BEARER\t" + keys.Custom + " "}, []string{create}, nil, "custom"},
		{"custom find", []string{"Bearer " + keys.Custom}, []string{find}, apitoken.ErrForbidden, ""},
		{"expired", []string{"Bearer " + weekKey}, []string{find}, apitoken.ErrExpired, ""},
		{"revoked", []string{"Bearer " + goneKey}, []string{find}, apitoken.ErrInvalidKey, ""},
		{"none", nil, []string{find}, apitoken.ErrNoCredentials, ""},
		{"empty", []string{""}, []string{find}, apitoken.ErrNoCredentials, ""},
		{"two", []string{"Bearer " + keys.ReadOnly, "Bearer " + keys.ReadOnly}, []string{find}, apitoken.ErrMultipleHeaders, ""},
		{"basic", []string{"Basic " + keys.ReadOnly}, []string{find}, apitoken.ErrMalformedHeader, ""},
		{"three parts", []string{"Bearer a b"}, []string{find}, apitoken.ErrInvalidKey, ""}, // as the middleware: no key has white space
		{"oversized", []string{"Bearer " + strings.Repeat("a", 1<<20)}, []string{find}, apitoken.ErrInvalidKey, ""},
		{"non-ASCII", []string{"Bearer " + strings.Repeat("é", 128)}, []string{find}, apitoken.ErrInvalidKey, ""},
	}
	for _, tt := range tests {
		got, err := svc.CheckAuthorization(ctx, "192.0.2.7", tt.values, tt.actions...)
		if tt.want != nil {
			assert.ErrorIs(t, err, tt.want, tt.name)
			assert.Equal(t, ctx, got, "%s: the context is returned as it was", tt.name)
			assert.ErrorIs(t, apitoken.Can(got, find), apitoken.ErrNoCredentials, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		tok, ok := apitoken.FromContext(got)
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.token, tok.Name, tt.name)
		assert.NoError(t, apitoken.Can(got, tt.actions...), tt.name)
	}

	mu.Lock()
	var failed, expired int
	for _, e := range events {
		switch e.Kind {
		case apitoken.EventAuthFailed:
			failed++
			assert.Equal(t, "192.0.2.7", e.Client)
		case apitoken.EventExpiredKey:
			expired++
			assert.Equal(t, "192.0.2.7", e.Client)
			assert.Equal(t, "week", e.TokenName)
		}
	}
	mu.Unlock()
	assert.Equal(t, 8, failed, "revoked, none, empty, two, basic, three parts, oversized, non-ASCII: one each, but not forbidden")
	assert.Equal(t, 1, expired)

	store.down.Store(true)
	got, err := svc.CheckAuthorization(ctx, "", []string{"Bearer " + keys.FullAccess})
	assert.ErrorIs(t, err, apitoken.ErrUnavailable, "fails closed")
	assert.Equal(t, 503, apitoken.StatusCode(err))
	_, ok := apitoken.FromContext(got)
	assert.False(t, ok)
}
