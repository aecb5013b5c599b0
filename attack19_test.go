package apitoken_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestAttack19CurrentKeyTakenForDeadPrevious: a token regenerated with an
// overlap that reaches past the token's own expiry. Once both have passed,
// the CURRENT key is taken for a dead previous key (ExpiresAt <=
// PreviousKeyExpiresAt <= now): it is refused as unknown instead of
// expired, raises a false EventKeyReused, and with DisableOnReuse its
// legitimate holder disables the token, which then stays disabled when
// the admin regenerates the expired token to give it a new life.
func TestAttack19CurrentKeyTakenForDeadPrevious(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	var mu sync.Mutex
	var reused int
	svc, _ := newService(t, apitoken.Config{Clock: clk, DisableOnReuse: true,
		OnEvent: func(_ context.Context, e apitoken.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Kind == apitoken.EventKeyReused {
				reused++
			}
		}})
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	clk.Add(6 * 24 * time.Hour)
	_, cur, err := svc.RegenerateWithOverlap(ctx, tok.ID, 2*24*time.Hour) // overlap ends a day after expiry
	require.NoError(t, err)
	clk.Add(3 * 24 * time.Hour) // past expiry and past the overlap

	_, err = svc.Verify(ctx, cur)
	assert.ErrorIs(t, err, apitoken.ErrExpired, "the current key of an expired token is expired, not unknown")
	mu.Lock()
	assert.Zero(t, reused, "the current key's use is no reuse of a replaced key")
	mu.Unlock()

	_, err = svc.Lookup(ctx, cur)
	assert.NoError(t, err, "Lookup (RevokeLeaked) finds an expired token by its current key")

	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.False(t, got.Disabled, "the legitimate holder of the current key must not disable the token")

	// The admin renews the expired token: it must work again.
	_, renewed, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	_, err = svc.Verify(ctx, renewed)
	assert.NoError(t, err, "a renewed token is usable")
}

// TestAttack19DisableOnReuseFailsForUnvalidatableToken: DisableOnReuse
// disables through Service.Update, which re-validates the whole token. A
// token that no longer passes validation (one of its actions is no longer
// registered, e.g. after a deploy dropped a route) cannot be disabled, so a
// reuse of its replaced key only logs a warning and the current key, which
// may be in the same hands, keeps working. RevokeLeaked falls back to
// deleting in this case; keyReused does not.
func TestAttack19DisableOnReuseFailsForUnvalidatableToken(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	clk := apitokentest.NewClock()
	before := apitokentest.New(t, apitoken.Config{Store: store, Clock: clk, AnyAction: true})
	tok, old, err := before.Create(ctx, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{"api::gone.gone.find", "api::kept.kept.find"}})
	require.NoError(t, err)
	reg := &apitoken.Registry{}
	reg.Register("api::kept.kept.find")
	svc := apitokentest.New(t, apitoken.Config{Store: store, Clock: clk, Actions: reg, DisableOnReuse: true})
	_, cur, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	_, err = svc.Verify(ctx, old)
	require.ErrorIs(t, err, apitoken.ErrInvalidKey)
	_, err = svc.Verify(ctx, cur)
	assert.ErrorIs(t, err, apitoken.ErrDisabled, "DisableOnReuse: the reuse must stop the current key too")
}

// TestAttack19ConcurrentReuseDisablesOnce: simultaneous uses of one
// replaced key (a leaked key replayed in parallel) each see the token
// enabled and each disable it, so that one reuse gives several
// EventUpdated records and store writes.
func TestAttack19ConcurrentReuseDisablesOnce(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	updated := map[string]int{}
	svc, _ := newService(t, apitoken.Config{DisableOnReuse: true,
		OnEvent: func(_ context.Context, e apitoken.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Kind == apitoken.EventUpdated {
				updated[e.TokenID]++
			}
		}})
	// The race is narrow: try it on 30 tokens, each once.
	for i := range 30 {
		tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "ci" + string(rune('a'+i))})
		_, _, err := svc.Regenerate(ctx, tok.ID)
		require.NoError(t, err)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := svc.Verify(ctx, old)
				assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
			}()
		}
		close(start)
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range updated {
		assert.Equal(t, 1, n, "one disable for one reused key (token %s)", id)
	}
}

// TestAttack19SelfShowsDeadPreviousKey: after a regeneration without an
// overlap the store keeps the replaced key (for reuse detection) with a
// deadline of now. The admin API (Get, List) hides a previous key once it
// stopped working; GET /self does not, and shows a previousKeyExpiresAt in
// the past, as if a graceful regeneration had happened, after every
// regeneration.
func TestAttack19SelfShowsDeadPreviousKey(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, apitoken.Config{})
	srv := httptest.NewServer(svc.SelfHandler())
	defer srv.Close()
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "ci"})
	_, cur, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	require.Nil(t, got.PreviousKeyExpiresAt, "the admin API shows no previous key")
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/self", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+cur)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, string(body), "previousKeyExpiresAt", "GET /self shows what the admin API hides")
}
