package main

import (
	_ "embed"
	"net/http"
)

// contentOpenAPI is the OpenAPI 3.1 document of the content API (REST and
// GraphQL) with its bearer security scheme, so that a token can be tried in
// any OpenAPI client. It is served, without a token, at GET /openapi.json;
// TestOpenAPI checks the server's answers against it.
//
//go:embed openapi.json
var contentOpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(contentOpenAPI)
}
