package main

import (
	"testing"

	"github.com/go-apitoken/apitoken/examples/frameworks/internal/frameworktest"
)

func TestRoutes(t *testing.T) { frameworktest.Run(t, routes) }
