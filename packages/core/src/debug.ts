// Debug lines about each call: what Tagalong resolved and what each destination added to the request.
// Names and byte sizes only, never values: metadata holds user ids and whatever `extra` carries, and
// nothing here may print a credential.
import { debugEnabled } from "./logger";
import type { Destination, Logger, Metadata } from "./types";

interface Prepared {
  readonly metadata: Readonly<Metadata>;
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

const FIELD_ORDER = ["user", "session", "trace", "environment", "organization", "tags", "prompt", "extra"];

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

/**
 * `prepare` itself when no debug line is wanted (nothing added to the call's path); otherwise `prepare`
 * followed by one line on topic `call` (the resolved fields) and one per destination that adds to the
 * request (topic: its name) with the header names and byte sizes and the body fields. The description
 * re-encodes the metadata per destination, which costs only while debugging, and never throws.
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
        const out = d.encode!(prepared.metadata);
        const parts: string[] = [];
        if (out.headers && Object.keys(out.headers).length)
          parts.push(`headers ${describeHeaders(out.headers)}`);
        if (out.body && Object.keys(out.body).length) parts.push(`body ${describeBody(out.body)}`);
        logger.debug(`${d.name}: added ${parts.length ? parts.join("; ") : "nothing"}`);
      }
    } catch {
      // A debug line never breaks the call.
    }
    return prepared;
  };
}
