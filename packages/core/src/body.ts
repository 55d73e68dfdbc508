import { isPlainObject } from "./validate";

/**
 * A new request body with Tagalong's fields added; the caller's object is not touched. Where the
 * caller already set a field (say `requesty: { auto_cache: true }`), both objects are merged and the
 * caller's own keys win.
 */
export function withBodyFields<T extends object>(params: T, fields: Readonly<Record<string, unknown>>): T {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    out ??= { ...(params as Record<string, unknown>) };
    const ours = fields[key];
    const theirs = out[key];
    if (theirs === undefined) out[key] = ours;
    else if (isPlainObject(theirs) && isPlainObject(ours)) out[key] = { ...ours, ...theirs };
  }
  return (out as T | undefined) ?? params;
}

/** Headers with Tagalong's added; a header the caller set explicitly wins. Names compare case-insensitively. */
export function withHeaders(
  headers: Record<string, string | undefined> | undefined,
  ours: Readonly<Record<string, string>>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...ours };
  if (headers) {
    for (const name in headers) {
      const lower = name.toLowerCase();
      if (lower !== name && lower in out) delete out[lower];
      out[name] = headers[name];
    }
  }
  return out;
}
