import { headerJson, isSafeHeaderValue } from "../header";
import { checkOptions } from "../options";
import type { Destination, Metadata, MetadataIssue } from "../types";
import { reservedExtraKeys } from "./reserved-keys";

const NAME = "litellm";
/** The LiteLLM proxy's end-user header, from `metadata.user`. */
export const LITELLM_USER_HEADER = "x-litellm-end-user-id";
/** The LiteLLM proxy's tags header, comma-joined. */
export const LITELLM_TAGS_HEADER = "x-litellm-tags";
/** The LiteLLM proxy's spend-logs metadata header (JSON): every field but the user and tags. */
export const LITELLM_METADATA_HEADER = "x-litellm-spend-logs-metadata";

/** What goes in LiteLLM's spend-logs metadata header: everything but the user and tags. */
function spendLogsMetadata(m: Metadata): Record<string, string | number | boolean> | undefined {
  const out: Record<string, string | number | boolean> = {};
  if (m.session !== undefined) out.session_id = m.session;
  if (m.trace !== undefined) out.trace_id = m.trace;
  if (m.environment !== undefined) out.environment = m.environment;
  if (m.organization !== undefined) out.organization = m.organization;
  if (m.prompt !== undefined) {
    out.prompt_name = m.prompt.name;
    if (m.prompt.version !== undefined) out.prompt_version = m.prompt.version;
    if (m.prompt.label !== undefined) out.prompt_label = m.prompt.label;
  }
  if (m.extra) Object.assign(out, m.extra);
  for (const _ in out) return out;
  return undefined;
}

const RESERVED = new Set([
  "session_id",
  "trace_id",
  "environment",
  "organization",
  "prompt_name",
  "prompt_version",
  "prompt_label",
]);

/**
 * LiteLLM proxy, through headers only (body `metadata` has reached providers on some routes, and
 * OpenAI rejects it): `x-litellm-end-user-id`, `x-litellm-tags`, and the rest as
 * `x-litellm-spend-logs-metadata` JSON. The session also goes as body `litellm_session_id`, a field
 * the proxy consumes itself.
 */
export function litellm(options?: Record<string, never>): Destination {
  checkOptions("litellm", options, []);
  return {
    name: NAME,
    check(m) {
      const issues: MetadataIssue[] = [];
      if (m.user !== undefined && !isSafeHeaderValue(m.user)) {
        issues.push({
          path: "user",
          rule: "must be printable ASCII to travel as the x-litellm-end-user-id header",
          destination: NAME,
        });
      }
      m.tags?.forEach((tag, i) => {
        if (tag.includes(","))
          issues.push({
            path: `tags[${i}]`,
            rule: "must not contain a comma (x-litellm-tags is comma-joined)",
            destination: NAME,
          });
        else if (!isSafeHeaderValue(tag))
          issues.push({
            path: `tags[${i}]`,
            rule: "must be printable ASCII to travel as the x-litellm-tags header",
            destination: NAME,
          });
      });
      issues.push(
        ...reservedExtraKeys(m, RESERVED, "collides with a key LiteLLM's metadata gets from the model", NAME),
      );
      return issues;
    },
    encode(m) {
      const headers: Record<string, string> = {};
      const body: Record<string, unknown> = {};
      if (m.user !== undefined) headers[LITELLM_USER_HEADER] = m.user;
      if (m.tags !== undefined && m.tags.length > 0) headers[LITELLM_TAGS_HEADER] = m.tags.join(",");
      const spend = spendLogsMetadata(m);
      if (spend) headers[LITELLM_METADATA_HEADER] = headerJson(spend);
      if (m.session !== undefined) body.litellm_session_id = m.session;
      return { headers, body };
    },
  };
}
