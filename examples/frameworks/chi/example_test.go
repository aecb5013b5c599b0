package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// chi takes apitoken's middleware as it is, per route (With) or per group
// (Use).
func Example() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())

	r := chi.NewRouter()
	r.With(svc.Require("api::article.article.find")).Get("/api/articles", list)
	r.Group(func(r chi.Router) {
		r.Use(svc.Authenticated) // any valid token; handlers authorize with apitoken.Can
		r.Post("/graphql", graphql)
	})

	_, key, _ := svc.Create(context.Background(), apitoken.CreateParams{Name: "reader"})
	for _, req := range []*http.Request{
		apitokentest.NewRequest("GET", "/api/articles", key, nil),
		apitokentest.NewRequest("POST", "/graphql", key, nil),
		apitokentest.NewRequest("GET", "/api/articles", "", nil),
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(req.Method, req.URL.Path, w.Code)
	}
	// Output:
	// GET /api/articles 200
	// POST /graphql 403
	// GET /api/articles 401
}

func graphql(w http.ResponseWriter, r *http.Request) {
	if err := apitoken.Can(r.Context(), "api::article.article.create"); err != nil {
		w.WriteHeader(apitoken.StatusCode(err))
	}
}
