package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-apitoken/apitoken"
)

var (
	errNoRoute = &apiError{http.StatusNotFound, "NotFoundError", "Not Found", map[string]any{}}
	// errCrossOrigin: a browser sent an unsafe request from another site
	// (http.CrossOriginProtection refused it).
	errCrossOrigin = &apiError{http.StatusForbidden, "ForbiddenError", "Cross-origin request refused", map[string]any{}}
	errEmptyBody   = bodyError("", "the request needs a JSON body")
	errBadIfMatch  = &apiError{http.StatusBadRequest, "ApplicationError",
		`If-Match must be "*" or a list of at most 16 entity tags such as "abc123"`, map[string]any{}}
)

// apiError is an error answered with Strapi's error body.
type apiError struct {
	status  int
	name    string
	message string
	details any
}

func (e *apiError) Error() string { return "admin: " + e.message }

// bodyError refuses a request body, naming the field at fault ("" for the
// body as a whole).
func bodyError(field, msg string) error {
	path := []string{} // Strapi writes [], not null
	if field != "" {
		path = []string{field}
	}
	return pathError(path, msg)
}

// pathError refuses a request body, naming the value at fault by its path.
// It is a ValidationError, so that fail answers it as it answers the
// Service's.
func pathError(path []string, msg string) error {
	return &apitoken.ValidationError{Errors: []apitoken.FieldError{{Path: path, Message: msg, Name: "ValidationError"}}}
}

// fail answers err with Strapi's error body.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var verr *apitoken.ValidationError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &verr):
		ae = &apiError{http.StatusBadRequest, "ValidationError", verr.Message(), map[string]any{"errors": verr.Errors}}
	default:
		e := apitoken.DescribeError(err)
		ae = &apiError{e.Status, e.Name, e.Message, map[string]any{}}
	}
	switch ae.status {
	case http.StatusInternalServerError:
		h.log.ErrorContext(r.Context(), "admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		h.log.WarnContext(r.Context(), "admin: token store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, ae.status, map[string]any{
		"data":  nil,
		"error": map[string]any{"status": ae.status, "name": ae.name, "message": ae.message, "details": ae.details},
	})
}

func writeData(w http.ResponseWriter, status int, data any) error {
	writeJSON(w, status, map[string]any{"data": data})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON object into v, refusing field names that are not
// exactly v's, keys that appear twice, wrong types, trailing data and bodies
// over the limit, with an error that names the field at fault.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, "PayloadTooLargeError",
			fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit), map[string]any{}}
	case err != nil:
		return bodyError("", "could not read the request body")
	case len(bytes.TrimSpace(body)) == 0:
		return errEmptyBody
	}
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // checkKeys has refused them; this is a second lock
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF { // another value, or garbage
		return bodyError("", "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return bodyError("", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return bodyError("", "the body must be a JSON object")
		}
		return bodyError(typ.Field, fmt.Sprintf("%s must be of type %s", typ.Field, jsonType(typ.Type.Kind().String())))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bodyError("", "the JSON body ends too soon")
	}
	var v *apitoken.ValidationError
	if errors.As(err, &v) { // a field's own decoder refused its value
		return v
	}
	return bodyError("", strings.TrimPrefix(err.Error(), "apitoken: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "int64", "int", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return kind
}
