package apitoken

import (
	"errors"
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
)

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
