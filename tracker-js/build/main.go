// Command build minifies src/script.js into script.min.js (run by `go generate` in
// tracker-js/) and prints the sizes; it fails when the script is over budget.
package main

import (
	"fmt"
	"os"

	"github.com/websystems/loendur/tracker-js/internal/minify"
)

func main() {
	if err := run("src/script.js", "script.min.js"); err != nil {
		fmt.Fprintln(os.Stderr, "tracker-js build:", err)
		os.Exit(1)
	}
}

func run(src, dst string) error {
	in, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("%w (run go generate in tracker-js/)", err)
	}
	out, err := minify.Script(in)
	if err != nil {
		return err
	}
	gz, err := minify.GzipSize(out)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes minified, %d bytes gzip -9 (budget %d)\n", dst, len(out), gz, minify.Budget)
	if gz > minify.Budget {
		return fmt.Errorf("%s is %d bytes gzipped, over the budget of %d", dst, gz, minify.Budget)
	}
	return nil
}
