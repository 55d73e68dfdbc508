import { AsyncLocalStorage } from "node:async_hooks";
import { fileURLToPath } from "node:url";
import { EdgeVM } from "@edge-runtime/vm";
import { buildSync } from "esbuild";
import { describe, expect, it } from "vitest";

// The core bundled for a neutral platform: the build itself fails if anything imports a Node built-in.
const bundle = buildSync({
  entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
  bundle: true,
  format: "iife",
  globalName: "Tagalong",
  platform: "neutral",
  write: false,
}).outputFiles[0]!.text;

const SCRIPT = `
  (async () => {
    const { createTagalong, portkey, requesty, withMetadata, currentMetadata, scopesFollowAsync } = Tagalong;
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], metadata: { environment: "edge" } });
    const sync = withMetadata({ user: "Zoë" }, () => tagalong.prepare().headers["x-portkey-metadata"]);
    const afterAwait = await withMetadata({ user: "async" }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentMetadata().user ?? null;
    });
    return { sync, afterAwait, follows: scopesFollowAsync(), hasProcess: typeof process !== "undefined" };
  })()`;

describe("@tagalong/core in a web-standard runtime (Vercel's edge-runtime VM, no Node built-ins)", () => {
  it("loads and encodes; without AsyncLocalStorage, scopes hold for synchronous code only", async () => {
    const vm = new EdgeVM();
    vm.evaluate(bundle);
    const result = await vm.evaluate(SCRIPT);
    expect(result.hasProcess).toBe(false);
    expect(JSON.parse(result.sync)).toEqual({ _user: "Zoë", _environment: "edge" });
    expect(result.afterAwait).toBeNull();
    expect(result.follows).toBe(false);
  });

  it("follows async work where the runtime provides AsyncLocalStorage (Vercel Edge, Workers with nodejs_als)", async () => {
    const vm = new EdgeVM({
      extend: (context) => Object.assign(context, { AsyncLocalStorage }),
    });
    vm.evaluate(bundle);
    const result = await vm.evaluate(SCRIPT);
    expect(result.afterAwait).toBe("async");
    expect(result.follows).toBe(true);
  });
});
