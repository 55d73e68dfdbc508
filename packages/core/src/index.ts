// `@tagalong/core`: the names an application writes. Adapters build on `@tagalong/core/adapter`,
// destinations on `@tagalong/core/destination`.
export { type CloudflareField, type CloudflareOptions, cloudflare } from "./destinations/cloudflare";
export { type HeliconeOptions, helicone } from "./destinations/helicone";
export { langfuseAttributes } from "./destinations/langfuse";
export { litellm } from "./destinations/litellm";
export { openrouter } from "./destinations/openrouter";
export {
  genAiAttributes,
  type OpenTelemetryOptions,
  type OtelAttributeMap,
  type OtelAttributes,
  type OtelFieldRule,
  type OtelMetadataField,
  type OtelTextField,
  type OtelTraceApi,
  openTelemetry,
  otelAttributeKeys,
  otelAttributes,
} from "./destinations/opentelemetry";
export { type PortkeyOptions, portkey } from "./destinations/portkey";
export {
  type PromptLayerDestination,
  type PromptLayerOptions,
  type PromptLayerRequestId,
  type PromptLayerStats,
  promptLayer,
} from "./destinations/promptlayer";
export { promptLayerAttributes } from "./destinations/promptlayer-attributes";
export { type RequestyOptions, requesty } from "./destinations/requesty";
export { DeliveryError, InvalidMetadataError, TagalongError } from "./errors";
export type { LogLevel } from "./logger";
export { currentMetadata, scopesFollowAsync, type WithMetadataOptions, withMetadata } from "./scope";
export { flushAfter } from "./serverless";
export {
  createTagalong,
  type DestinationStats,
  type PreparedCall,
  type PrepareOptions,
  type Tagalong,
  type TagalongOptions,
} from "./tagalong";
export type {
  Destination,
  ExtraValue,
  FlushOptions,
  Logger,
  Metadata,
  MetadataIssue,
  PromptRef,
  WaitUntil,
} from "./types";
export { checkMetadata } from "./validate";
