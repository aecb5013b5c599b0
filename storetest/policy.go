package storetest

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// withPolicy returns a token with every part of a Policy set.
func withPolicy(name string) *apitoken.Token {
	tok := newToken(name, apitoken.ReadOnly)
	tok.Policy = apitoken.Policy{
		Disabled:   true,
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")},
		RateLimit:  &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)},
		Quota:      &apitoken.Quota{Limit: 500, Refill: apitoken.Daily, Remaining: 500, RefilledAt: base},
	}
	return tok
}

// testPolicy: a token's Policy is kept by Create and Update, and comes back
// from Get, GetByHash and List; an Update can clear it.
func testPolicy(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := withPolicy("policy")
	if l.has(NoPolicy) {
		err := s.Create(ctx, tok, newHash(t))
		assert.ErrorIs(t, err, errors.ErrUnsupported, "a store that cannot keep a policy says so")
		return
	}
	h := create(t, s, tok)
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	equal(t, tok, got)
	got, err = s.GetByHash(ctx, h)
	require.NoError(t, err)
	equal(t, tok, got)
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	equal(t, tok, list[0])

	cleared := tok.Clone()
	cleared.Policy = apitoken.Policy{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	_, err = s.Update(ctx, tok.ID, replace(cleared))
	require.NoError(t, err)
	got, err = s.GetByHash(ctx, h)
	require.NoError(t, err)
	equal(t, cleared, got)
}

// spender returns s as a QuotaSpender, or skips.
func spender(t *testing.T, s apitoken.Store, l limits) apitoken.QuotaSpender {
	t.Helper()
	l.need(t, NoPolicy)
	qs, ok := s.(apitoken.QuotaSpender)
	if !ok {
		t.Skip("the store is no apitoken.QuotaSpender")
	}
	return qs
}

// testSpendQuota: uses are spent down to none, refilled once a new period
// has started, and a token without a quota is not limited.
func testSpendQuota(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	qs := spender(t, s, l)
	tok := newToken("quota", apitoken.ReadOnly)
	tok.Quota = &apitoken.Quota{Limit: 2, Refill: apitoken.Daily, Remaining: 2, RefilledAt: base}
	create(t, s, tok)
	now := base.Add(time.Hour)
	day := tok.Quota.PeriodStart(now)
	for want := int64(1); want >= 0; want-- {
		left, err := qs.SpendQuota(ctx, tok.ID, now, day)
		require.NoError(t, err)
		assert.Equal(t, want, left)
	}
	_, err := qs.SpendQuota(ctx, tok.ID, now, day)
	require.ErrorIs(t, err, apitoken.ErrQuotaExhausted)
	got, err := s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Zero(t, got.Quota.Remaining, "what was spent is kept")

	tomorrow := now.Add(24 * time.Hour)
	left, err := qs.SpendQuota(ctx, tok.ID, tomorrow, tok.Quota.PeriodStart(tomorrow))
	require.NoError(t, err)
	assert.Equal(t, int64(1), left, "refilled at the first use of a new period")
	got, err = s.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.True(t, got.Quota.RefilledAt.Equal(tomorrow.Truncate(time.Millisecond)), "refilledAt %v", got.Quota.RefilledAt)

	plain := newToken("no quota", apitoken.ReadOnly)
	create(t, s, plain)
	_, err = qs.SpendQuota(ctx, plain.ID, now, time.Time{})
	assert.NoError(t, err, "no quota, no limit")
	_, err = qs.SpendQuota(ctx, "00000000-0000-4000-8000-000000000000", now, time.Time{})
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

// testSpendQuotaConcurrent: of many concurrent uses, exactly as many as the
// quota holds succeed.
func testSpendQuotaConcurrent(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	qs := spender(t, s, l)
	const quota, uses = 50, 120
	tok := newToken("shared quota", apitoken.ReadOnly)
	tok.Quota = &apitoken.Quota{Limit: quota, Remaining: quota, RefilledAt: base}
	create(t, s, tok)
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range uses {
		wg.Go(func() {
			<-start
			switch _, err := qs.SpendQuota(ctx, tok.ID, base, time.Time{}); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, apitoken.ErrQuotaExhausted):
				exhausted.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(quota), ok.Load(), "successes")
	assert.Equal(t, int64(uses-quota), exhausted.Load(), "refusals")
}

// testClaimNotice: of concurrent claims of one notice, exactly one is
// first; another kind, or another expiry of the token, is another notice.
func testClaimNotice(t *testing.T, s apitoken.Store, l limits) {
	nc, ok := s.(apitoken.NoticeClaimer)
	if !ok {
		t.Skip("the store is no apitoken.NoticeClaimer")
	}
	ctx := context.Background()
	tok := newToken("noticed", apitoken.ReadOnly)
	create(t, s, tok)
	exp := *tok.ExpiresAt
	var first atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, err := nc.ClaimNotice(ctx, tok.ID, exp, apitoken.EventExpiring)
			if err != nil {
				t.Error(err)
			}
			if ok {
				first.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), first.Load(), "one claim of twenty is first")
	ok, err := nc.ClaimNotice(ctx, tok.ID, exp, apitoken.EventExpired)
	require.NoError(t, err)
	assert.True(t, ok, "another kind is another notice")
	ok, err = nc.ClaimNotice(ctx, tok.ID, exp.Add(30*24*time.Hour), apitoken.EventExpiring)
	require.NoError(t, err)
	assert.True(t, ok, "a new expiry is noticed again")
	ok, err = nc.ClaimNotice(ctx, tok.ID, exp, apitoken.EventExpiring)
	require.NoError(t, err)
	assert.False(t, ok)
}

// testSetKeyIfHash: a conditional key change lands only while the token's
// key is still the one named, else ErrStale; a store that cannot compare
// says so with errors.ErrUnsupported.
func testSetKeyIfHash(t *testing.T, s apitoken.Store, l limits) {
	ctx := context.Background()
	tok := newToken("rotating", apitoken.ReadOnly)
	h := create(t, s, tok)
	stale := newHash(t)
	err := s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: newHash(t), UpdatedAt: base, IfHash: &stale})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("the store cannot change a key conditionally")
	}
	require.ErrorIs(t, err, apitoken.ErrStale, "the key named is not the token's")
	_, err = s.GetByHash(ctx, h)
	require.NoError(t, err, "nothing changed")
	next := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: next, UpdatedAt: base, IfHash: &h}))
	got, err := s.GetByHash(ctx, next)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
	_, err = s.GetByHash(ctx, h)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}
