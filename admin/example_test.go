package admin_test

import (
	"context"
	"log"
	"net/http"
	"slices"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/memstore"
)

// Mount the admin API and screen under /admin/. Authorize is where the host
// application says who its administrators are and what each may do.
func ExampleNew() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())

	h, err := admin.New(admin.Config{
		Service: svc,
		Authorize: func(r *http.Request, permission string) error {
			user, ok := currentUser(r) // your session or SSO
			switch {
			case !ok:
				return admin.ErrUnauthenticated // 401
			case permission != "" && !user.can(permission):
				return admin.ErrForbidden // 403
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	// http.ListenAndServe(":1337", mux)
}

type user struct{ permissions []string }

func (u user) can(p string) bool { return slices.Contains(u.permissions, p) }

func currentUser(*http.Request) (user, bool) { return user{admin.Permissions}, true }
