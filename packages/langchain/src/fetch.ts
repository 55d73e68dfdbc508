import { withBodyFieldsInJson } from "@tagalong/core";
import { type CallScope, callScope } from "./call-scope";

export type FetchLike = (input: any, init?: any) => Promise<any>;

const TAGALONG_FETCH = Symbol.for("tagalong.langchain.fetch");

export function isTagalongFetch(fetch: unknown): boolean {
  return (
    typeof fetch === "function" && (fetch as unknown as Record<symbol, unknown>)[TAGALONG_FETCH] === true
  );
}

function hasFields(fields: Readonly<Record<string, unknown>>): boolean {
  for (const _ in fields) return true;
  return false;
}

/** The request init with the call's headers (the caller's explicit headers win) and body fields. */
function withCall(
  input: unknown,
  init: Record<string, any> | undefined,
  scope: CallScope,
): Record<string, any> {
  const { headers: ours, body } = scope.prepared;
  // Headers in init replace a Request's own, so start from the Request's when init has none.
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  for (const name in ours) if (!headers.has(name)) headers.set(name, ours[name]!);
  const out: Record<string, any> = { ...init, headers };
  if (typeof init?.body === "string" && hasFields(body)) {
    out.body = withBodyFieldsInJson(init.body, body);
    // The SDK may have counted the old body; let fetch compute the length of the new one.
    headers.delete("content-length");
  }
  return out;
}

/**
 * A fetch for a model client's `configuration.fetch`: inside a run that `withTagalong` entered, it
 * adds that run's in-flight headers (Portkey) and body fields (Requesty); elsewhere it passes the
 * request through untouched. `base` is the caller's own fetch, if any (default: the global fetch,
 * looked up on every request).
 */
export function tagalongFetch(base?: FetchLike): FetchLike {
  if (base && isTagalongFetch(base)) return base;
  const fetch: FetchLike = (input, init) => {
    const target = base ?? (globalThis.fetch as FetchLike);
    const scope = callScope.getStore();
    if (scope === undefined) return target(input, init);
    return target(input, withCall(input, init, scope));
  };
  Object.defineProperty(fetch, TAGALONG_FETCH, { value: true });
  return fetch;
}
