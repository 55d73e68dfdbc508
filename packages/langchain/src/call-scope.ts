// How a model run's prepared headers and body fields travel from the model (withTagalong) to its
// client's fetch: in the request options the model hands the OpenAI SDK, under a symbol. The SDK
// spreads a request's `fetchOptions` into the init it gives `fetch`, so the run reaches the fetch by
// reference, with no AsyncLocalStorage (which, entered once on Node 20 and 22, makes every promise in
// the process pay for promise hooks) and in runtimes that have none. A symbol, not a header: if the
// fetch is not installed, nothing reaches the wire.
import type { CompletedCall, PreparedCall } from "@tagalong/core/adapter";

/** What the fetch of a model's client adds to the request of a run. */
export interface CallScope {
  readonly runId: string;
  readonly prepared: PreparedCall;
  /** The API the model's request addressed, as the fetch saw it on the wire. */
  apiType?: CompletedCall["apiType"];
  /** The headers of the request the fetch sent (a reference: read only if the call fails). */
  headers?: unknown;
  /** The fetch has seen the run's request. */
  sent?: boolean;
  /** The model streamed the response (its `_streamResponseChunks` ran for this run). */
  stream?: boolean;
  /**
   * The run's end is noted here when the model's request (or stream) ends, for a handler whose end
   * callback LangChain runs later, in its background queue. An awaited handler's end is the run's.
   */
  timed?: boolean;
  endTime?: number;
  /**
   * No handler of ours sees the run end: withTagalong itself checks, once the model has its answer,
   * that the request reached the fetch (`sent`).
   */
  unwatched?: boolean;
  /**
   * The model's call options for this entry are LangChain's own object for the run, which nothing
   * else sees (no run manager; or an object other than the one the run's handlers were handed): they
   * are carried to the fetch in place (`carrying`) instead of copied.
   */
  inPlace?: boolean;
}

/** Notes in a timed scope when its request or stream ended. */
export function noteEnd(scope: CallScope): void {
  scope.endTime ??= Date.now();
}

/**
 * The key of a request init (and of the `fetchOptions` it came from) that carries the run's scope.
 * Shared by duplicate installs of this package, so a model wrapped by one copy reaches a fetch
 * installed by another; versioned, since the scope's shape is shared.
 */
export const CALL_SCOPE: unique symbol = Symbol.for("tagalong.langchain.call-scope.v2") as never;

/**
 * Where a model's call options keep the run's config (its metadata and tags), for a run LangChain
 * gives no run manager (no handler, no tracer; or a chat-model event stream): LangChain separates the
 * config from the call options before the model's `_generate` / `_streamResponseChunks`, and hands
 * them only the call options. Shared by duplicate installs of this package, so a handler of one copy
 * finds the run of a model wrapped by another.
 */
export const RUN_CONFIG = Symbol.for("tagalong.langchain.run-config");

/** The `configurable` of the run config a model's call options keep (`RUN_CONFIG`), if any. */
export function runConfigurable(options: unknown): Record<string, unknown> | undefined {
  const config = (options as Record<symbol, { configurable?: unknown } | undefined> | null | undefined)?.[
    RUN_CONFIG
  ];
  const configurable = config?.configurable;
  return typeof configurable === "object" && configurable !== null
    ? (configurable as Record<string, unknown>)
    : undefined;
}

type FetchOptionsCarrier = { fetchOptions?: Record<PropertyKey, unknown> };

/** The scope a request init (or a model's call options) carries, if any. */
export function scopeIn(init: unknown): CallScope | undefined {
  return (init as Record<symbol, CallScope | undefined> | null | undefined)?.[CALL_SCOPE];
}

/** The scope a model's call options carry to the fetch (from `carrying`), if any. */
export function carriedScope(options: unknown): CallScope | undefined {
  return scopeIn((options as FetchOptionsCarrier | null | undefined)?.fetchOptions);
}

/**
 * A model's call options carrying `scope` to its client's fetch. @langchain/openai (0.6 and 1.x, chat
 * models and the legacy LLM) hands the SDK, as a request's options, the call options' `options` for a
 * plain request and the call options themselves for a stream: the scope goes in the `fetchOptions` of
 * both, beside any the caller set (their objects are copied, never changed).
 *
 * `inPlace`: the call options are the run's own (LangChain made them for this run) and nothing else
 * sees them (`CallScope.inPlace`): they are changed instead of copied. A copy of LangChain's call
 * options with keys added made each call about 8 µs slower (in a loop of calls), in the model's and
 * the SDK's own reads of it.
 */
export function carrying<O>(options: O, scope: CallScope, inPlace: boolean): O {
  if (carriedScope(options) === scope) return options;
  const o = (options ?? {}) as FetchOptionsCarrier & { options?: FetchOptionsCarrier };
  const fetchOptions = { ...o.fetchOptions, [CALL_SCOPE]: scope };
  const requestOptions = { ...o.options, fetchOptions: { ...o.options?.fetchOptions, [CALL_SCOPE]: scope } };
  if (inPlace && options != null) {
    o.fetchOptions = fetchOptions;
    o.options = requestOptions;
    return options;
  }
  return { ...o, fetchOptions, options: requestOptions } as O;
}
