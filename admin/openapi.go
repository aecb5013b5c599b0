package admin

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 document of the admin API: every route, body
// and error, admin tokens' routes and bearer scheme (Config.Owner) included,
// and the demo server's security schemes. The handler serves it at
// GET /openapi.json to any administrator; admin/openapitest checks the
// handler's requests and responses against it, so that it cannot drift.
//
//go:embed openapi.json
var openAPI []byte

func (h *handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(openAPI)
	return err
}
