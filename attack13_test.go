package apitoken_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestAttack13QuotaRefilledByWriteBack: a caller that reads a token, changes
// its name and writes it all back (the pattern UpdateParams.IfVersion is
// for, and what an admin client does with the admin API's GET and PUT)
// sends the quota it read, uses left included; Update ignores Remaining
// and RefilledAt and refills the quota to its limit. An exhausted quota is
// refilled by any edit, so a token's holder with write access to the admin
// API (or a careless script) turns a quota into no limit at all.
func TestAttack13QuotaRefilledByWriteBack(t *testing.T) {
	ctx := context.Background()
	ps := newPolicyServer(t, apitoken.Config{})
	tok, key := mustCreate(t, ps.svc, apitoken.CreateParams{Name: "trial", PolicyParams: apitoken.PolicyParams{
		Quota: &apitoken.Quota{Limit: 2}}}) // never refilled
	for range 2 {
		_, err := ps.svc.Verify(ctx, key)
		require.NoError(t, err)
	}
	_, err := ps.svc.Verify(ctx, key)
	require.ErrorIs(t, err, apitoken.ErrQuotaExhausted)

	read, err := ps.svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	require.Zero(t, read.Quota.Remaining)
	name := "trial (renamed)"
	_, err = ps.svc.Update(ctx, tok.ID, apitoken.UpdateParams{Name: &name,
		PolicyParams: apitoken.PolicyParams{Quota: read.Quota}, IfVersion: []string{read.Version()}})
	require.NoError(t, err)

	_, err = ps.svc.Verify(ctx, key)
	require.ErrorIs(t, err, apitoken.ErrQuotaExhausted,
		"writing back the quota as read, with no uses left, must not refill a quota that is never refilled")
}
