import { compileMapping, type Declaration } from "../mapping";
import { checkOptions } from "../options";
import type { Destination } from "../types";
import { mappedDestination } from "./mapped";

/**
 * LiteLLM's mapping, through headers only (body `metadata` has reached providers on some routes, and
 * OpenAI rejects it): the user and the comma-joined tags as headers of their own, the rest as the
 * spend-logs metadata JSON header; the session also as body `litellm_session_id`, which the proxy
 * consumes itself.
 */
export function litellmDeclaration(): Declaration {
  return {
    name: "litellm",
    label: "LiteLLM",
    objects: {
      spend: { header: "x-litellm-spend-logs-metadata" },
      body: { body: [] },
    },
    places: [
      { from: "user", to: "header", key: "x-litellm-end-user-id" },
      { from: "tags", to: "header", key: "x-litellm-tags", join: "," },
      { from: "session", to: "spend", key: "session_id" },
      { from: "trace", to: "spend", key: "trace_id" },
      { from: "environment", to: "spend", key: "environment" },
      { from: "organization", to: "spend", key: "organization" },
      { from: "prompt.name", to: "spend", key: "prompt_name" },
      { from: "prompt.version", to: "spend", key: "prompt_version" },
      { from: "prompt.label", to: "spend", key: "prompt_label" },
      { from: "session", to: "body", key: "litellm_session_id" },
    ],
    extra: { to: "spend" },
  };
}

/**
 * LiteLLM proxy: `x-litellm-end-user-id`, `x-litellm-tags`, and the rest as
 * `x-litellm-spend-logs-metadata` JSON; the session also as body `litellm_session_id`.
 */
export function litellm(options?: Record<string, never>): Destination {
  checkOptions("litellm", options, []);
  return mappedDestination(compileMapping(litellmDeclaration()));
}

/** The LiteLLM proxy's end-user header, from `metadata.user`. */
export const LITELLM_USER_HEADER = "x-litellm-end-user-id";
/** The LiteLLM proxy's tags header, comma-joined. */
export const LITELLM_TAGS_HEADER = "x-litellm-tags";
/** The LiteLLM proxy's spend-logs metadata header (JSON): every field but the user and tags. */
export const LITELLM_METADATA_HEADER = "x-litellm-spend-logs-metadata";
