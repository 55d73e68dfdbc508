// Size budget: each package's published ESM build, minified and gzipped, against size-budget.json.
// Run after `pnpm build`. Prints a table (the README quotes it) and fails over budget.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { transformSync } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const budgets = JSON.parse(readFileSync(join(root, "size-budget.json"), "utf8"));
let over = 0;
console.log("package                 min+gzip   budget");
for (const [name, budget] of Object.entries(budgets)) {
  const dir = join(root, "packages", name.replace("@tagalong/", ""));
  const code = readFileSync(join(dir, "dist/index.js"), "utf8");
  const min = transformSync(code, { minify: true, format: "esm", target: "es2022" }).code;
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
