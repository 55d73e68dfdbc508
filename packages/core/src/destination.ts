// `@tagalong/core/destination`: what a destination (a place the metadata goes) is built from: the
// `Destination` contract, the background delivery engine, the header helpers, and the attribute-map type
// a destination supplies for the OpenTelemetry destination.
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
export type { OtelAttributeMap, OtelMetadataField } from "./destinations/opentelemetry";
export { DeliveryError, formatIssue, InvalidMetadataError, TagalongError } from "./errors";
export { headerBytes, headerJson, isSafeHeaderValue } from "./header";
export { consoleLogger, type LogLevel } from "./logger";
export { scrubSecrets } from "./redact";
export type { DestinationStats } from "./tagalong";
export type {
  CallParameters,
  CallStatus,
  ChatMessage,
  CompletedCall,
  DeliveryStats,
  Destination,
  DestinationHost,
  FlushOptions,
  InFlight,
  Logger,
  Metadata,
  MetadataIssue,
} from "./types";
