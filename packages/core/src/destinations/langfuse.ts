import type { OtelAttributeMap } from "./opentelemetry";

/**
 * Langfuse's OTLP attribute namespace (its OpenTelemetry endpoint reads these): the user, the session,
 * the environment, the tags and the prompt link as Langfuse's own keys, and the flat metadata under
 * `langfuse.trace.metadata.*`. An environment, a session id or a tag Langfuse refuses or drops is left
 * out of the spans (warned once). Use with
 * `openTelemetry({ attributes: [genAiAttributes, langfuseAttributes] })`.
 */
export const langfuseAttributes: OtelAttributeMap = {
  name: "langfuse",
  fields: {
    user: ["langfuse.user.id"],
    session: ["langfuse.session.id"],
    environment: ["langfuse.environment"],
    tags: ["langfuse.trace.tags"],
    "prompt.name": ["langfuse.observation.prompt.name"],
    "prompt.version": ["langfuse.observation.prompt.version"],
  },
  flatPrefix: "langfuse.trace.metadata.",
  // Langfuse's environments, sessions and tags pages; it reads the environment from
  // deployment.environment.name and the session from session.id as well.
  rules: {
    session: {
      pattern: /^[\x20-\x7e]{1,199}$/,
      rule: "must be printable US-ASCII, less than 200 chars (Langfuse drops a longer session id)",
    },
    tags: { pattern: /^.{1,200}$/su, rule: "must be at most 200 chars (Langfuse drops a longer tag)" },
    environment: {
      pattern: /^(?!langfuse)[a-z0-9_-]{1,40}$/,
      rule: 'must be lowercase letters, digits, - and _, at most 40, not starting with "langfuse" (Langfuse\'s environment rule)',
    },
  },
};
