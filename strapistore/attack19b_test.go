package strapistore_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/strapistore"
)

// TestAttack19bAdminTokenBecomesContentToken: an admin token is "never
// accepted by the content API". Service.Create hands the store a token of
// KindAdmin and trusts it to keep the kind; strapistore writes every new
// row as kind 'content-api' (and keeps no owner), and the Service never
// checks what the store kept. So on a Strapi database an admin token
// created through the Service (the admin handler's POST /admin-tokens does
// this) is stored, read back and verified as a content-API token: the
// content API accepts its key (Verify, and Authenticated routes such as
// GraphQL and /self), the admin API refuses it, and under /api-tokens any
// administrator may read or regenerate the key that was its owner's alone.
//
// Should: Create refuses an admin token the store cannot keep as one (as
// a policy is refused on this store), or the token stays admin and the
// content API refuses it. Does: Create succeeds and Verify accepts the key
// as a content-API token.
func TestAttack19bAdminTokenBecomesContentToken(t *testing.T) {
	ctx := context.Background()
	sdb := newStrapiDB(t, strapistore.SQLite, strapistore.V5)
	svc, err := apitoken.New(apitoken.Config{Store: sdb.store(t), Salt: strapiSalt, AnyAction: true,
		Logger: slog.New(slog.DiscardHandler),
		OwnerPermissions: func(context.Context, string) ([]string, error) {
			return []string{"admin::api-tokens.read"}, nil
		}})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(ctx) })

	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Kind: apitoken.KindAdmin, Owner: "alice",
		Permissions: []string{"admin::api-tokens.read"}})
	if err != nil {
		return // refused: fails closed
	}
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	t.Logf("created as %s, stored as kind %q owner %q", tok.Kind, got.Kind, got.Owner)
	assert.Equal(t, apitoken.KindAdmin, got.Kind, "the store kept an admin token as a content-API token")

	_, err = svc.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the content API accepted an admin token's key")
	srv := httptest.NewServer(svc.Authenticated(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "an Authenticated content route let the admin token in")
}
