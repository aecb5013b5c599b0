package apitoken_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

func names(ts []*apitoken.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestExpiringAndIdle(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk, TouchInterval: time.Nanosecond})
	mustCreate(t, svc, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	mustCreate(t, svc, apitoken.CreateParams{Name: "month", Lifespan: apitoken.Days30})
	mustCreate(t, svc, apitoken.CreateParams{Name: "forever"})
	_, usedKey := mustCreate(t, svc, apitoken.CreateParams{Name: "used"})

	got, err := svc.Expiring(ctx, 7*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{"week"}, names(got))
	clk.Add(8 * 24 * time.Hour)
	got, err = svc.Expiring(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{"month"}, names(got), "an expired token is no longer expiring")

	_, err = svc.Verify(ctx, usedKey)
	require.NoError(t, err)
	require.NoError(t, svc.Flush(ctx))
	clk.Add(89 * 24 * time.Hour)
	got, err = svc.Idle(ctx, 90*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{"forever", "month", "week"}, names(got), "never used: counted from creation (97 days); used 89 days ago: not idle")

	revoked, err := svc.RevokeIdle(ctx, 90*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{"forever", "month", "week"}, names(revoked))
	list, err := svc.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"used"}, names(list))
}
