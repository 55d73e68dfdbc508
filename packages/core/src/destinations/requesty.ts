import { checkOptions } from "../options";
import type { Destination, Metadata, MetadataIssue } from "../types";
import { reservedExtraKeys } from "./reserved-keys";

/** Options of `requesty()`. */
export interface RequestyOptions {
  /** Sets `requesty.auto_cache`. */
  autoCache?: boolean;
}

/** Requesty's `requesty` body object. */
export interface RequestyField {
  tags?: string[];
  user_id?: string;
  trace_id?: string;
  extra?: Record<string, string | number | boolean>;
  auto_cache?: boolean;
}

const NAME = "requesty";
const RESERVED = new Set(["session_id", "environment", "organization", "prompt_title"]);

/** Requesty's `requesty` body object for this metadata; undefined when there is nothing to send. */
export function requestyField(m: Metadata, options: RequestyOptions = {}): RequestyField | undefined {
  const out: RequestyField = {};
  if (m.tags !== undefined && m.tags.length > 0) out.tags = [...m.tags];
  if (m.user !== undefined) out.user_id = m.user;
  if (m.trace !== undefined) out.trace_id = m.trace;
  const extra: Record<string, string | number | boolean> = {};
  if (m.session !== undefined) extra.session_id = m.session;
  if (m.environment !== undefined) extra.environment = m.environment;
  if (m.organization !== undefined) extra.organization = m.organization;
  if (m.prompt !== undefined) extra.prompt_title = m.prompt.name;
  if (m.extra) Object.assign(extra, m.extra);
  for (const _ in extra) {
    out.extra = extra;
    break;
  }
  if (options.autoCache !== undefined) out.auto_cache = options.autoCache;
  for (const _ in out) return out;
  return undefined;
}

/** Requesty: the `requesty` body field `{tags, user_id, trace_id, extra}`. */
export function requesty(options: RequestyOptions = {}): Destination {
  checkOptions("requesty", options, ["autoCache"]);
  return {
    name: NAME,
    check(m) {
      const issues: MetadataIssue[] = [];
      issues.push(
        ...reservedExtraKeys(m, RESERVED, "collides with a key Requesty's extra gets from the model", NAME),
      );
      return issues;
    },
    encode(m) {
      const field = requestyField(m, options);
      return field ? { body: { requesty: field } } : {};
    },
  };
}
