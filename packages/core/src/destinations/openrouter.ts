import { checkOptions } from "../options";
import type { Destination, Metadata, MetadataIssue } from "../types";
import { reservedExtraKeys } from "./reserved-keys";

const NAME = "openrouter";
export const OPENROUTER_SESSION_MAX = 128;

export interface OpenRouterTrace {
  trace_id?: string;
  [key: string]: unknown;
}

/** OpenRouter's body fields for this metadata: `user`, `session_id` and the `trace` object. */
export function openRouterFields(m: Metadata): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (m.user !== undefined) body.user = m.user;
  if (m.session !== undefined) body.session_id = m.session;
  const trace: OpenRouterTrace = {};
  if (m.trace !== undefined) trace.trace_id = m.trace;
  if (m.environment !== undefined) trace.environment = m.environment;
  if (m.organization !== undefined) trace.organization = m.organization;
  if (m.tags !== undefined && m.tags.length > 0) trace.tags = [...m.tags];
  if (m.prompt !== undefined) {
    trace.generation_name = m.prompt.name;
    if (m.prompt.version !== undefined) trace.prompt_version = m.prompt.version;
    if (m.prompt.label !== undefined) trace.prompt_label = m.prompt.label;
  }
  if (m.extra) Object.assign(trace, m.extra);
  for (const _ in trace) {
    body.trace = trace;
    break;
  }
  return body;
}

const RESERVED = new Set([
  "trace_id",
  "trace_name",
  "span_name",
  "generation_name",
  "parent_span_id",
  "environment",
  "organization",
  "tags",
  "prompt_version",
  "prompt_label",
]);

/** OpenRouter: body `user`, `session_id` (<= 128 chars) and `trace` (trace_id plus custom keys). */
export function openrouter(options?: Record<string, never>): Destination {
  checkOptions("openrouter", options, []);
  return {
    name: NAME,
    check(m) {
      const issues: MetadataIssue[] = [];
      if (m.session !== undefined && m.session.length > OPENROUTER_SESSION_MAX) {
        issues.push({
          path: "session",
          rule: `${m.session.length} chars, OpenRouter allows ${OPENROUTER_SESSION_MAX}`,
          destination: NAME,
        });
      }
      issues.push(
        ...reservedExtraKeys(m, RESERVED, "collides with a key of OpenRouter's trace object", NAME),
      );
      return issues;
    },
    encode(m) {
      return { body: openRouterFields(m) };
    },
  };
}
