package apitoken_test

import (
	"bytes"
	"context"
	"log/slog"
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

// events collects the audit events of a Service.
type events struct {
	mu   sync.Mutex
	list []apitoken.Event
}

func (e *events) record(_ context.Context, ev apitoken.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = nil
}

func (e *events) kinds() []apitoken.EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ks []apitoken.EventKind
	for _, ev := range e.list {
		ks = append(ks, ev.Kind)
	}
	return ks
}

// TestLookupSkipsRequestChecks: Lookup finds the token of an expired, a
// disabled, an address-bound and a quota-limited key, spends nothing,
// records no use and gives no event; unknown and implausible keys are
// ErrInvalidKey.
func TestLookupSkipsRequestChecks(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	var ev events
	svc, _ := newService(t, apitoken.Config{Clock: clock, ExpiryWarning: -1, OnEvent: ev.record, KeyFormat: apitoken.PrefixedKeys})
	on := true
	expiring, expiringKey := mustCreate(t, svc, apitoken.CreateParams{Name: "expiring", Lifespan: apitoken.Duration(7 * 24 * time.Hour)})
	disabled, disabledKey := mustCreate(t, svc, apitoken.CreateParams{Name: "disabled", PolicyParams: apitoken.PolicyParams{Disabled: &on}})
	bound, boundKey := mustCreate(t, svc, apitoken.CreateParams{Name: "bound", PolicyParams: apitoken.PolicyParams{AllowedIPs: []string{"10.0.0.0/8"}}})
	quota, quotaKey := mustCreate(t, svc, apitoken.CreateParams{Name: "quota", PolicyParams: apitoken.PolicyParams{Quota: &apitoken.Quota{Limit: 1}}})
	clock.Add(8 * 24 * time.Hour)
	ev.reset()

	for _, c := range []struct {
		key string
		tok *apitoken.Token
	}{{expiringKey, expiring}, {disabledKey, disabled}, {boundKey, bound}, {quotaKey, quota}, {quotaKey, quota}} {
		got, err := svc.Lookup(ctx, c.key)
		require.NoError(t, err, c.tok.Name)
		assert.Equal(t, c.tok.ID, got.ID)
	}
	assert.Empty(t, ev.kinds(), "a lookup is no authentication: no event")
	_, err := svc.Verify(ctx, quotaKey)
	require.NoError(t, err, "two lookups spent none of the quota of 1")
	require.NoError(t, svc.Flush(ctx))
	got, err := svc.Get(ctx, expiring.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LastUsedAt, "a lookup records no use")

	last := "x" // the key with its last character changed
	if strings.HasSuffix(expiringKey, last) {
		last = "y"
	}
	for _, key := range []string{"", "nonsense", "apitoken_" + string(bytes.Repeat([]byte("a"), 49)), expiringKey[:len(expiringKey)-1] + last, string(bytes.Repeat([]byte("0"), 256))} {
		_, err := svc.Lookup(ctx, key)
		assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "%.20q", key)
	}
}

// TestLookupPreviousSaltDoesNotMove: a key hashed under a previous salt is
// found, and stays on that salt.
func TestLookupPreviousSaltDoesNotMove(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	old := apitokentest.New(t, apitoken.Config{Store: store, Salt: "the-old-salt-0123456789"})
	tok, key, err := old.Create(ctx, apitoken.CreateParams{Name: "ci"})
	require.NoError(t, err)
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: testSalt, PreviousSalts: []string{"the-old-salt-0123456789"}})
	got, err := svc.Lookup(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
	counts, err := svc.CountBySalt(ctx)
	require.NoError(t, err)
	assert.Equal(t, apitoken.SaltCounts{Previous: 1}, counts, "Lookup changes nothing")
}

// TestLookupFailsClosed: a store that cannot be asked is ErrUnavailable.
func TestLookupFailsClosed(t *testing.T) {
	store := &outageStore{Store: memstore.New()}
	svc := apitokentest.New(t, apitoken.Config{Store: store})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci"})
	store.down.Store(true)
	_, err := svc.Lookup(context.Background(), key)
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)
	_, err = svc.RevokeLeaked(context.Background(), key, apitoken.Leak{Where: "x"})
	assert.ErrorIs(t, err, apitoken.ErrUnavailable)
}

// TestRevokeLeaked: deleting and disabling, the events naming where the key
// was found with the key masked, an expired token revoked too, a disabled
// one not written again, and no key in the log.
func TestRevokeLeaked(t *testing.T) {
	ctx := context.Background()
	clock := apitokentest.NewClock()
	var ev events
	var logs bytes.Buffer
	svc, _ := newService(t, apitoken.Config{Clock: clock, ExpiryWarning: -1, OnEvent: ev.record, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	del, delKey := mustCreate(t, svc, apitoken.CreateParams{Name: "deleted"})
	got, err := svc.RevokeLeaked(ctx, delKey, apitoken.Leak{Where: "https://example.com/?q=" + delKey, Client: "192.0.2.1"})
	require.NoError(t, err)
	assert.Equal(t, del.ID, got.ID)
	_, err = svc.Verify(ctx, delKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	require.Equal(t, []apitoken.EventKind{apitoken.EventCreated, apitoken.EventDeleted, apitoken.EventLeaked}, ev.kinds())
	leaked := ev.list[2]
	assert.Equal(t, "https://example.com/?q=[key]", leaked.Where)
	assert.Equal(t, "192.0.2.1", leaked.Client)
	assert.Equal(t, del.ID, leaked.TokenID)

	dis, disKey := mustCreate(t, svc, apitoken.CreateParams{Name: "disabled", Lifespan: apitoken.Duration(7 * 24 * time.Hour)})
	clock.Add(8 * 24 * time.Hour) // expired: revoked all the same
	ev.reset()
	_, err = svc.RevokeLeaked(ctx, disKey, apitoken.Leak{Where: "commit", Disable: true})
	require.NoError(t, err)
	now, err := svc.Get(ctx, dis.ID)
	require.NoError(t, err)
	assert.True(t, now.Disabled)
	assert.Equal(t, []apitoken.EventKind{apitoken.EventUpdated, apitoken.EventLeaked}, ev.kinds())
	stamp := now.UpdatedAt
	clock.Add(time.Minute)
	ev.reset()
	_, err = svc.RevokeLeaked(ctx, disKey, apitoken.Leak{Where: "again", Disable: true})
	require.NoError(t, err)
	now, err = svc.Get(ctx, dis.ID)
	require.NoError(t, err)
	assert.Equal(t, stamp, now.UpdatedAt, "already disabled: not written again")
	assert.Equal(t, []apitoken.EventKind{apitoken.EventLeaked}, ev.kinds())

	ev.reset()
	_, err = svc.RevokeLeaked(ctx, delKey, apitoken.Leak{Where: "gone"})
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	assert.Empty(t, ev.kinds(), "nothing revoked, nothing recorded")

	assert.Contains(t, logs.String(), "apitoken: leaked")
	assert.Contains(t, logs.String(), "where=")
	for _, key := range []string{delKey, disKey, delKey[:40]} {
		assert.NotContains(t, logs.String(), key)
	}
}

// TestRevokeLeakedDeletesWhatCannotBeDisabled: a token that no longer
// passes validation (its action is no longer registered) cannot be
// disabled, so it is deleted.
func TestRevokeLeakedDeletesWhatCannotBeDisabled(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	before := apitokentest.New(t, apitoken.Config{Store: store, AnyAction: true})
	_, key, err := before.Create(ctx, apitoken.CreateParams{Name: "old", Type: apitoken.Custom, Permissions: []string{"api::gone.gone.find"}})
	require.NoError(t, err)
	svc := apitokentest.New(t, apitoken.Config{Store: store, Actions: &apitoken.Registry{}})
	_, err = svc.RevokeLeaked(ctx, key, apitoken.Leak{Where: "x", Disable: true})
	require.NoError(t, err)
	_, err = svc.Lookup(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "deleted, since it could not be disabled")
}

// TestRevokeLeakedOldKey: a key a regeneration replaced, reported leaked
// after it stopped working, revokes nothing and is recorded, without the
// key, as EventLeakedOldKey naming where it was found.
func TestRevokeLeakedOldKey(t *testing.T) {
	ctx := context.Background()
	var ev events
	var logs bytes.Buffer
	svc, _ := newService(t, apitoken.Config{ExpiryWarning: -1, OnEvent: ev.record, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "ci"})
	_, fresh, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	ev.reset()

	_, err = svc.RevokeLeaked(ctx, old, apitoken.Leak{Where: "a gist: " + old, Client: "192.0.2.1"})
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	require.Equal(t, []apitoken.EventKind{apitoken.EventLeakedOldKey}, ev.kinds())
	assert.Equal(t, tok.ID, ev.list[0].TokenID)
	assert.Equal(t, "a gist: [key]", ev.list[0].Where)
	_, err = svc.Verify(ctx, fresh)
	assert.NoError(t, err, "the token's current key is left alone")
	assert.NotContains(t, logs.String(), old)
}
