import { callFetch, type FetchLike, realmSingleton } from "@tagalong/core/adapter";

/**
 * How the middleware hands one call's body fields to `tagalongFetch` without any private header (which
 * would reach the wire if the fetch were not installed) and without AsyncLocalStorage: the providers
 * pass the call's `abortSignal` to `fetch` as `init.signal`, the very same object. The middleware gives
 * each call a signal of its own (following the caller's) and files the fields under it.
 */
interface FetchChannel {
  readonly fields: WeakMap<AbortSignal, Readonly<Record<string, unknown>>>;
  /** How many fetch helpers exist; while none does, the middleware files nothing. */
  helpers: number;
}

// Shared by duplicate installs of this package, so a helper from one copy serves a middleware from another.
const channel = realmSingleton<FetchChannel>("tagalong.ai-sdk.fetch-channel", () => ({
  fields: new WeakMap(),
  helpers: 0,
}));

export function fetchHelperInstalled(): boolean {
  return channel.helpers > 0;
}

/** A signal for this call alone that aborts with `signal`, with the body fields filed under it. */
export function fileBodyFields(
  signal: AbortSignal | undefined,
  fields: Readonly<Record<string, unknown>>,
): AbortSignal {
  const own = signal ? AbortSignal.any([signal]) : new AbortController().signal;
  channel.fields.set(own, fields);
  return own;
}

type Fetch = typeof globalThis.fetch;

/**
 * A `fetch` for providers that drop unknown body keys (`createOpenAI({ fetch: tagalongFetch() })`):
 * it adds the body fields `tagalongMiddleware` prepared for this very call.
 * Requests that are not such calls pass through untouched. Wraps `baseFetch` (default: global fetch).
 */
export function tagalongFetch(baseFetch?: Fetch): Fetch {
  channel.helpers++;
  return callFetch("ai-sdk", baseFetch as FetchLike | undefined, (_input, init) => {
    const signal = init?.signal as AbortSignal | undefined;
    const body = signal ? channel.fields.get(signal) : undefined;
    return body === undefined ? undefined : { body };
  }) as Fetch;
}
