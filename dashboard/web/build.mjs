// Copies the charting library's distribution files from node_modules into dist/, which
// the Go package embeds (//go:embed all:dist). Run by `make assets` after `npm ci`.
// No bundler: the library ships a ready, minified browser build.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "node_modules", "uplot");
const out = join(here, "dist");

// [source in the npm package, name in dist/] — dashboard/web/assets.go serves these names.
const files = [
  ["dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["dist/uPlot.min.css", "uPlot.min.css"],
  ["LICENSE", "uPlot.LICENSE.txt"],
];

const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
mkdirSync(out, { recursive: true });
for (const [src, dst] of files) {
  copyFileSync(join(pkg, src), join(out, dst));
}
console.log(`dashboard/web/dist: uPlot ${version} (${files.length} files)`);
