package main

import (
	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/sites"
)

// mountTracker serves the tracker script from the binary.
func mountTracker(app *fiber.App, registry *sites.Registry) {
	_ = registry
}
