// A consumer project outside the workspace, as a user gets one: every public package packed as it is
// published (pnpm applies publishConfig, so `exports` point at dist), installed with npm from the
// tarballs beside the host SDKs from the registry. Nothing resolves from the repo's node_modules.
// Used by the pack smoke test (scripts/smoke.mjs) and the doc tests (scripts/doc-tests.mjs).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "../..");

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

/** Runs a command, its output inherited; throws on a non-zero exit. */
export const sh = (cmd, args, cwd, extra = {}) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...extra },
  });

// `pnpm` is on PATH under `pnpm test`; run alone (`node scripts/...`), go through npx as the README does.
function pnpm(args, cwd) {
  try {
    return execFileSync("pnpm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
    return execFileSync("npx", ["-y", "pnpm@10.34.8", ...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
  }
}

/**
 * The versions a consumer installs: the host SDKs (the newest majors that run on Node 20), the tools,
 * and the few packages the docs' snippets name. A snippet importing a package not listed here fails the
 * doc tests, so the list is the documentation's full set of third-party imports.
 */
export function consumerVersions() {
  const langchain = readJson(join(root, "packages/langchain/package.json"));
  const testing = readJson(join(root, "packages/testing/package.json"));
  return {
    openai: "^6.9.0",
    ai: "^6.0.0",
    "@ai-sdk/openai": "^3.0.0",
    "@langchain/core": "^1.0.0",
    "@langchain/openai": langchain.devDependencies["@langchain/openai"],
    "@portkey-ai/gateway": testing.peerDependencies?.["@portkey-ai/gateway"] ?? "~1.15.2",
    "@opentelemetry/api": "^1.9.0",
    "@opentelemetry/sdk-trace-node": "^2.12.1",
    "@opentelemetry/exporter-trace-otlp-proto": "^0.223.1",
    "@cloudflare/workers-types": "^4.20250101.0",
    next: "^15.5.0",
    typescript: "~5.9.3",
    esbuild: "^0.25.0",
    "@types/node": "^20.19.0",
  };
}

/**
 * A fresh consumer project's compiler options: strict, with the given moduleResolution ("node10" is
 * what `module: commonjs` resolves with).
 */
export const consumerCompilerOptions = (resolution) => ({
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: "es2022",
  module: { node16: "node16", node10: "commonjs" }[resolution] ?? "esnext",
  moduleResolution: resolution,
  esModuleInterop: true,
  types: ["node"],
});

/** Packs every public package into `dir`; returns `{ name: "file:<tarball>" }`. */
export function packPublicPackages(dir) {
  mkdirSync(dir, { recursive: true });
  const deps = {};
  for (const name of readdirSync(join(root, "packages"))) {
    const pkg = readJson(join(root, "packages", name, "package.json"));
    if (pkg.private) continue;
    const out = pnpm(["pack", "--pack-destination", dir], join(root, "packages", name));
    deps[pkg.name] = `file:${out.trim().split("\n").pop()}`;
  }
  return deps;
}

/**
 * A fresh project in the system's temp directory with the packed packages and `extra` dependencies
 * installed by npm. Returns its directory, the dependency map and a writer for its package.json.
 */
export function createConsumerApp(prefix, { extra = {}, type, overrides } = {}) {
  const app = mkdtempSync(join(tmpdir(), prefix));
  const deps = { ...packPublicPackages(join(app, "packs")), ...extra };
  const writePackageJson = (more = {}) =>
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify(
        {
          name: `${prefix.replace(/-$/, "")}-app`,
          private: true,
          type,
          dependencies: deps,
          overrides,
          ...more,
        },
        null,
        2,
      ),
    );
  writePackageJson();
  console.log(`${prefix.replace(/-$/, "")}: installing the packed tarballs into ${app}`);
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app);
  return { app, deps, writePackageJson };
}
