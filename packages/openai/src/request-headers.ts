// The OpenAI SDK accepts headers in several shapes (its `HeadersLike`): a plain record, a `Headers`,
// an array of [name, value] pairs, or its internal `NullableHeaders` ({ values: Headers, nulls: Set }).
// A `null` value means "send no such header", which is as explicit as setting one; an `undefined`
// value is skipped by the SDK, as if the header were not there.

interface NullableHeaders {
  values: Headers;
  nulls: Set<string>;
}

function isNullableHeaders(headers: object): headers is NullableHeaders {
  const h = headers as Partial<NullableHeaders>;
  return h.values instanceof Headers && h.nulls instanceof Set;
}

/** Calls `visit` with every header name (lowercased) a HeadersLike sets or removes (not `undefined` ones). */
function eachName(headers: unknown, visit: (lowerName: string) => void): void {
  if (headers === null || typeof headers !== "object") return;
  if (headers instanceof Headers) {
    headers.forEach((_, name) => {
      visit(name);
    });
  } else if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (Array.isArray(pair) && pair[1] !== undefined) visit(String(pair[0]).toLowerCase());
    }
  } else if (isNullableHeaders(headers)) {
    headers.values.forEach((_, name) => {
      visit(name);
    });
    for (const name of headers.nulls) visit(name.toLowerCase());
  } else {
    const record = headers as Record<string, unknown>;
    for (const name in record) if (record[name] !== undefined) visit(name.toLowerCase());
  }
}

const namesCache = new WeakMap<object, ReadonlySet<string>>();
const NO_NAMES: ReadonlySet<string> = new Set();

/** The lowercased names a HeadersLike sets or removes; cached, for headers that never change (a client's defaults). */
export function headerNames(headers: unknown): ReadonlySet<string> {
  if (headers === null || typeof headers !== "object") return NO_NAMES;
  let names = namesCache.get(headers);
  if (names === undefined) {
    const found = new Set<string>();
    eachName(headers, (name) => found.add(name));
    names = found;
    namesCache.set(headers, names);
  }
  return names;
}

/**
 * The request's headers with Tagalong's added in front, so the SDK sends them. A header the caller
 * set (or removed with `null`) on this call or in the client's `defaultHeaders` wins: ours is left out.
 * Returns `callHeaders` itself when there is nothing to add, and never changes the caller's object.
 */
export function withTagalongHeaders(
  callHeaders: unknown,
  ours: Readonly<Record<string, string>>,
  clientDefaults: ReadonlySet<string>,
): unknown {
  const taken = callHeaders === null || callHeaders === undefined ? NO_NAMES : undefined;
  let add: Record<string, string> | undefined;
  let filtered = false;
  for (const name in ours) {
    const lower = name.toLowerCase();
    let skip = clientDefaults.has(lower);
    if (!skip && taken === undefined) eachName(callHeaders, (n) => (skip ||= n === lower));
    if (skip) filtered = true;
    else (add ??= {})[name] = ours[name]!;
  }
  if (add === undefined) return callHeaders;
  if (callHeaders === null || callHeaders === undefined) return filtered ? add : ours;
  if (callHeaders instanceof Headers) {
    const merged = new Headers(callHeaders);
    for (const name in add) merged.set(name, add[name]!);
    return merged;
  }
  if (Array.isArray(callHeaders)) return [...Object.entries(add), ...callHeaders];
  if (isNullableHeaders(callHeaders)) {
    const pairs: Array<[string, string | null]> = Object.entries(add);
    callHeaders.values.forEach((value, name) => {
      pairs.push([name, value]);
    });
    for (const name of callHeaders.nulls) pairs.push([name, null]);
    return pairs;
  }
  // A record's keys each replace the header, so order does not matter; ours go last so that a key the
  // caller set to `undefined` (skipped by the SDK) does not blank ours out.
  return { ...(callHeaders as Record<string, unknown>), ...add };
}
