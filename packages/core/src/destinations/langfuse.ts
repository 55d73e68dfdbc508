import type { OtelAttributeMap } from "./opentelemetry";

/**
 * Langfuse's OTLP attribute namespace (its OpenTelemetry endpoint reads these): the user, the session,
 * the environment, the tags and the prompt link as Langfuse's own keys, and the flat metadata under
 * `langfuse.trace.metadata.*`. Use with `openTelemetry({ attributes: [genAiAttributes, langfuseAttributes] })`.
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
};
