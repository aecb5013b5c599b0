package main

import (
	"net/http"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
)

// adminHandler serves the admin API and screen under the /admin prefix. Only
// requests that adminAuth.protect let through reach it, and the demo's one
// administrator holds every admin permission.
func adminHandler(svc *apitoken.Service) (http.Handler, error) {
	return admin.New(admin.Config{
		Service:    svc,
		SignInURL:  "/admin/login",
		SignOutURL: "/admin/logout",
		Authorize: func(r *http.Request, _ string) error {
			if !isAdmin(r.Context()) {
				return admin.ErrUnauthenticated
			}
			return nil
		},
	})
}
