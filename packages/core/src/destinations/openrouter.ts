import { compileMapping, type Declaration } from "../mapping";
import { checkOptions } from "../options";
import type { Destination, Metadata } from "../types";
import { mappedDestination } from "./mapped";

/** OpenRouter's mapping: body `user`, `session_id` (<= 128 chars) and the `trace` object. */
export function openrouterDeclaration(): Declaration {
  return {
    name: "openrouter",
    label: "OpenRouter",
    objects: {
      body: { body: [] },
      // Keys OpenRouter's trace object takes for itself, beyond the ones filled from the model.
      trace: { body: ["trace"], reserved: ["trace_name", "span_name", "parent_span_id"] },
    },
    places: [
      { from: "user", to: "body", key: "user" },
      { from: "session", to: "body", key: "session_id", maxLength: 128 },
      { from: "trace", to: "trace", key: "trace_id" },
      { from: "environment", to: "trace", key: "environment" },
      { from: "organization", to: "trace", key: "organization" },
      { from: "tags", to: "trace", key: "tags" },
      { from: "prompt.name", to: "trace", key: "generation_name" },
      { from: "prompt.version", to: "trace", key: "prompt_version" },
      { from: "prompt.label", to: "trace", key: "prompt_label" },
    ],
    extra: { to: "trace" },
  };
}

/** OpenRouter: body `user`, `session_id` (<= 128 chars) and `trace` (trace_id plus custom keys). */
export function openrouter(options?: Record<string, never>): Destination {
  checkOptions("openrouter", options, []);
  return mappedDestination(compileMapping(openrouterDeclaration()));
}

const mapping = compileMapping(openrouterDeclaration());

/** OpenRouter's body fields for this metadata: `user`, `session_id` and the `trace` object. */
export function openRouterFields(m: Metadata): Record<string, unknown> {
  return mapping.encode(m).body;
}
