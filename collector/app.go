package collector

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// beaconPath is the beacon endpoint: what is counted in loendur_events_*.
const beaconPath = "/api/event"

// Register adds the collector's routes to r: POST /api/event (and its CORS preflight),
// and the visitors' self-service POST /api/forget and GET /api/me. The app's
// ErrorHandler should be the collector's ErrorHandler, so that Fiber's own refusals of a
// beacon (oversize body or headers) are answered and counted as rejections.
func (c *Collector) Register(r fiber.Router) error {
	if r == nil {
		return errors.New("collector: no router to register on")
	}
	r.Post(beaconPath, c.handleEvent)
	r.Options(beaconPath, handlePreflight)
	r.All(beaconPath, func(ctx *fiber.Ctx) error {
		return c.refuse(ctx, reject(reasonBadMethod, "use POST"))
	})
	c.mountPrivacy(r) // POST /api/forget, GET /api/me (forget.go)
	return nil
}

// statusOf is the one place a rejection reason becomes an HTTP status.
func statusOf(reason string) int {
	switch reason {
	case reasonUnknownSite, reasonForeignURL, reasonForbiddenOrigin:
		return fiber.StatusForbidden
	case reasonTooLarge:
		return fiber.StatusRequestEntityTooLarge
	case reasonHeadersTooLarge:
		return fiber.StatusRequestHeaderFieldsTooLarge
	case reasonRateLimited:
		return fiber.StatusTooManyRequests
	case reasonQueueFull, reasonStarting, reasonStopping, reasonErasureFailed, reasonUnavailable:
		return fiber.StatusServiceUnavailable
	case reasonBadMethod:
		return fiber.StatusMethodNotAllowed
	case reasonBadType:
		return fiber.StatusUnsupportedMediaType
	default:
		return fiber.StatusBadRequest
	}
}

// refuse answers a rejected beacon: counted by reason, then answered.
func (c *Collector) refuse(ctx *fiber.Ctx, r *rejection) error {
	c.m.rejected.WithLabelValues(r.Reason).Inc()
	ctx.Set("X-Loendur-Reason", r.Reason)
	if r.Reason == reasonRateLimited {
		ctx.Set(fiber.HeaderRetryAfter, "1")
	}
	return answer(ctx, r)
}

// answer is a beacon's answer to an error, readable from any origin (see allowAnyOrigin).
func answer(ctx *fiber.Ctx, r *rejection) error {
	allowAnyOrigin(ctx)
	return writeError(ctx, r)
}

// writeError is the collector's one response format for an error: its status, and the
// reason and message as JSON.
func writeError(ctx *fiber.Ctx, r *rejection) error {
	return ctx.Status(r.Status).JSON(beaconError{Reason: r.Reason, Message: r.Message})
}

// beaconError is the JSON body of a refused request.
type beaconError struct {
	Reason  string `json:"error"`
	Message string `json:"message"`
}

// ErrorHandler is the Fiber app's error handler: Fiber's own refusals (oversize body,
// huge headers) become named rejections instead of bare status codes; only those of
// beacons count as beacon rejections (the dashboard and the visitor endpoints share the
// server and its limits); any other error a handler returns is logged and answered 500.
func (c *Collector) ErrorHandler(ctx *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		var r *rejection
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			r = reject(reasonTooLarge, "body over 16 KiB")
		case fiber.StatusRequestHeaderFieldsTooLarge:
			r = reject(reasonHeadersTooLarge, "request headers over 16 KiB")
		default:
			return ctx.Status(fe.Code).SendString(fe.Message)
		}
		switch ctx.Path() {
		case beaconPath:
			return c.refuse(ctx, r)
		case "/api/forget", "/api/me":
			return c.refusePrivacy(ctx, endpointOf(ctx), r)
		}
		return ctx.Status(fe.Code).SendString(r.Message + "\n")
	}
	c.opts.Log.Error("request failed", "path", ctx.Path(), "err", err)
	return ctx.Status(fiber.StatusInternalServerError).SendString("internal error")
}

// allowAnyOrigin lets any page post beacons: the site check is on the payload, and
// text/plain beacons need no preflight anyway.
func allowAnyOrigin(ctx *fiber.Ctx) {
	ctx.Set(fiber.HeaderAccessControlAllowOrigin, "*")
}

func handlePreflight(ctx *fiber.Ctx) error {
	allowAnyOrigin(ctx)
	ctx.Set(fiber.HeaderAccessControlAllowMethods, "POST, OPTIONS")
	ctx.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type")
	ctx.Set(fiber.HeaderAccessControlMaxAge, "86400")
	return ctx.SendStatus(fiber.StatusNoContent)
}
