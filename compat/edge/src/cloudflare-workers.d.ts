// The two members of the Workers runtime module the test Worker uses (the full types live in
// @cloudflare/workers-types, whose globals clash with the DOM lib the rest of the repo compiles with).
declare module "cloudflare:workers" {
  /** The Worker's bindings, readable at module scope. */
  export const env: Record<string, string | undefined>;
  /** Keeps the current invocation alive until the promise settles (at most 30 s after the response). */
  export function waitUntil(promise: Promise<unknown>): void;
}
