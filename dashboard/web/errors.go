package web

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/httperr"
)

// ourFault is what a person is told about a failure on our side; the details go to the
// log.
const ourFault = "something went wrong on our side; try again, and tell an admin if it persists"

// Answer is the one place the dashboard decides how an error is answered: an
// *httperr.Error as it says, an error of dashboard/auth by its kind, anything else a
// 500 with a generic line. unexpected reports that last case: the caller logs err.
func Answer(err error) (e *httperr.Error, unexpected bool) {
	if e, ok := httperr.As(err); ok {
		return e, false
	}
	if status := authStatus(err); status != 0 {
		return &httperr.Error{Status: status, Message: authMessage(err), Err: err}, false
	}
	return &httperr.Error{Status: fiber.StatusInternalServerError, Message: ourFault, Err: err}, true
}

// authStatus is the status of an error of dashboard/auth, 0 for any other error.
func authStatus(err error) int {
	var throttled *auth.ThrottledError
	var setup *auth.TOTPSetupError
	switch {
	case errors.As(err, &throttled):
		return fiber.StatusTooManyRequests
	case errors.Is(err, auth.ErrCredentials), errors.Is(err, auth.ErrDisabled), errors.Is(err, auth.ErrTOTPNeeded),
		errors.Is(err, auth.ErrLinkPassword), errors.As(err, &setup):
		return fiber.StatusUnauthorized
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrTOTPWrong):
		return fiber.StatusBadRequest
	case errors.Is(err, auth.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrLoginForm):
		return fiber.StatusForbidden
	}
	return 0
}

// authMessage is an auth error's text without the kind it wraps: dashboard/auth
// words the rest for the person.
func authMessage(err error) string {
	msg := err.Error()
	for _, kind := range []error{auth.ErrInvalid, auth.ErrForbidden} {
		msg = strings.TrimPrefix(msg, kind.Error()+": ")
	}
	return msg
}

// APIError answers err as JSON, {"error": "what to do"}, with the status Answer gives
// (and Retry-After when sign-ins are throttled); an unexpected error is logged.
func APIError(c *fiber.Ctx, log *slog.Logger, err error) error {
	e, unexpected := Answer(err)
	if unexpected {
		log.Error("dashboard request", "path", c.Path(), "err", err)
	}
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		c.Set(fiber.HeaderRetryAfter, RetryAfter(throttled.Wait))
	}
	return c.Status(e.Status).JSON(fiber.Map{"error": e.Message})
}

// RetryAfter is a Retry-After value: whole seconds, rounded up.
func RetryAfter(w time.Duration) string {
	return strconv.Itoa(int((w + time.Second - 1) / time.Second))
}
