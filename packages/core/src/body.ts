import { isPlainObject } from "./adapter-kit/objects";

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

// The JSON of the last body fields seen: calls in one scope (or with the defaults alone) share one
// frozen prepared call, so its text is made once. One entry, not a WeakMap keyed by every call's
// fields: a call with its own metadata has fields of its own, and an entry per call made the
// garbage collector trace each one.
let lastFields: object | undefined;
let lastJson = "";

function fieldsJson(fields: Readonly<Record<string, unknown>>): string {
  if (fields !== lastFields) {
    lastJson = JSON.stringify(fields);
    lastFields = fields;
  }
  return lastJson;
}

/**
 * A JSON request body (as sent by a `fetch`) with Tagalong's fields added at the top level, the
 * caller's own keys winning, for fetch helpers that see the body only as text. When none of our keys
 * occurs in the text the fields are spliced in without re-serialising the (possibly large) body;
 * otherwise it is parsed and merged like `withBodyFields`. Text that is not a JSON object is
 * returned as it is.
 */
export function withBodyFieldsInJson(text: string, fields: Readonly<Record<string, unknown>>): string {
  let any = false;
  let clash = false;
  for (const key in fields) {
    any = true;
    if (text.includes(JSON.stringify(key))) {
      clash = true;
      break;
    }
  }
  if (!any) return text;
  const rest = text.trimStart();
  if (!rest.startsWith("{")) return text;
  if (!clash) {
    const inner = rest.slice(1).trimStart();
    const ours = fieldsJson(fields).slice(1, -1);
    return inner.startsWith("}") ? `{${ours}${inner}` : `{${ours},${inner}`;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? JSON.stringify(withBodyFields(parsed, fields)) : text;
  } catch {
    return text;
  }
}
