// Package ginauth is apitoken's middleware for gin, which cannot take
// net/http middleware as it is:
//
//	r := gin.New()
//	r.GET("/api/articles", ginauth.Require(svc, "api::article.article.find"), listArticles)
//
// Handlers find the token in the request's context:
// apitoken.FromContext(c.Request.Context()). Refused requests get the
// middleware's answers (apitoken.Service.WriteError, or Config.ErrorHandler)
// and never reach the handlers after the middleware.
//
// It is a module of its own, so that programs that do not use gin do not
// build it.
package ginauth

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-apitoken/apitoken"
)

// Require is svc.Require(actions...) as gin middleware: only tokens
// allowed every one of actions pass, and with no actions only full-access
// tokens. The actions are registered with svc's Actions.
func Require(svc *apitoken.Service, actions ...string) gin.HandlerFunc {
	return Wrap(svc.Require(actions...))
}

// Authenticated is svc.Authenticated as gin middleware: any valid token
// passes; handlers authorize with apitoken.Can(c.Request.Context(), …).
func Authenticated(svc *apitoken.Service) gin.HandlerFunc {
	return Wrap(svc.Authenticated)
}

// Wrap turns net/http middleware into gin middleware. When mw passes the
// request on, the chain goes on (c.Next) with the request mw passed, whose
// context may carry what mw put there (the token); when it does not, the
// chain is aborted, and the response mw wrote stands. The handlers after it
// write to gin's writer, not to one mw passes on (apitoken's middleware
// passes the writer on as it is).
func Wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
