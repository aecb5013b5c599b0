package apitoken

import (
	"errors"
	"net/http"
	"strings"
)

// Errors returned by the Service, the Store and the middleware. Check them
// with errors.Is: returned errors may wrap them with more detail.
var (
	// ErrNotFound: no token has that id or key hash.
	ErrNotFound = errors.New("apitoken: token not found")
	// ErrNameTaken: another token already has that name.
	ErrNameTaken = errors.New("apitoken: name already taken")
	// ErrStale: the token changed since the version the caller last read
	// (UpdateParams.IfVersion), so the update was not made.
	ErrStale = errors.New("apitoken: token changed since it was read")
	// ErrValidation: the input was refused; the error is a *ValidationError.
	ErrValidation = errors.New("apitoken: validation failed")

	// ErrNoCredentials: the request carried no Authorization header.
	ErrNoCredentials = errors.New("apitoken: missing credentials")
	// ErrMalformedHeader: the Authorization header is not "bearer <key>".
	ErrMalformedHeader = errors.New("apitoken: malformed authorization header")
	// ErrMultipleHeaders: the request carried more than one Authorization
	// header (RFC 6750 invalid_request).
	ErrMultipleHeaders = errors.New("apitoken: more than one authorization header")
	// ErrInvalidKey: no token has that key.
	ErrInvalidKey = errors.New("apitoken: invalid key")
	// ErrExpired: the token has expired.
	ErrExpired = errors.New("apitoken: token expired")
	// ErrForbidden: the token may not perform the action.
	ErrForbidden = errors.New("apitoken: forbidden")
	// ErrUnavailable: the store could not be asked, so the key was not
	// checked. Requests fail closed with 503.
	ErrUnavailable = errors.New("apitoken: token store unavailable")
	// ErrDisabled: the token is disabled (Policy.Disabled).
	ErrDisabled = errors.New("apitoken: token disabled")
	// ErrAddressNotAllowed: the client's address is not in the token's
	// Policy.AllowedIPs.
	ErrAddressNotAllowed = errors.New("apitoken: client address not allowed for this token")
	// ErrRateLimited: the token made its Policy.RateLimit's requests in
	// this window. The error is a *LimitError saying when to retry.
	ErrRateLimited = errors.New("apitoken: token rate limit exceeded")
	// ErrQuotaExhausted: the token has no uses left of its Policy.Quota.
	// The error is a *LimitError saying when it is refilled, if it is.
	ErrQuotaExhausted = errors.New("apitoken: token usage quota exhausted")
	// ErrTooManyFailures: the client failed to authenticate too often lately
	// (see Config.FailureLimit), and its request presented no key the Service
	// knows to be valid. It is refused with 429 unchecked.
	ErrTooManyFailures = errors.New("apitoken: too many failed authentications")

	// ErrNotRecoverable: the key of this token cannot be shown again, because
	// no Config.EncryptionKey was set when it was issued, or it differs now.
	ErrNotRecoverable = errors.New("apitoken: key cannot be shown again")
	// ErrUnknownSalt: tokens in the store were hashed with a salt that is
	// neither Config.Salt nor one of Config.PreviousSalts, so their keys
	// cannot be verified. The error CheckSalt returns wraps it and names the
	// salt ids.
	ErrUnknownSalt = errors.New("apitoken: tokens were hashed with a salt that is not configured")
)

// errNoSalt explains how to make a salt.
var errNoSalt = errors.New("apitoken: no salt: set Config.Salt or the API_TOKEN_SALT environment variable " +
	"to a random secret of at least 16 bytes, e.g. the output of `openssl rand -base64 16`, and keep it: " +
	"changing it invalidates every token")

// errorResponses maps errors to HTTP statuses, Strapi's error names and
// messages, and RFC 6750 challenges: the one table the middleware, WriteError,
// StatusCode and the admin API answer from. The first match wins.
var errorResponses = []struct {
	err       error
	status    int
	name      string
	message   string
	challenge bool   // answered with a WWW-Authenticate: Bearer challenge
	code      string // the challenge's RFC 6750 error code, if any
}{
	{ErrNoCredentials, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials", true, ""},
	{ErrMalformedHeader, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials", true, "invalid_token"},
	{ErrInvalidKey, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials", true, "invalid_token"},
	{ErrExpired, http.StatusUnauthorized, "UnauthorizedError", "Token expired", true, "invalid_token"},
	{ErrDisabled, http.StatusUnauthorized, "UnauthorizedError", "Token disabled", true, "invalid_token"},
	{ErrMultipleHeaders, http.StatusBadRequest, "ApplicationError", "Only one Authorization header is allowed", true, "invalid_request"},
	{ErrForbidden, http.StatusForbidden, "ForbiddenError", "Forbidden", true, "insufficient_scope"},
	{ErrAddressNotAllowed, http.StatusForbidden, "ForbiddenError", "Token not allowed from this address", false, ""},
	{ErrRateLimited, http.StatusTooManyRequests, "RateLimitError", "Too many requests for this token", false, ""},
	{ErrQuotaExhausted, http.StatusTooManyRequests, "RateLimitError", "Usage quota of this token exhausted", false, ""},
	{ErrTooManyFailures, http.StatusTooManyRequests, "RateLimitError", "Too many failed authentication attempts", false, ""},
	{ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailableError", "Token store unavailable", false, ""},
	{ErrNotFound, http.StatusNotFound, "NotFoundError", "API Token not found", false, ""},
	{ErrRotationInProgress, http.StatusConflict, "ConflictError", "The previous key still works; rotate again when the overlap ends", false, ""},
	{ErrStale, http.StatusPreconditionFailed, "PreconditionFailedError", "The token was changed since it was read; reload it and try again", false, ""},
	{ErrNotRecoverable, http.StatusBadRequest, "ApplicationError", "This key cannot be shown again", false, ""},
	{ErrValidation, http.StatusBadRequest, "ValidationError", "Validation error", false, ""},
	{ErrNameTaken, http.StatusBadRequest, "ValidationError", "Name already taken", false, ""},
}

// HTTPError is how an error is answered over HTTP: a status, and the name and
// message of Strapi's error body.
type HTTPError struct {
	Status  int
	Name    string
	Message string
}

// DescribeError returns how err is answered over HTTP, from the same table
// the middleware and the admin API use: 400 for ErrMultipleHeaders,
// ErrNotRecoverable and validation errors (with the first field's message),
// 401 for missing, malformed, unknown, expired or disabled credentials, 403
// for ErrForbidden and ErrAddressNotAllowed, 404 for ErrNotFound, 412 for
// ErrStale, 429 for ErrTooManyFailures, ErrRateLimited and
// ErrQuotaExhausted, 503 for ErrUnavailable, and 500 for any other error.
func DescribeError(err error) HTTPError {
	var verr *ValidationError
	if errors.As(err, &verr) {
		return HTTPError{http.StatusBadRequest, "ValidationError", verr.Message()}
	}
	if i := responseIndex(err); i >= 0 {
		e := &errorResponses[i]
		return HTTPError{e.status, e.name, e.message}
	}
	return HTTPError{http.StatusInternalServerError, "InternalServerError", "Internal Server Error"}
}

// StatusCode returns the HTTP status for err: DescribeError(err).Status.
func StatusCode(err error) int { return DescribeError(err).Status }

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

// FieldError is one refused field of a ValidationError.
type FieldError struct {
	Path    []string `json:"path"`
	Message string   `json:"message"`
	Name    string   `json:"name"`
}

// ValidationError lists why input was refused. It matches ErrValidation, and
// ErrNameTaken when the name was the reason.
type ValidationError struct {
	Errors []FieldError
	cause  error
}

func (e *ValidationError) add(field, msg string) {
	e.Errors = append(e.Errors, FieldError{Path: []string{field}, Message: msg, Name: "ValidationError"})
}

func (e *ValidationError) orNil() error {
	if len(e.Errors) == 0 {
		return nil
	}
	return e
}

// Error joins the field messages.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = strings.Join(fe.Path, ".") + ": " + fe.Message
	}
	return "apitoken: " + strings.Join(msgs, "; ")
}

// Message returns the first field message, as Strapi puts in its error body.
func (e *ValidationError) Message() string {
	if len(e.Errors) == 0 {
		return "Validation error"
	}
	return e.Errors[0].Message
}

// Is reports whether target is ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Unwrap returns the store error behind the refusal, such as ErrNameTaken.
func (e *ValidationError) Unwrap() error { return e.cause }
