package ginauth_test

import (
	"context"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/ginauth"
	"github.com/go-apitoken/apitoken/memstore"
)

// Guard gin routes with their actions; handlers read the token from the
// request's context.
func ExampleRequire() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())

	r := gin.New()
	r.GET("/api/articles", ginauth.Require(svc, "api::article.article.find"), func(c *gin.Context) {
		tok, _ := apitoken.FromContext(c.Request.Context())
		c.JSON(http.StatusOK, gin.H{"data": []string{}, "for": tok.Name})
	})
	r.POST("/api/articles", ginauth.Require(svc, "api::article.article.create"), func(c *gin.Context) {
		c.Status(http.StatusCreated)
	})
	// r.Run("127.0.0.1:8080")
}
