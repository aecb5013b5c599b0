// Command gin serves articles with gin-gonic/gin, through ginauth: gin
// middleware is a gin.HandlerFunc, so apitoken's needs an adapter.
//
//	API_TOKEN_SALT=$(openssl rand -base64 16) go run ./examples/frameworks/gin
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/ginauth"
	"github.com/go-apitoken/apitoken/memstore"
)

// routes guards each route with its action, through ginauth.Require.
func routes(svc *apitoken.Service) http.Handler {
	r := gin.New()
	r.GET("/api/articles", ginauth.Require(svc, "api::article.article.find"), list)
	r.GET("/api/articles/:id", ginauth.Require(svc, "api::article.article.findOne"), get)
	r.POST("/api/articles", ginauth.Require(svc, "api::article.article.create"), create)
	return r
}

func list(c *gin.Context) {
	tok, _ := apitoken.FromContext(c.Request.Context())
	c.JSON(http.StatusOK, gin.H{"data": gin.H{"for": tok.Name}})
}

func get(c *gin.Context) {
	tok, _ := apitoken.FromContext(c.Request.Context())
	c.JSON(http.StatusOK, gin.H{"data": gin.H{"id": c.Param("id"), "for": tok.Name}})
}

func create(c *gin.Context) { c.Status(http.StatusCreated) }

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
