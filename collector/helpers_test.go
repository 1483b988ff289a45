package collector

import (
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// testApp is the process's app as cmd/loendur builds it, reduced to what the collector
// needs: its body limit, its error handler and its routes.
func testApp(t testing.TB, c *Collector) *fiber.App {
	t.Helper()
	app := fiber.New(fiber.Config{BodyLimit: MaxBodyBytes, ErrorHandler: c.ErrorHandler, DisableStartupMessage: true})
	if err := c.Register(app); err != nil {
		t.Fatal(err)
	}
	return app
}
