import { TagalongError } from "@tagalong/core";
import { callFetch, type FetchLike, isCallFetch, type WarnOnce } from "@tagalong/core/adapter";

/**
 * How the middleware hands one call's body fields to `tagalongFetch` for a provider that drops unknown
 * body keys, without any private header (which would reach the wire if the fetch were not installed)
 * and without AsyncLocalStorage: the providers pass the call's `abortSignal` to `fetch` as
 * `init.signal`, the very same object. The middleware gives each call a signal of its own as the key,
 * and `tagalongFetch` sends the request with the caller's signal again.
 *
 * The call's signal follows the caller's through a listener that is removed as soon as the fetch
 * takes the call (or the call ends without it), so a long-lived caller signal shared by every call
 * holds nothing per call (`AbortSignal.any` would keep a reference in it for each call).
 */
export class FiledCall {
  readonly signal: AbortSignal;
  /** Whether a `tagalongFetch` took the fields: the provider's requests go through one. */
  taken = false;
  /** Whether something listened to the call's signal, as a fetch given it does: a request went out. */
  listened = false;
  /** The headers of the request the fetch sent for it (a reference: read only if the call fails). */
  headers: unknown;
  private unlink: (() => void) | undefined;

  constructor(
    readonly fields: Readonly<Record<string, unknown>>,
    readonly callerSignal: AbortSignal | undefined,
  ) {
    const own = new AbortController();
    this.signal = own.signal;
    if (callerSignal === undefined) return;
    if (callerSignal.aborted) {
      own.abort(callerSignal.reason);
      return;
    }
    const onAbort = () => own.abort(callerSignal.reason);
    callerSignal.addEventListener("abort", onAbort, { once: true });
    this.unlink = () => callerSignal.removeEventListener("abort", onAbort);
  }

  /** Stops following the caller's signal (idempotent). */
  release(): void {
    this.unlink?.();
    this.unlink = undefined;
  }
}

// The call a signal of ours was made for, under a key shared by duplicate installs of this package (so
// a helper from one copy serves a middleware from another): a non-enumerable property of that signal,
// which is ours alone, rather than a WeakMap entry per call.
const FILED = Symbol.for("tagalong.ai-sdk.filed-call");

const filedCallOf = (signal: AbortSignal): FiledCall | undefined =>
  (signal as { [FILED]?: FiledCall })[FILED];

/** Files a call's body fields for `tagalongFetch`; the call goes out with `signal` as its abortSignal. */
export function fileBodyFields(
  signal: AbortSignal | undefined,
  fields: Readonly<Record<string, unknown>>,
): FiledCall {
  const call = new FiledCall(fields, signal);
  Object.defineProperty(call.signal, FILED, { value: call });
  // A fetch given the signal listens to it (undici's does, so does one that passes it on): the mark of
  // a request sent, which a call a middleware inside ours answers itself (a cache hit) never makes.
  Object.defineProperty(call.signal, "addEventListener", {
    value(this: AbortSignal, ...args: Parameters<AbortSignal["addEventListener"]>) {
      call.listened = true;
      EventTarget.prototype.addEventListener.apply(this, args);
    },
  });
  return call;
}

type Fetch = typeof globalThis.fetch;

/** The kind of call fetch `tagalongFetch` makes (see `callFetch`). */
const FETCH_KIND = "ai-sdk";

/**
 * Whether the model sends its requests through a `tagalongFetch`, read from the `config.fetch` that
 * @ai-sdk/openai and @ai-sdk/openai-compatible models keep: for a provider its name does not tell,
 * such as `createOpenAI({ name: "my-proxy", fetch: tagalongFetch() })`.
 */
export function usesTagalongFetch(model: object): boolean {
  return isCallFetch((model as { config?: { fetch?: unknown } }).config?.fetch, FETCH_KIND);
}

/** The `config` a provider package's model keeps (a model another middleware wraps has none). */
const configOf = (model: object): { fetch?: unknown } | undefined => {
  const config = (model as { config?: unknown }).config;
  return typeof config === "object" && config !== null ? config : undefined;
};

/**
 * Whether the model's requests surely pass no `tagalongFetch`: it keeps a `config` (as the AI SDK's
 * provider packages do) with no fetch of its own, and the global fetch it then uses is not one.
 */
export function surelyWithoutTagalongFetch(model: object): boolean {
  const config = configOf(model);
  return config !== undefined && config.fetch === undefined && !isCallFetch(globalThis.fetch, FETCH_KIND);
}

/**
 * Whether a call filed for a fetch and answered surely sent its request: the model is a provider's own
 * (not one a middleware inside ours wraps, which may answer from a cache), or a fetch got its signal.
 */
export const surelySent = (model: object, filed: FiledCall): boolean =>
  filed.listened || configOf(model) !== undefined;

/** Names, once, a provider that drops unknown body keys and sends its requests through no `tagalongFetch`. */
export function warnWithoutFetch(
  warnOnce: WarnOnce,
  provider: string,
  fields: Readonly<Record<string, unknown>>,
): void {
  warnOnce(
    `${provider} fetch`,
    () =>
      `@tagalong/ai-sdk: ${provider} drops unknown body fields and this provider was created without tagalongFetch, so ${Object.keys(fields).join(", ")} cannot reach its wire; create it with { fetch: tagalongFetch() }`,
  );
}

/**
 * A `fetch` for providers that drop unknown body keys (`createOpenAI({ fetch: tagalongFetch() })`):
 * it adds the body fields `tagalongMiddleware` prepared for this very call and sends it with the
 * caller's own abort signal. Requests that are not such calls pass through untouched. Wraps
 * `baseFetch` (default: global fetch).
 */
export function tagalongFetch(baseFetch?: Fetch): Fetch {
  if (baseFetch !== undefined && typeof baseFetch !== "function") {
    throw new TagalongError(
      "tagalongFetch: the argument must be a fetch function (or nothing, for the global fetch)",
    );
  }
  return callFetch(FETCH_KIND, baseFetch as FetchLike | undefined, (input, init) => {
    const signal = init?.signal as AbortSignal | undefined;
    const call = signal === undefined || signal === null ? undefined : filedCallOf(signal);
    if (call === undefined) return undefined;
    call.taken = true;
    call.headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    call.release();
    return { body: call.fields, signal: { value: call.callerSignal } };
  }) as Fetch;
}
