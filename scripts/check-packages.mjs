// Packs every public package the way it is published (pnpm applies publishConfig) and checks the
// tarball with publint and @arethetypeswrong/cli, under every resolution attw knows: node10 too (what
// `module: commonjs` resolves with), where a subpath such as @tagalong/core/adapter needs typesVersions.
// Run after `pnpm build`.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const out = join(root, ".cache", "pack");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });

let failed = 0;
for (const dir of readdirSync(join(root, "packages"))) {
  const cwd = join(root, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8"));
  if (pkg.private) continue;
  const packed = run("pnpm", ["pack", "--pack-destination", out], cwd).trim().split("\n").pop();
  try {
    run(join(root, "node_modules/.bin/publint"), ["--pack", "pnpm", "--strict"], cwd);
    run(join(root, "node_modules/.bin/attw"), [packed, "--format", "table-flipped"], cwd);
    console.log(`ok  ${pkg.name}: publint and attw clean (${packed.split("/").pop()})`);
  } catch (error) {
    failed++;
    console.error(`FAIL ${pkg.name}:\n${error.stdout ?? ""}${error.message}`);
  }
}
if (failed) process.exit(1);
