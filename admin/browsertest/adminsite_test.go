package browsertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/memstore"
)

// adminSite is a host with admin tokens and two administrators, who sign
// in with a session cookie (GET /login?as=alice): alice may do everything,
// bob less. Admin tokens act for their owner on the admin API, presented as
// "Authorization: Bearer <key>".
type adminSite struct {
	svc    *apitoken.Service
	url    string
	mu     sync.Mutex
	admins map[string][]string // administrator id: their admin permissions
}

// bobPerms are bob's permissions: both screens, and admin tokens of his
// own, but he may only read API tokens and may not delete admin tokens.
var bobPerms = []string{admin.PermAccess, admin.PermRead, admin.PermAdminTokensAccess, admin.PermAdminTokensRead,
	admin.PermAdminTokensCreate, admin.PermAdminTokensUpdate, admin.PermAdminTokensRegenerate}

// newAdminSite starts the host; configure, if given, adjusts the Service's
// configuration.
func newAdminSite(t *testing.T, configure ...func(*apitoken.Config)) *adminSite {
	t.Helper()
	s := &adminSite{admins: map[string][]string{"alice": admin.Permissions, "bob": bobPerms}}
	cfg := apitoken.Config{Store: memstore.New(), Salt: "browser-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler),
		OwnerPermissions: func(_ context.Context, owner string) ([]string, error) {
			perms, ok := s.permissions(owner)
			if !ok {
				return nil, apitoken.ErrNotFound
			}
			return perms, nil
		}}
	for _, f := range configure {
		f(&cfg)
	}
	svc, err := apitoken.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(context.Background()) })
	s.svc = svc
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), SignOutURL: "/logout",
		Owner: signedIn,
		Authorize: func(r *http.Request, perm string) error {
			if tok, ok := apitoken.FromContext(r.Context()); ok { // an admin token its owner still may use
				if _, ok := s.permissions(tok.Owner); !ok {
					return admin.ErrUnauthenticated
				}
				return nil
			}
			perms, ok := s.permissions(signedIn(r))
			switch {
			case !ok:
				return admin.ErrUnauthenticated
			case perm != "" && !slices.Contains(perms, perm):
				return admin.ErrForbidden
			}
			return nil
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "admin", Value: r.URL.Query().Get("as"), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Write([]byte("signed in"))
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	s.url = server.URL
	return s
}

// signedIn returns the administrator whose session r carries, or "".
func signedIn(r *http.Request) string {
	c, err := r.Cookie("admin")
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *adminSite) permissions(id string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	perms, ok := s.admins[id]
	return slices.Clone(perms), ok
}

// setAdmin gives the administrator id perms, making them if need be.
func (s *adminSite) setAdmin(id string, perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admins[id] = perms
}

// signIn makes the tab's session who's.
func (s *adminSite) signIn(p *page, who string) {
	p.t.Helper()
	p.do(chromedp.Navigate(s.url + "/login?as=" + who))
}

// screen is the admin-token page.
func (s *adminSite) screen() string { return s.url + "/admin/settings/admin-tokens" }

// bearer sends an admin API request with key, as a script would, and
// returns the status.
func (s *adminSite) bearer(t *testing.T, method, path, key string) int {
	t.Helper()
	req, err := http.NewRequest(method, s.url+"/admin"+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// adminToken makes an admin token of owner's directly, as another session
// would have.
func (s *adminSite) adminToken(t *testing.T, owner, name string, perms ...string) (*apitoken.Token, string) {
	t.Helper()
	tok, key, err := s.svc.Create(context.Background(), apitoken.CreateParams{Name: name, Kind: apitoken.KindAdmin, Owner: owner,
		Permissions: perms})
	require.NoError(t, err)
	return tok, key
}

// named returns the stored token called name, or nil.
func (s *adminSite) named(t *testing.T, name string) *apitoken.Token {
	t.Helper()
	list, err := s.svc.List(context.Background())
	require.NoError(t, err)
	for _, tok := range list {
		if tok.Name == name {
			return tok
		}
	}
	return nil
}
