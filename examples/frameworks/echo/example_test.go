package main

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// echo takes apitoken's middleware through echo.WrapMiddleware, per route or
// for a group.
func Example() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())

	e := echo.New()
	e.GET("/api/articles", list, echo.WrapMiddleware(svc.Require("api::article.article.find")))
	admin := e.Group("/api/admin", echo.WrapMiddleware(svc.Require())) // no action: full-access tokens only
	admin.GET("/stats", list)

	_, key, _ := svc.Create(context.Background(), apitoken.CreateParams{Name: "reader"})
	for _, path := range []string{"/api/articles", "/api/admin/stats"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, apitokentest.NewRequest("GET", path, key, nil))
		fmt.Println(path, w.Code)
	}
	// Output:
	// /api/articles 200
	// /api/admin/stats 403
}
