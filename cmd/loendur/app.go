package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/websystems/loendur/collector"
	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	trackerjs "github.com/websystems/loendur/tracker-js"
)

// Limits against slow or abusive clients: a slowloris connection is closed after
// readTimeout; headers larger than readBufferSize are refused with 431; bodies larger
// than a beacon with 413.
const (
	readTimeout    = 10 * time.Second
	writeTimeout   = 10 * time.Second
	idleTimeout    = 60 * time.Second
	readBufferSize = 16 << 10
	bodyLimit      = collector.MaxBodyBytes
)

// newApp is the process's one HTTP app. Its error handler is the collector's, so that
// Fiber's own refusals of oversize requests are counted as rejected beacons.
func newApp(col *collector.Collector) *fiber.App {
	return fiber.New(fiber.Config{
		AppName:               "loendur",
		BodyLimit:             bodyLimit,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		ReadBufferSize:        readBufferSize,
		DisableStartupMessage: true,
		ErrorHandler:          col.ErrorHandler,
	})
}

// registerRoutes adds every route of the process to app, in the order they must match:
// the collector's, the operators' (/healthz, /readyz, /metrics), the tracker script,
// then the dashboard, whose authentication middleware applies to routes after it.
func registerRoutes(app *fiber.App, col *collector.Collector, dash *dashboard.Dashboard, db store.Store,
	registry *sites.Registry, gatherer prometheus.Gatherer) error {
	if err := col.Register(app); err != nil {
		return fmt.Errorf("collector routes: %w", err)
	}
	registerOps(app, db, gatherer)
	if err := trackerjs.Register(app, registry.AllowsOrigin); err != nil {
		return fmt.Errorf("tracker route: %w", err)
	}
	if err := dash.Register(app); err != nil {
		return fmt.Errorf("dashboard routes: %w", err)
	}
	return nil
}

// metricsOnApp is the registry /metrics serves on the public app, or nil when
// --metrics-addr serves it on an address of its own.
func metricsOnApp(d serveDeps) prometheus.Gatherer {
	if d.noMetrics {
		return nil
	}
	return d.registry
}

// registerOps adds what operators and orchestrators poll: liveness, readiness (the
// database answers) and, unless gatherer is nil, the Prometheus metrics.
func registerOps(app *fiber.App, db store.Store, gatherer prometheus.Gatherer) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable\n")
		}
		return c.SendString("ok\n")
	})
	if gatherer == nil {
		return
	}
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
}
