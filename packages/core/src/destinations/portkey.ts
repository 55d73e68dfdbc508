import { headerJson, isSafeHeaderValue } from "../header";
import { checkOptions } from "../options";
import type { Destination, Metadata, MetadataIssue } from "../types";
import { reservedExtraKeys } from "./reserved-keys";

/** Options of `portkey()`. */
export interface PortkeyOptions {
  /** Longest value Portkey accepts in the metadata JSON (its documented limit is 128). */
  maxValueLength?: number;
  /** Also send the legacy `x-portkey-meta` header (ignored by the open-source gateway). */
  legacyHeader?: boolean;
  /** Ask the gateway to forward `x-portkey-metadata` to the upstream provider. */
  forwardMetadata?: boolean;
}

const NAME = "portkey";
/** Portkey's metadata header: a JSON object of strings. */
export const PORTKEY_METADATA_HEADER = "x-portkey-metadata";
/** Portkey's trace header, from `metadata.trace`. */
export const PORTKEY_TRACE_HEADER = "x-portkey-trace-id";
const RESERVED = new Set(["_user", "_environment", "_organisation", "_prompt", "session_id", "tags"]);

/** Portkey's metadata object: predefined `_` keys, then custom keys, every value a string. */
export function portkeyMetadata(m: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.user !== undefined) out._user = m.user;
  if (m.environment !== undefined) out._environment = m.environment;
  if (m.organization !== undefined) out._organisation = m.organization;
  if (m.prompt !== undefined) out._prompt = m.prompt.name;
  if (m.session !== undefined) out.session_id = m.session;
  if (m.tags !== undefined && m.tags.length > 0) out.tags = m.tags.join(",");
  if (m.extra) for (const key in m.extra) out[key] = String(m.extra[key]);
  return out;
}

// Which model field each Portkey key came from, so an issue names the user's field.
const SOURCE: Record<string, string> = {
  _user: "user",
  _environment: "environment",
  _organisation: "organization",
  _prompt: "prompt.name",
  session_id: "session",
  tags: "tags",
};

/** Portkey: the `x-portkey-metadata` JSON header, plus `x-portkey-trace-id` from `trace`. */
export function portkey(options: PortkeyOptions = {}): Destination {
  checkOptions("portkey", options, ["maxValueLength", "legacyHeader", "forwardMetadata"]);
  const max = options.maxValueLength ?? 128;
  return {
    name: NAME,
    check(m) {
      const issues: MetadataIssue[] = [];
      issues.push(...reservedExtraKeys(m, RESERVED, "collides with a key Portkey sets itself", NAME));
      m.tags?.forEach((tag, i) => {
        if (tag.includes(",")) {
          issues.push({
            path: `tags[${i}]`,
            rule: "must not contain a comma (Portkey joins tags with commas)",
            destination: NAME,
          });
        }
      });
      const entries = portkeyMetadata(m);
      for (const key in entries) {
        const length = entries[key]!.length;
        if (length > max) {
          const path = SOURCE[key] ?? `extra.${key}`;
          issues.push({ path, rule: `${length} chars, Portkey allows ${max}`, destination: NAME });
        }
      }
      if (m.trace !== undefined && !isSafeHeaderValue(m.trace)) {
        issues.push({
          path: "trace",
          rule: "must be printable ASCII to travel as the x-portkey-trace-id header",
          destination: NAME,
        });
      }
      return issues;
    },
    encode(m) {
      const headers: Record<string, string> = {};
      const entries = portkeyMetadata(m);
      let any = false;
      for (const _ in entries) {
        any = true;
        break;
      }
      if (any) {
        const json = headerJson(entries);
        headers[PORTKEY_METADATA_HEADER] = json;
        if (options.legacyHeader) headers["x-portkey-meta"] = json;
        if (options.forwardMetadata) headers["x-portkey-forward-headers"] = PORTKEY_METADATA_HEADER;
      }
      if (m.trace !== undefined) headers[PORTKEY_TRACE_HEADER] = m.trace;
      return { headers };
    },
  };
}
