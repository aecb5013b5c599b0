package apitoken

import (
	"errors"
	"net/http"
	"strconv"
)

// errorResponses maps errors to Strapi's error bodies and RFC 6750's error
// codes. The first match wins.
var errorResponses = []struct {
	err       error
	status    int
	challenge string // RFC 6750 error code; "" for a bare challenge
	message   string
	name      string
}{
	{ErrNoCredentials, http.StatusUnauthorized, "", "Missing or invalid credentials", "UnauthorizedError"},
	{ErrMalformedHeader, http.StatusUnauthorized, "invalid_token", "Missing or invalid credentials", "UnauthorizedError"},
	{ErrInvalidKey, http.StatusUnauthorized, "invalid_token", "Missing or invalid credentials", "UnauthorizedError"},
	{ErrExpired, http.StatusUnauthorized, "invalid_token", "Token expired", "UnauthorizedError"},
	{ErrMultipleHeaders, http.StatusBadRequest, "invalid_request", "Only one Authorization header is allowed", "ApplicationError"},
	{ErrForbidden, http.StatusForbidden, "insufficient_scope", "Forbidden", "ForbiddenError"},
	{ErrTooManyFailures, http.StatusTooManyRequests, "", "Too many failed authentication attempts", "RateLimitError"},
	{ErrUnavailable, http.StatusServiceUnavailable, "", "Token store unavailable", "ServiceUnavailableError"},
}

// refusal is a ready-made error response, so that refusing a request
// allocates nothing. A Service's refusals are in errorResponses' order.
type refusal struct {
	status    int
	challenge []string // the WWW-Authenticate value; nil for none
	body      []byte
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
	internalError   = errorBody(500, "InternalServerError", "Internal Server Error")
)

// newRefusals builds the error responses for realm. 401, 400 and 403 carry an
// RFC 6750 challenge; 429 and 503 do not, since no credentials would help.
func newRefusals(realm string) []refusal {
	rs := make([]refusal, len(errorResponses))
	for i, e := range errorResponses {
		rs[i] = refusal{status: e.status, body: errorBody(e.status, e.name, e.message)}
		if e.status == http.StatusUnauthorized || e.status == http.StatusBadRequest || e.status == http.StatusForbidden {
			c := `Bearer realm="` + realm + `"`
			if e.challenge != "" {
				c += `, error="` + e.challenge + `"`
			}
			rs[i].challenge = []string{c}
		}
	}
	return rs
}

func errorBody(status int, name, msg string) []byte {
	return []byte(`{"data":null,"error":{"status":` + strconv.Itoa(status) + `,"name":"` + name + `","message":"` + msg + `","details":{}}}`)
}

// StatusCode returns the HTTP status for an error of Authenticate, Check or
// Can: 400 for ErrMultipleHeaders, 401 for missing, malformed, unknown or
// expired credentials, 403 for ErrForbidden, 429 for ErrTooManyFailures, 503
// for ErrUnavailable, and 500 for anything else.
func StatusCode(err error) int {
	if i := responseIndex(err); i >= 0 {
		return errorResponses[i].status
	}
	return http.StatusInternalServerError
}

// responseIndex returns the index in errorResponses of err's response, or
// -1. The middleware's own errors are the sentinels themselves, found
// without unwrapping.
func responseIndex(err error) int {
	for i, e := range errorResponses {
		if err == e.err {
			return i
		}
	}
	for i, e := range errorResponses {
		if errors.Is(err, e.err) {
			return i
		}
	}
	return -1
}

// WriteError writes the response for an error of Authenticate, Check or Can:
// Strapi's JSON error body with the status of StatusCode, and for 401, 400
// and 403 an RFC 6750 WWW-Authenticate challenge in the Service's realm. It
// is the default Config.ErrorHandler; replacements may call it.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	i := responseIndex(err)
	if i < 0 {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(internalError)
		return
	}
	rf := &s.refusals[i]
	if rf.challenge != nil {
		h["Www-Authenticate"] = rf.challenge
	}
	w.WriteHeader(rf.status)
	w.Write(rf.body)
}
