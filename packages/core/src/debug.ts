// Debug lines about each call: what Tagalong resolved and what each destination added to the request.
// Names and byte sizes only, never values: metadata holds user ids and whatever `extra` carries, and
// nothing here may print a credential.
import { debugEnabled } from "./logger";
import type { Destination, Logger, Metadata } from "./types";
import { STRING_FIELDS } from "./validate";

interface Prepared {
  readonly metadata: Readonly<Metadata>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

const encoder = new TextEncoder();

/** `name (N B)` for each header. */
export function describeHeaders(headers: Readonly<Record<string, string>>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name} (${encoder.encode(value).length} B)`)
    .join(", ");
}

/** Each body field, with the keys of an object value: `requesty {user_id, tags, extra}`. */
export function describeBody(body: Readonly<Record<string, unknown>>): string {
  return Object.entries(body)
    .map(([name, value]) =>
      value !== null && typeof value === "object" && !Array.isArray(value)
        ? `${name} {${Object.keys(value).join(", ")}}`
        : name,
    )
    .join(", ");
}

const FIELD_ORDER = [...STRING_FIELDS, "tags", "prompt", "extra"];

/** The fields a call's metadata sets, in the model's order: `user, session, tags[2], extra {plan}`. */
export function describeMetadata(metadata: Readonly<Metadata>): string {
  const fields: string[] = [];
  const names = [...FIELD_ORDER, ...Object.keys(metadata).filter((k) => !FIELD_ORDER.includes(k))];
  for (const name of names) {
    const value = (metadata as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (name === "tags" && Array.isArray(value)) fields.push(`tags[${value.length}]`);
    else if (name === "extra" && value !== null && typeof value === "object") {
      fields.push(`extra {${Object.keys(value).join(", ")}}`);
    } else fields.push(name);
  }
  return fields.length ? fields.join(", ") : "nothing";
}

/** The entries of `from` whose names `names` has. */
function pick<V>(from: Readonly<Record<string, V>>, names: object | undefined): Record<string, V> {
  const out: Record<string, V> = {};
  if (names) for (const name of Object.keys(names)) if (name in from) out[name] = from[name]!;
  return out;
}

/**
 * `prepare` itself when no debug line is wanted (nothing added to the call's path); otherwise `prepare`
 * followed by one line on topic `call` (the resolved fields) and one per destination that adds to the
 * request (topic: its name) with the header names and byte sizes and the body fields, as the call
 * carries them. Naming each destination's share re-encodes the metadata per destination, which costs
 * only while debugging; the lines never throw.
 */
export function withCallDebug<P extends Prepared, A extends unknown[]>(
  prepare: (...args: A) => P,
  logger: Logger,
  destinations: readonly Destination[],
): (...args: A) => P {
  const call = debugEnabled(logger, "call");
  const encoders = destinations.filter((d) => d.encode && debugEnabled(logger, d.name));
  if (!call && encoders.length === 0) return prepare;
  return (...args) => {
    const prepared = prepare(...args);
    try {
      if (call) logger.debug(`call: metadata ${describeMetadata(prepared.metadata)}`);
      for (const d of encoders) {
        // The destination's own encoding names its headers and body fields; what the call carries is
        // read from the prepared call (a field a destination cannot carry is already left out there).
        const out = d.encode!(prepared.metadata);
        const headers = pick(prepared.headers, out.headers);
        const body = pick(prepared.body, out.body);
        const parts: string[] = [];
        if (Object.keys(headers).length) parts.push(`headers ${describeHeaders(headers)}`);
        if (Object.keys(body).length) parts.push(`body ${describeBody(body)}`);
        logger.debug(`${d.name}: added ${parts.length ? parts.join("; ") : "nothing"}`);
      }
    } catch {
      // A debug line never breaks the call.
    }
    return prepared;
  };
}
