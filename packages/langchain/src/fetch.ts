import { callFetch, type FetchLike, isCallFetch, openAIApiType } from "@tagalong/core/adapter";
import { CALL_SCOPE, scopeIn } from "./call-scope";

export type { FetchLike };

// The protocol of the channel (the run's scope in the request init): a fetch of another one, from
// another copy of this package, is wrapped rather than taken for ours.
const KIND = "langchain/2";

export function isTagalongFetch(fetch: unknown): boolean {
  return isCallFetch(fetch, KIND);
}

/**
 * A fetch for a model client's `configuration.fetch`: for a request of a run that `withTagalong`
 * prepared (its scope rides in the request's init), it adds that run's in-flight headers (the caller's
 * explicit headers win) and body fields; anything else passes through untouched. `base` is the
 * caller's own fetch, if any.
 */
export function tagalongFetch(base?: FetchLike): FetchLike {
  return callFetch(
    KIND,
    base,
    (input, init) => {
      const scope = scopeIn(init);
      if (scope === undefined) return undefined;
      scope.apiType ??= openAIApiType(urlOf(input));
      scope.headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
      scope.sent = true;
      return scope.prepared;
    },
    CALL_SCOPE,
    // A request carrying a run's scope comes from the OpenAI SDK, which builds its Headers per attempt.
    true,
  );
}

function urlOf(input: unknown): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  const url = (input as { url?: unknown } | null)?.url;
  return typeof url === "string" ? url : "";
}
