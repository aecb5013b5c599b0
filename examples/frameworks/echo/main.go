// Command echo serves articles with labstack/echo, whose
// echo.WrapMiddleware takes apitoken's middleware in one line.
//
//	API_TOKEN_SALT=$(openssl rand -base64 16) go run ./examples/frameworks/echo
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// routes guards each route with its action, through echo.WrapMiddleware.
func routes(svc *apitoken.Service) http.Handler {
	e := echo.New()
	e.GET("/api/articles", list, echo.WrapMiddleware(svc.Require("api::article.article.find")))
	e.GET("/api/articles/:id", get, echo.WrapMiddleware(svc.Require("api::article.article.findOne")))
	e.POST("/api/articles", create, echo.WrapMiddleware(svc.Require("api::article.article.create")))
	return e
}

func list(c echo.Context) error {
	tok, _ := apitoken.FromContext(c.Request().Context())
	return c.JSON(http.StatusOK, echo.Map{"data": echo.Map{"for": tok.Name}})
}

func get(c echo.Context) error {
	tok, _ := apitoken.FromContext(c.Request().Context())
	return c.JSON(http.StatusOK, echo.Map{"data": echo.Map{"id": c.Param("id"), "for": tok.Name}})
}

func create(c echo.Context) error { return c.NoContent(http.StatusCreated) }

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
