import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Bundles `entry` the way wrangler does for Workers: ESM, the `workerd`/`worker`/`browser` export
 * conditions, only the runtime's own `cloudflare:*` modules external. A `node:*` import anywhere in
 * the graph fails the build, so what runs without nodejs_compat is proven free of Node built-ins.
 */
export async function bundleWorker(entry: URL): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
