// The OpenAI SDK accepts headers in several shapes (its `HeadersLike`): the shapes `fetch` takes (a
// record, a `Headers`, [name, value] pairs), which the adapter kit merges, and its internal
// `NullableHeaders` ({ values: Headers, nulls: Set }), seen here as the pairs it stands for. A `null`
// value means "send no such header", which is as explicit as setting one.
import { eachHeaderName, mergeHeaders } from "@tagalong/core/adapter";

interface NullableHeaders {
  values: Headers;
  nulls: Set<string>;
}

function isNullableHeaders(headers: unknown): headers is NullableHeaders {
  const h = headers as Partial<NullableHeaders> | null;
  return typeof h === "object" && h !== null && h.values instanceof Headers && h.nulls instanceof Set;
}

/** NullableHeaders as [name, value] pairs (removed names with a `null` value); other shapes as they are. */
function asFetchShape(headers: unknown): unknown {
  if (!isNullableHeaders(headers)) return headers;
  const pairs: Array<[string, string | null]> = [];
  headers.values.forEach((value, name) => {
    pairs.push([name, value]);
  });
  for (const name of headers.nulls) pairs.push([name, null]);
  return pairs;
}

const namesCache = new WeakMap<object, ReadonlySet<string>>();
const NO_NAMES: ReadonlySet<string> = new Set();

/** The lowercased names a HeadersLike sets or removes; cached, for headers that never change (a client's defaults). */
export function headerNames(headers: unknown): ReadonlySet<string> {
  if (headers === null || typeof headers !== "object") return NO_NAMES;
  let names = namesCache.get(headers);
  if (names === undefined) {
    const found = new Set<string>();
    eachHeaderName(asFetchShape(headers), (name) => found.add(name));
    names = found;
    namesCache.set(headers, names);
  }
  return names;
}

/**
 * The request's headers with Tagalong's added, so the SDK sends them. A header the caller set (or
 * removed with `null`) on this call or in the client's `defaultHeaders` wins: ours is left out.
 * Returns `callHeaders` itself when there is nothing to add, and never changes the caller's object.
 */
export function withTagalongHeaders(
  callHeaders: unknown,
  ours: Readonly<Record<string, string>>,
  clientDefaults: ReadonlySet<string>,
): unknown {
  const shape = asFetchShape(callHeaders);
  const merged = mergeHeaders(shape, ours, clientDefaults);
  return merged === shape ? callHeaders : merged;
}
