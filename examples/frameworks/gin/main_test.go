package main

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/go-apitoken/apitoken/examples/frameworks/internal/frameworktest"
)

func TestRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	frameworktest.Run(t, routes)
}
