// Size budget: each package's published ESM build, minified and gzipped, against size-budget.json.
// Run after `pnpm build`. Prints a table (the README quotes it) and fails over budget.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { buildSync } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const budgets = JSON.parse(readFileSync(join(root, "size-budget.json"), "utf8"));
let over = 0;
console.log("package                 min+gzip   budget");
for (const [name, budget] of Object.entries(budgets)) {
  const dir = join(root, "packages", name.replace("@tagalong/", ""));
  // Bundled from the entry, so the chunks an entry shares with the package's other entry points count.
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const external = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
  const { outputFiles } = buildSync({
    entryPoints: [join(dir, "dist/index.js")],
    bundle: true,
    write: false,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "node",
    external: [...external, ...external.map((name) => `${name}/*`), "node:*"],
    logLevel: "silent",
  });
  const min = outputFiles[0].text;
  const bytes = gzipSync(min, { level: 9 }).length;
  const ok = bytes <= budget;
  if (!ok) over++;
  console.log(
    `${name.padEnd(22)} ${`${(bytes / 1024).toFixed(2)} KB`.padStart(9)} ${`${(budget / 1024).toFixed(1)} KB`.padStart(8)}${ok ? "" : "  OVER BUDGET"}`,
  );
}
if (over) {
  console.error(`${over} package(s) over their size budget (size-budget.json)`);
  process.exit(1);
}
