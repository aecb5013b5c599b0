package apitoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// TestHandlerCannotChangeSharedToken: whatever a handler does to the token
// FromContext gave it, the next request with the same key may do exactly
// what it could before, whether the store or a cache in front of it shares
// the token between requests.
func TestHandlerCannotChangeSharedToken(t *testing.T) {
	const find, del = "api::article.article.find", "api::article.article.delete"
	farFuture := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	mutations := map[string]func(*apitoken.Token){
		"Type":                  func(t *apitoken.Token) { t.Type = apitoken.FullAccess },
		"Permissions append":    func(t *apitoken.Token) { t.Permissions = append(t.Permissions, del) },
		"Permissions overwrite": func(t *apitoken.Token) { t.Permissions[0] = del },
		"ExpiresAt":             func(t *apitoken.Token) { *t.ExpiresAt = farFuture },
	}
	stores := map[string]func(*apitokentest.Clock) apitoken.Store{
		"memstore": func(*apitokentest.Clock) apitoken.Store { return memstore.New() },
		"cache": func(clk *apitokentest.Clock) apitoken.Store {
			return cache.New(memstore.New(), cache.Options{TTL: time.Hour, Clock: clk})
		},
	}
	for storeName, newStore := range stores {
		for name, mutate := range mutations {
			t.Run(storeName+"/"+name, func(t *testing.T) {
				clk := apitokentest.NewClock()
				svc, err := apitoken.New(apitoken.Config{Store: newStore(clk), Salt: testSalt, Clock: clk, AnyAction: true, Logger: discard()})
				require.NoError(t, err)
				t.Cleanup(func() { svc.Close(t.Context()) })
				_, key, err := svc.Create(t.Context(), apitoken.CreateParams{
					Name: "custom", Type: apitoken.Custom, Permissions: []string{find}, Lifespan: apitoken.Days7,
				})
				require.NoError(t, err)

				mux := http.NewServeMux()
				mux.Handle("GET /mutate", svc.Require(find)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tok, ok := apitoken.FromContext(r.Context())
					require.True(t, ok)
					mutate(tok)
				})))
				mux.Handle("GET /find", svc.Require(find)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
				mux.Handle("GET /delete", svc.Require(del)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				get := func(path string) int {
					req, err := http.NewRequest("GET", srv.URL+path, nil)
					require.NoError(t, err)
					req.Header.Set("Authorization", "Bearer "+key)
					res, err := srv.Client().Do(req)
					require.NoError(t, err)
					res.Body.Close()
					return res.StatusCode
				}

				require.Equal(t, 200, get("/mutate"))
				assert.Equal(t, 200, get("/find"), "still allowed what it was")
				assert.Equal(t, 403, get("/delete"), "not allowed more")
				clk.Add(7*24*time.Hour + time.Second)
				assert.Equal(t, 401, get("/find"), "still expires when it did")
			})
		}
	}
}

// TestCheckReturnsCopy: the tokens that Check and Authenticate return are
// the caller's to change.
func TestCheckReturnsCopy(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ro", Type: apitoken.ReadOnly})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+key)

	tok, err := svc.Check(req, "api::a.a.find")
	require.NoError(t, err)
	tok.Type = apitoken.FullAccess
	tok, err = svc.Authenticate(req)
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, tok.Type)
	tok.Type = apitoken.FullAccess
	_, err = svc.Check(req, "api::a.a.delete")
	assert.ErrorIs(t, err, apitoken.ErrForbidden)
}

// TestVerifyReturnsCopy: a caller of Verify that changes the token (here
// behind the cache, which shares one token with every request) does not
// change what the key may do next.
func TestVerifyReturnsCopy(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: cache.New(memstore.New(), cache.Options{TTL: time.Minute}),
		Salt: testSalt, Logger: discard(), AnyAction: true})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(context.Background()) })
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ro", Type: apitoken.ReadOnly})
	ctx := context.Background()
	tok, err := svc.Verify(ctx, key)
	require.NoError(t, err)
	tok.Type = apitoken.FullAccess
	tok.Permissions = append(tok.Permissions, "api::a.a.delete")
	tok, err = svc.Verify(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, tok.Type)
	assert.Empty(t, tok.Permissions)
}
