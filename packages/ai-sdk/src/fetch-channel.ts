import { TagalongError } from "@tagalong/core";
import {
  callFetch,
  type FetchLike,
  isCallFetch,
  type WarnOnce,
  withBodyFieldsInJson,
} from "@tagalong/core/adapter";

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
  /** Why a `tagalongFetch` that found the call could not add the fields to its request, if it could not. */
  missed: string | undefined;
  private unlink: (() => void) | undefined;

  /**
   * @param placed the fields were placed in the provider options too, by the provider's name, for a
   *   model another middleware wraps: a request may carry them without a `tagalongFetch`.
   */
  constructor(
    readonly fields: Readonly<Record<string, unknown>>,
    readonly callerSignal: AbortSignal | undefined,
    readonly placed = false,
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
  placed = false,
): FiledCall {
  const call = new FiledCall(fields, signal, placed);
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

/** Whether the model is a provider package's own (it keeps a `config`), not another middleware's wrapper. */
export const isProviderModel = (model: object): boolean => configOf(model) !== undefined;

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

/**
 * Names, once, a provider that drops unknown body keys and sends its requests through no
 * `tagalongFetch`: `lost` is the fields its requests lack, or the name of one that a middleware inside
 * ours set itself, without our keys.
 */
export function warnWithoutFetch(
  warnOnce: WarnOnce,
  provider: string,
  lost: Readonly<Record<string, unknown>> | string,
): void {
  warnOnce(
    `${provider} fetch`,
    () =>
      `@tagalong/ai-sdk: ${provider} drops unknown body fields and this provider was created without tagalongFetch, so ${typeof lost === "string" ? `Tagalong's keys in ${lost}` : Object.keys(lost).join(", ")} cannot reach its wire; create it with { fetch: tagalongFetch() }`,
  );
}

/**
 * Where the fields a `tagalongFetch` found a call for go when the request's init has no string body to
 * add them to: a Request's body or a binary JSON body, keyed by that object, read by `addedLater`.
 */
const pendingBodies = new WeakMap<object, Readonly<Record<string, unknown>>>();

/**
 * Why the fields cannot be added to a request sent as `input` with `init`, or `undefined` when they can
 * (a string body now, or a Request's body or a binary one later, filed in `pendingBodies`).
 */
function placeInBody(
  input: unknown,
  init: Readonly<Record<PropertyKey, any>> | undefined,
  fields: Readonly<Record<string, unknown>>,
): string | undefined {
  const body: unknown = init?.body;
  if (typeof body === "string") return undefined;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    pendingBodies.set(body, fields);
    return undefined;
  }
  if (body === undefined || body === null) {
    if (input instanceof Request && input.body !== null) {
      pendingBodies.set(input, fields);
      return undefined;
    }
    return "the request has no body";
  }
  return `its body is a ${(body as object).constructor?.name ?? typeof body}, not JSON text`;
}

/**
 * `base` (default: the global fetch, looked up per request), adding the fields `placeInBody` left for
 * later. Not async: a request with nothing left for it (every string body) goes straight through.
 */
function addedLater(base: FetchLike | undefined): FetchLike {
  return (input, init) => {
    const target = base ?? (globalThis.fetch as FetchLike);
    const key: unknown = init?.body ?? input;
    const fields = typeof key === "object" && key !== null ? pendingBodies.get(key) : undefined;
    if (fields === undefined) return target(input, init);
    pendingBodies.delete(key as object);
    return withFieldsAdded(target, input, init, fields);
  };
}

/** Sends the request with `fields` added to its body, read from the init's bytes or the Request. */
async function withFieldsAdded(
  target: FetchLike,
  input: Parameters<FetchLike>[0],
  init: Parameters<FetchLike>[1],
  fields: Readonly<Record<string, unknown>>,
): Promise<Response> {
  const text =
    init?.body === undefined || init.body === null
      ? await (input as Request).clone().text()
      : new TextDecoder().decode(init.body as Uint8Array | ArrayBuffer);
  // Headers in init replace a Request's own; the SDK may have counted the old body.
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.delete("content-length");
  return target(input, { ...init, headers, body: withBodyFieldsInJson(text, fields) });
}

/**
 * A `fetch` for providers that drop unknown body keys (`createOpenAI({ fetch: tagalongFetch() })`):
 * it adds the body fields `tagalongMiddleware` prepared for this very call and sends it with the
 * caller's own abort signal. Requests that are not such calls pass through untouched. Wraps
 * `baseFetch` (default: global fetch). The fields go into a JSON body given as text or bytes, or the
 * body of a `Request` passed with the call's signal in the init; a request it cannot add them to is
 * sent as it is, and the middleware names it in a one-time warning.
 */
export function tagalongFetch(baseFetch?: Fetch): Fetch {
  if (baseFetch !== undefined && typeof baseFetch !== "function") {
    throw new TagalongError(
      "tagalongFetch: the argument must be a fetch function (or nothing, for the global fetch)",
    );
  }
  if (isCallFetch(baseFetch, FETCH_KIND)) return baseFetch as Fetch;
  return callFetch(FETCH_KIND, addedLater(baseFetch as FetchLike | undefined), (input, init) => {
    const signal = init?.signal as AbortSignal | undefined;
    const call = signal === undefined || signal === null ? undefined : filedCallOf(signal);
    if (call === undefined) return undefined;
    call.headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    call.release();
    call.missed = placeInBody(input, init, call.fields);
    call.taken = call.missed === undefined;
    return { body: call.fields, signal: { value: call.callerSignal } };
  }) as Fetch;
}
