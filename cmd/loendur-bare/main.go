// Command bare is the yardstick of `make bench`: a Fiber server whose POST /api/event
// only answers 202, with nothing behind it. The collector's throughput is reported as a
// fraction of what this server does on the same machine under the same load generator.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gofiber/fiber/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18180", "listen address")
	flag.Parse()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/api/event", func(c *fiber.Ctx) error {
		c.Status(fiber.StatusAccepted) // no body, as the collector answers
		return nil
	})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	if err := app.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
