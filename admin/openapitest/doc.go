// Package openapitest checks the admin API's OpenAPI document against the
// admin handler: its tests drive every route over real HTTP, error cases
// included, and validate each request and response with
// pb33f/libopenapi-validator, so that the document cannot drift from what
// the handler does. It is a module of its own, so that the validator stays
// out of the root module.
package openapitest
