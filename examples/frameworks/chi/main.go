// Command chi serves articles with go-chi/chi, whose routes take apitoken's
// middleware as it is: chi middleware is func(http.Handler) http.Handler.
//
//	API_TOKEN_SALT=$(openssl rand -base64 16) go run ./examples/frameworks/chi
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// routes guards each route with its action, through chi's With.
func routes(svc *apitoken.Service) http.Handler {
	r := chi.NewRouter()
	r.With(svc.Require("api::article.article.find")).Get("/api/articles", list)
	r.With(svc.Require("api::article.article.findOne")).Get("/api/articles/{id}", get)
	r.With(svc.Require("api::article.article.create")).Post("/api/articles", create)
	return r
}

func list(w http.ResponseWriter, r *http.Request) {
	tok, _ := apitoken.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]string{"for": tok.Name}})
}

func get(w http.ResponseWriter, r *http.Request) {
	tok, _ := apitoken.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]string{"id": chi.URLParam(r, "id"), "for": tok.Name}})
}

func create(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func main() {
	ctx := context.Background()
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New()}) // the salt from API_TOKEN_SALT
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(ctx)
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "reader", Type: apitoken.ReadOnly})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read-only key, shown once:", key)
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", routes(svc)))
}
