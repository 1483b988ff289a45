package collector

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits against slow or abusive clients: a slowloris connection is closed after
// readTimeout; headers larger than readBufferSize are refused with 431.
const (
	readTimeout    = 10 * time.Second
	writeTimeout   = 10 * time.Second
	idleTimeout    = 60 * time.Second
	readBufferSize = 16 << 10
)

// beaconPath is the beacon endpoint: what is counted in loendur_events_*.
const beaconPath = "/api/event"

func (c *Collector) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "loendur",
		BodyLimit:             MaxBodyBytes,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		ReadBufferSize:        readBufferSize,
		DisableStartupMessage: true,
		ErrorHandler:          c.errorHandler,
	})
	app.Post(beaconPath, c.handleEvent)
	app.Options(beaconPath, handlePreflight)
	app.All(beaconPath, func(ctx *fiber.Ctx) error {
		return c.refuse(ctx, reject(reasonBadMethod, "use POST"))
	})
	c.mountPrivacy(app) // POST /api/forget, GET /api/me (forget.go)
	app.Get("/healthz", func(ctx *fiber.Ctx) error { return ctx.SendString("ok\n") })
	app.Get("/readyz", c.handleReady)
	if !c.opts.NoMetrics {
		gatherer, _ := c.opts.Registry.(prometheus.Gatherer)
		if gatherer == nil {
			gatherer = prometheus.DefaultGatherer
		}
		app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	}
	if c.opts.Routes != nil {
		c.opts.Routes(app)
	}
	return app
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
	case reasonQueueFull, reasonStarting, reasonErasureFailed, reasonUnavailable:
		return fiber.StatusServiceUnavailable
	case reasonBadMethod:
		return fiber.StatusMethodNotAllowed
	case reasonBadType:
		return fiber.StatusUnsupportedMediaType
	default:
		return fiber.StatusBadRequest
	}
}

// refuse answers a rejected beacon: the reason in a header and a JSON body, and counted.
func (c *Collector) refuse(ctx *fiber.Ctx, r *rejection) error {
	c.m.rejected.WithLabelValues(r.Reason).Inc()
	allowAnyOrigin(ctx)
	ctx.Set("X-Loendur-Reason", r.Reason)
	if r.Reason == reasonRateLimited {
		ctx.Set(fiber.HeaderRetryAfter, "1")
	}
	return ctx.Status(statusOf(r.Reason)).JSON(r)
}

// errorHandler turns Fiber's own refusals (oversize body, huge headers) into named
// rejections instead of bare status codes; only those of beacons count as beacon
// rejections (the dashboard and the visitor endpoints share the server and its limits).
func (c *Collector) errorHandler(ctx *fiber.Ctx, err error) error {
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

func (c *Collector) handleReady(ctx *fiber.Ctx) error {
	pctx, cancel := context.WithTimeout(ctx.UserContext(), 2*time.Second)
	defer cancel()
	if err := c.opts.DB.Ping(pctx); err != nil {
		return ctx.Status(fiber.StatusServiceUnavailable).SendString("database unreachable\n")
	}
	return ctx.SendString("ok\n")
}
