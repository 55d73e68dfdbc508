import { withBodyFieldsInJson } from "../body";
import { mergeHeaders } from "./headers";
import { hasKeys, isPlainObject } from "./objects";

/** A `fetch` as SDKs take it (`configuration.fetch`, `createOpenAI({ fetch })`), typed loosely across runtimes. */
export type FetchLike = (input: any, init?: any) => Promise<any>;

/** What a call fetch adds to one request. */
export interface RequestAdditions {
  /** Headers to add; a header the request already sets wins. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Top-level JSON body fields to add; the body's own keys win. */
  readonly body?: Readonly<Record<string, unknown>>;
  /** When present, the signal the request is sent with instead of its own (`undefined`: none). */
  readonly signal?: { readonly value: AbortSignal | undefined };
}

const CALL_FETCH = Symbol.for("tagalong.call-fetch");

/** Whether `fetch` is a call fetch of this kind, made by any copy of Tagalong (so it is not wrapped twice). */
export function isCallFetch(fetch: unknown, kind: string): boolean {
  return typeof fetch === "function" && (fetch as unknown as Record<symbol, unknown>)[CALL_FETCH] === kind;
}

/** The request init with the additions: headers (the request's own win), body fields, signal. */
export function withAdditions(
  input: unknown,
  init: Readonly<Record<string, any>> | undefined,
  add: RequestAdditions,
  headersInPlace = false,
): Record<string, any> {
  const out: Record<string, any> = { ...init };
  const bodyChanges = add.body !== undefined && typeof init?.body === "string" && hasKeys(add.body);
  if ((add.headers !== undefined && hasKeys(add.headers)) || bodyChanges) {
    const own = init?.headers;
    if (isPlainObject(own)) {
      // A record (what the AI SDK's providers pass) stays a record: no Headers object built per call.
      const merged: Record<string, unknown> = add.headers
        ? mergeHeaders(own as Record<string, string | undefined>, add.headers)
        : own;
      out.headers = bodyChanges ? withoutContentLength(merged) : merged;
    } else {
      // Headers in init replace a Request's own, so start from the Request's when init has none.
      // Ours are added where the request sets no header of that name: to our own copy, or (when the
      // SDK made this Headers for this request alone) to it in place, sparing a copy of every header.
      const headers =
        headersInPlace && own instanceof Headers
          ? own
          : new Headers(own ?? (input instanceof Request ? input.headers : undefined));
      if (add.headers !== undefined) {
        for (const name in add.headers) if (!headers.has(name)) headers.set(name, add.headers[name]!);
      }
      // The SDK may have counted the old body; let fetch compute the length of the new one.
      if (bodyChanges) headers.delete("content-length");
      out.headers = headers;
    }
    if (bodyChanges) out.body = withBodyFieldsInJson(init!.body, add.body!);
  }
  if (add.signal !== undefined) {
    if (add.signal.value === undefined) delete out.signal;
    else out.signal = add.signal.value;
  }
  return out;
}

/**
 * A header record without `content-length` (any case): the SDK may have counted the old body; fetch
 * computes the length of the new one. A copy when there is one to leave out, else the record itself.
 */
function withoutContentLength(headers: Record<string, unknown>): Record<string, unknown> {
  const isLength = (name: string) => name.length === 14 && name.toLowerCase() === "content-length";
  for (const name in headers) {
    if (!isLength(name)) continue;
    const out: Record<string, unknown> = {};
    for (const n in headers) if (!isLength(n)) out[n] = headers[n];
    return out;
  }
  return headers;
}

/**
 * A fetch that adds to each request what `find` returns for it (the body-field and header channel
 * from an adapter to the wire, for SDKs that take no per-call body fields or headers); requests it
 * returns nothing for pass through untouched. `base` is the caller's own fetch (default: the global
 * fetch, looked up on every request). `kind` names the adapter's channel: given a call fetch of the
 * same kind as `base`, it returns that one as it is. `channel`, if given, is a key of the request
 * init through which the adapter hands the call to `find` (an SDK's per-request fetch options): it is
 * taken out of the init before the request is sent. `headersInPlace`: the init's `Headers` is one the
 * SDK made for this request alone (the OpenAI SDK 5 and later build one per attempt), so ours are added
 * to it rather than to a copy.
 */
export function callFetch(
  kind: string,
  base: FetchLike | undefined,
  find: (
    input: unknown,
    init: Readonly<Record<PropertyKey, any>> | undefined,
  ) => RequestAdditions | undefined,
  channel?: symbol,
  headersInPlace = false,
): FetchLike {
  if (base !== undefined && isCallFetch(base, kind)) return base;
  const fetch: FetchLike = (input, init) => {
    const target = base ?? (globalThis.fetch as FetchLike);
    const add = find(input, init);
    if (channel === undefined || init?.[channel] === undefined) {
      return add === undefined
        ? target(input, init)
        : target(input, withAdditions(input, init, add, headersInPlace));
    }
    // withAdditions returns a copy of the init: the channel's key is removed from that.
    const out = add === undefined ? { ...init } : withAdditions(input, init, add, headersInPlace);
    delete out[channel];
    return target(input, out);
  };
  Object.defineProperty(fetch, CALL_FETCH, { value: kind });
  return fetch;
}
