// The bench measures Tagalong as users install it: the built `dist` of each package (the workspace's
// `tagalong-dist` export condition, which `pnpm bench` passes to node), not its TypeScript run
// through a loader. A `dist` older than its sources would measure code that no longer exists: refuse.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const PACKAGES = ["core", "openai", "ai-sdk", "langchain"];

function newest(dir: string, keep: (name: string) => boolean): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, keep));
    else if (keep(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** Throws unless node runs with the `tagalong-dist` condition and every package's dist is built from its current sources. */
export function checkBuilt(root: string): void {
  if (!process.execArgv.some((a) => a.includes("tagalong-dist"))) {
    throw new Error(
      "the bench runs Tagalong's built packages: start it with node --conditions=tagalong-dist (pnpm bench does)",
    );
  }
  const stale: string[] = [];
  for (const name of PACKAGES) {
    const dir = join(root, "packages", name);
    const dist = join(dir, "dist");
    const sources = newest(join(dir, "src"), (f) => f.endsWith(".ts") && !/\.test(-d)?\.ts$/.test(f));
    if (!existsSync(dist) || newest(dist, (f) => f.endsWith(".js")) < sources) stale.push(name);
  }
  if (stale.length > 0) {
    throw new Error(
      `packages/${stale.join(", packages/")}: dist is missing or older than src; run \`pnpm build\` first (pnpm bench at the root does)`,
    );
  }
}
