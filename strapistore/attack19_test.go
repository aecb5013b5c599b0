package strapistore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/strapistore"
)

// TestAttack19StrapiRegenerate: on strapistore, which keeps no previous
// key, Regenerate (no overlap) still works, the old key dies at once, and
// POST /self/rotate, which needs a conditional key change strapistore
// cannot make, fails with a clear client-visible answer rather than a 500
// Internal Server Error.
func TestAttack19StrapiRegenerate(t *testing.T) {
	ctx := context.Background()
	sdb := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	svc := newService(t, sdb.store(t))
	tok, old, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{apitoken.SelfRotateAction}})
	require.NoError(t, err)
	_, cur, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	_, err = svc.Verify(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	_, err = svc.Verify(ctx, cur)
	require.NoError(t, err)

	srv := httptest.NewServer(svc.SelfHandler())
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/self/rotate", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+cur)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.NotEqual(t, http.StatusInternalServerError, res.StatusCode,
		"a store that cannot rotate conditionally is a known limitation, not an internal error")
	// strapistore keeps no previous key, so no old key works that a
	// condition would guard against: the rotation goes through.
	assert.Equal(t, http.StatusOK, res.StatusCode)
	_, err = svc.Verify(ctx, cur)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "rotated away")
}
