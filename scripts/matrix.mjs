// The compatibility matrix: the whole vitest suite on Node 20, 22 and 24. Each adapter's suite runs
// every supported SDK major it can on that Node (SDK majors that need Node 22 skip themselves on 20
// by definition). Newer Node comes from the npm `node` package, pinned here, so nothing downloads
// from outside the npm registry. Ends with each failed test (name and the first lines of its error)
// and one "N passed, N failed" line for the whole matrix.
//   TAGALONG_NODES=20,24 node scripts/matrix.mjs      # a subset
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const PINNED = { 20: "node@20.20.2", 22: "node@22.23.3", 24: "node@24.21.0" };
const wanted = (process.env.TAGALONG_NODES ?? "20,22,24").split(",").map(Number);
const vitest = join(root, "node_modules/vitest/vitest.mjs");
const outDir = join(root, ".cache/vitest");
mkdirSync(outDir, { recursive: true });

const current = Number(process.versions.node.split(".")[0]);
const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
const failures = [];
let broken = false;

for (const major of wanted) {
  const spec = PINNED[major];
  if (!spec) throw new Error(`no pinned Node for major ${major}`);
  const report = join(outDir, `node${major}.json`);
  const args = [
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ];
  const [cmd, cmdArgs] =
    major === current ? [process.execPath, [vitest, ...args]] : ["npx", ["-y", spec, vitest, ...args]];
  console.log(`\n=== Node ${major} (${major === current ? process.version : spec}) ===`);
  const run = spawnSync(cmd, cmdArgs, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TAGALONG_MATRIX_NODE: String(major) },
  });
  let result;
  try {
    result = JSON.parse(readFileSync(report, "utf8"));
  } catch {
    result = undefined;
  }
  if (run.status !== 0 || !result) broken = true;
  const passed = result?.numPassedTests ?? 0;
  const failed = result?.numFailedTests ?? 0;
  const skipped = (result?.numPendingTests ?? 0) + (result?.numTodoTests ?? 0);
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  rows.push(
    `node ${major}: ${passed} passed, ${failed} failed, ${skipped} skipped${run.status !== 0 ? ` (exit ${run.status})` : ""}`,
  );
  for (const file of result?.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status !== "failed") continue;
      const message = (test.failureMessages?.[0] ?? "").split("\n").slice(0, 6).join("\n    ");
      failures.push(`node ${major}: ${file.name.replace(`${root}/`, "")} > ${test.fullName}\n    ${message}`);
    }
  }
  // A suite whose report never appeared failed to run at all: count it.
  if (!result) totals.failed += 1;
}

// The failures again at the very end, where a CI log that keeps only its tail still shows them.
if (failures.length > 0) console.log(`\n=== Failed ===\n${failures.join("\n")}`);
console.log("\n=== Matrix ===");
for (const row of rows) console.log(row);
console.log(`matrix: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(broken || totals.failed > 0 ? 1 : 0);
