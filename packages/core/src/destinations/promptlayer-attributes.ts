import type { OtelAttributeMap } from "./opentelemetry";

/**
 * PromptLayer's OTLP attribute namespace: the flat metadata under `promptlayer.metadata.*` and the
 * prompt link as `promptlayer.prompt.*`. Use with
 * `openTelemetry({ attributes: [genAiAttributes, promptLayerAttributes] })`.
 */
export const promptLayerAttributes: OtelAttributeMap = {
  name: "promptlayer",
  fields: {
    "prompt.name": ["promptlayer.prompt.name"],
    "prompt.version": ["promptlayer.prompt.version"],
    "prompt.label": ["promptlayer.prompt.label"],
  },
  flatPrefix: "promptlayer.metadata.",
};
