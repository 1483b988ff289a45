// Copies the crawler patterns of the npm package crawler-user-agents into dist/, which
// internal/useragent embeds (//go:embed all:lists/dist). Run by `make assets` after
// `npm ci`. Only the patterns and the version are kept: the package's example user
// agents and descriptions would only make the binary larger.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "node_modules", "crawler-user-agents");
const out = join(here, "dist");

const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
const entries = JSON.parse(readFileSync(join(pkg, "crawler-user-agents.json"), "utf8"));
const patterns = entries.map((e) => e.pattern).filter((p) => typeof p === "string" && p !== "");
if (patterns.length === 0) {
  throw new Error("crawler-user-agents: no pattern found");
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "crawler-patterns.json"), JSON.stringify({ source: "crawler-user-agents", version, patterns }) + "\n");
copyFileSync(join(pkg, "LICENSE"), join(out, "crawler-user-agents.LICENSE.txt"));
console.log(`internal/useragent/lists/dist: crawler-user-agents ${version} (${patterns.length} patterns)`);
