package main

import (
	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/sites"
	trackerjs "github.com/websystems/loendur/tracker-js"
)

// mountTracker serves the tracker script from the binary to pages of registered sites.
func mountTracker(app *fiber.App, registry *sites.Registry) {
	app.Get("/js/script.js", trackerjs.Handler(registry.AllowsOrigin))
}
