package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
)

// adminHandler serves the admin API and screen under the /admin prefix. Only
// requests that adminAuth.protect let through reach it: the administrator,
// signed in or with Basic auth, or a request with a bearer key, which the
// handler accepts only as an admin token (apitoken.KindAdmin) of the
// administrator. The demo's one administrator, email, holds every admin
// permission and owns every admin token.
func adminHandler(svc *apitoken.Service, email string) (http.Handler, error) {
	return admin.New(admin.Config{
		Service:    svc,
		SignInURL:  "/admin/login",
		SignOutURL: "/admin/logout",
		Owner:      func(*http.Request) string { return email },
		Authorize: func(r *http.Request, _ string) error {
			if _, ok := apitoken.FromContext(r.Context()); ok {
				return nil // an admin token of the administrator, allowed this route
			}
			if !isAdmin(r.Context()) {
				return admin.ErrUnauthenticated
			}
			return nil
		},
	})
}

// ownerPermissions is the demo's directory of administrators for admin
// tokens: its one administrator holds every admin permission. A token of
// anyone else (the login changed since it was made) fails as an unknown
// key.
func ownerPermissions(email string) func(context.Context, string) ([]string, error) {
	return func(_ context.Context, owner string) ([]string, error) {
		if !strings.EqualFold(owner, email) {
			return nil, apitoken.ErrNotFound
		}
		return admin.Permissions, nil
	}
}

// presentsBearer reports whether r presents a bearer key.
func presentsBearer(r *http.Request) bool {
	f := strings.Fields(r.Header.Get("Authorization"))
	return len(f) > 0 && strings.EqualFold(f[0], "bearer")
}
