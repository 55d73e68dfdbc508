export { withBodyFields, withBodyFieldsInJson } from "./body";
export {
  createDeliveryQueue,
  type DeliveryContext,
  type DeliveryJob,
  type DeliveryOptions,
  type DeliveryQueue,
  type DeliveryQueueOptions,
  type DeliveryRequest,
  parseRetryAfter,
} from "./delivery";
export {
  CLOUDFLARE_METADATA_HEADER,
  type CloudflareField,
  type CloudflareOptions,
  cloudflare,
} from "./destinations/cloudflare";
export { type HeliconeOptions, helicone } from "./destinations/helicone";
export { langfuseAttributes } from "./destinations/langfuse";
export {
  LITELLM_METADATA_HEADER,
  LITELLM_TAGS_HEADER,
  LITELLM_USER_HEADER,
  litellm,
} from "./destinations/litellm";
export { openRouterFields, openrouter } from "./destinations/openrouter";
export {
  genAiAttributes,
  type OpenTelemetryOptions,
  type OtelAttributeMap,
  type OtelAttributes,
  type OtelMetadataField,
  type OtelTraceApi,
  openTelemetry,
  otelAttributeKeys,
  otelAttributes,
} from "./destinations/opentelemetry";
export {
  PORTKEY_METADATA_HEADER,
  PORTKEY_TRACE_HEADER,
  type PortkeyOptions,
  portkey,
  portkeyMetadata,
} from "./destinations/portkey";
export {
  PROMPTLAYER_ERROR_MESSAGE_MAX,
  PROMPTLAYER_TAG_MAX,
  type PromptLayerDestination,
  type PromptLayerOptions,
  type PromptLayerRequestId,
  promptLayer,
  promptLayerLogRequest,
  promptLayerMetadata,
  promptLayerTrackPrompt,
} from "./destinations/promptlayer";
export { promptLayerAttributes } from "./destinations/promptlayer-attributes";
export { type RequestyField, type RequestyOptions, requesty, requestyField } from "./destinations/requesty";
export { DeliveryError, formatIssue, InvalidMetadataError, TagalongError } from "./errors";
export { headerBytes, headerJson, isSafeHeaderValue } from "./header";
export { consoleLogger, type LogLevel } from "./logger";
export { mergeMetadata } from "./merge";
export { scrubSecrets } from "./redact";
export {
  currentMetadata,
  currentScope,
  type ScopeFrame,
  scopesFollowAsync,
  type WithMetadataOptions,
  withMetadata,
} from "./scope";
export { createScopeStore, type ScopeStore } from "./scope-store";
export { flushAfter } from "./serverless";
export {
  createTagalong,
  type PreparedCall,
  type Tagalong,
  type TagalongOptions,
  vercelWaitUntil,
} from "./tagalong";
export type {
  CallParameters,
  CallStatus,
  ChatMessage,
  CompletedCall,
  DeliveryStats,
  Destination,
  DestinationHost,
  ExtraValue,
  FlushOptions,
  InFlight,
  Logger,
  Metadata,
  MetadataIssue,
  PromptRef,
  WaitUntil,
} from "./types";
export { checkMetadata } from "./validate";
