// Package httperr is the one error type that carries an HTTP answer: the status, a
// machine-readable reason and the line the caller may be shown. Code that decides an
// answer (a handler, a validation step) returns one; each component turns it into its
// own response format in one place (the collector's beacon answer, the dashboard's page
// or JSON). Any other error reaching that place is a failure on our side: logged there,
// answered 500 with a generic line.
package httperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with its HTTP answer. Message is public: it must never hold a
// secret, a full address or a database error. Err, when set, is the cause, for the log.
type Error struct {
	Status  int    // HTTP status
	Reason  string // machine-readable, e.g. "bad_body"; "" when the format has none
	Message string // what the caller is told
	Err     error  // the cause, for the log and errors.Is; may be nil
}

// New is an Error without a cause.
func New(status int, reason, message string) *Error {
	return &Error{Status: status, Reason: reason, Message: message}
}

// Invalid is a 400 whose message tells the person what to fix.
func Invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Wrap is an Error carrying cause, for errors.Is and the log.
func Wrap(status int, message string, cause error) *Error {
	return &Error{Status: status, Message: message, Err: cause}
}

// Error is the message with its cause, for logs; the public line is Message.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// As finds the outermost Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Public reports whether err carries an answer that is the caller's to fix (a 4xx).
func Public(err error) bool {
	e, ok := As(err)
	return ok && e.Status < http.StatusInternalServerError
}
