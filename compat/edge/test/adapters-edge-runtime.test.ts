// Every adapter in a web-standard runtime: first its own source must import no Node built-in (the
// host SDK and @tagalong/core left out), then a call through it, bundled with its host SDK the way an
// edge bundler would (`edge-light`/`worker`/`browser` conditions), runs in Vercel's edge-runtime VM
// (no Node modules) against the loopback recorder: once with a global AsyncLocalStorage (what Vercel
// Edge has) and once with none (a Worker without nodejs_compat, a browser).
import { AsyncLocalStorage } from "node:async_hooks";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { EdgeVM } from "@edge-runtime/vm";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import type { EdgeRunConfig, EdgeRunResult } from "./edge-runtime/shared";
import { useRecorder } from "./use-recorder";

/**
 * Node built-ins an adapter is known to import, reported to its owner. Its tests in the VM are
 * expected to fail until the list is empty; when the import goes, the first test below fails until
 * the entry is removed here, and the VM runs must then pass.
 */
const KNOWN_NODE_IMPORTS: Record<string, string[]> = {};

/**
 * Adapters whose in-flight path needs AsyncLocalStorage (none: withTagalong hands a run's metadata to
 * its client's fetch in the request options). One listed here is expected to fail without it.
 */
const NEEDS_ASYNC_LOCAL_STORAGE = new Set<string>();

const ADAPTERS = [
  { name: "openai", pkg: "@tagalong/openai" },
  { name: "ai-sdk", pkg: "@tagalong/ai-sdk" },
  { name: "langchain", pkg: "@tagalong/langchain" },
] as const;

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (path: string): boolean =>
  path.startsWith("node:") || NODE_BUILTINS.has(path.split("/")[0]!);

/** Every Node built-in the package's own source imports, as `<module> <- <file>`. */
async function nodeImports(pkgName: string): Promise<string[]> {
  const entry = fileURLToPath(import.meta.resolve(pkgName));
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    // Only the package's own files are followed: every bare import (host SDK, core) stays external.
    packages: "external",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) if (isNodeBuiltin(imp.path)) found.push(`${imp.path} <- ${file}`);
  }
  return found;
}

const bundles = new Map<string, Promise<string>>();

/** The run of `edge-runtime/<name>.ts` with everything it imports, as one script for the VM (built once). */
function edgeBundle(name: string): Promise<string> {
  let bundle = bundles.get(name);
  if (bundle === undefined) bundles.set(name, (bundle = buildEdgeBundle(name)));
  return bundle;
}

async function buildEdgeBundle(name: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./edge-runtime/${name}.ts`, import.meta.url))],
    bundle: true,
    format: "iife",
    globalName: "EdgeRun",
    platform: "browser",
    conditions: ["edge-light", "worker", "browser"],
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

describe("every adapter in Vercel's edge-runtime VM", () => {
  const recorder = useRecorder();

  /**
   * A VM whose fetch reaches the recorder only: anything else (a tokenizer download) fails the run.
   * It gets the `process` of Next.js's edge sandbox, `env` only (the openai SDK reads
   * `process.version` when it sees `EdgeRuntime`): no `getBuiltinModule`, no `require`.
   */
  function edgeVM(withAsyncLocalStorage: boolean): { vm: EdgeVM; offline: string[] } {
    const offline: string[] = [];
    const vm = new EdgeVM({
      extend: (context) => {
        Object.assign(context, { process: { env: {} } });
        if (withAsyncLocalStorage) Object.assign(context, { AsyncLocalStorage });
        const realFetch = context.fetch;
        context.fetch = (input, init) => {
          // The VM's Request is its own class: read `url` rather than test instanceof.
          const url = new URL(typeof input === "object" && "url" in input ? input.url : String(input));
          if (url.hostname !== "127.0.0.1") {
            offline.push(url.href);
            return Promise.reject(new TypeError(`offline test: ${url.href}`));
          }
          return realFetch(input, init);
        };
        return context;
      },
    });
    return { vm, offline };
  }

  for (const { name, pkg } of ADAPTERS) {
    const known = KNOWN_NODE_IMPORTS[pkg] ?? [];
    describe(pkg, () => {
      it(
        known.length
          ? `imports only the known Node built-ins: ${known.join(", ")}`
          : "imports no Node built-in",
        async () => {
          expect(await nodeImports(pkg)).toEqual(known);
        },
      );

      describe.each([
        { als: true, runtime: "with a global AsyncLocalStorage (Vercel Edge)" },
        { als: false, runtime: "with no AsyncLocalStorage" },
      ])("$runtime", ({ als }) => {
        const expectedToFail = known.length > 0 || (!als && NEEDS_ASYNC_LOCAL_STORAGE.has(pkg));
        (expectedToFail ? it.fails : it)("tags a call and records it", async () => {
          const { rec } = recorder;
          const { vm, offline } = edgeVM(als);
          vm.evaluate(await edgeBundle(name));
          const user = `edge_${name.replace("-", "_")}`;
          const config: EdgeRunConfig = {
            openaiBaseURL: rec.openaiBaseURL,
            promptLayerURL: rec.promptLayerURL,
            user,
          };
          const result: EdgeRunResult = await vm.evaluate(`EdgeRun.run(${JSON.stringify(config)})`);
          expect(await vm.evaluate("typeof require + typeof process.getBuiltinModule")).toBe(
            "undefinedundefined",
          );
          expect(result.scopesFollowAsync).toBe(als);
          expect(result.text).toBe(`echo: hello from ${user}`);
          const [call, ...more] = rec.calls();
          expect(more).toEqual([]);
          expect(call!.portkey.metadata).toMatchObject({ _user: user, _environment: "edge" });
          expect(call!.requesty).toMatchObject({ user_id: user, extra: { environment: "edge" } });
          const logs = rec.promptLayer.logs();
          expect(logs).toHaveLength(1);
          expect(logs[0]!.metadata).toMatchObject({ user_id: user, environment: "edge" });
          expect(offline).toEqual([]);
        });
      });
    });
  }
});
