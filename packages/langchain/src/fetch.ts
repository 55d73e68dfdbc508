import { callFetch, type FetchLike, isCallFetch, openAIApiType } from "@tagalong/core/adapter";
import { callScope } from "./call-scope";

export type { FetchLike };

const KIND = "langchain";

export function isTagalongFetch(fetch: unknown): boolean {
  return isCallFetch(fetch, KIND);
}

/**
 * A fetch for a model client's `configuration.fetch`: inside a run that `withTagalong` entered, it
 * adds that run's in-flight headers (the caller's explicit headers win) and body fields; elsewhere it
 * passes the request through untouched. `base` is the caller's own fetch, if any.
 */
export function tagalongFetch(base?: FetchLike): FetchLike {
  return callFetch(KIND, base, (input, init) => {
    const scope = callScope.getStore();
    if (scope === undefined) return undefined;
    scope.apiType ??= openAIApiType(urlOf(input));
    scope.headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    scope.sent = true;
    return scope.prepared;
  });
}

function urlOf(input: unknown): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  const url = (input as { url?: unknown } | null)?.url;
  return typeof url === "string" ? url : "";
}
