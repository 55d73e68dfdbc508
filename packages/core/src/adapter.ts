// `@tagalong/core/adapter`: what an adapter (a framework integration) needs to attach Tagalong to a call
// and to hand the finished call back. Users of Tagalong do not need this entry point.
export { errorInfo, failedStatus, isAbortError, timeoutOf } from "./adapter-kit/call-errors";
export {
  callFetch,
  type FetchLike,
  isCallFetch,
  type RequestAdditions,
  withAdditions,
} from "./adapter-kit/call-fetch";
export {
  joinParts,
  type MediaKind,
  mediaKind,
  mediaPlaceholder,
  openAIApiType,
  openAIParameters,
} from "./adapter-kit/convention";
export { callCredentials } from "./adapter-kit/credentials";
export { eachHeaderName, mergeHeaders } from "./adapter-kit/headers";
export { hasKeys, isObject, isPlainObject } from "./adapter-kit/objects";
export { observeStream, type StreamEnd, type StreamObserver } from "./adapter-kit/observe-stream";
export { realmSingleton } from "./adapter-kit/realm";
export { type Timer, unref } from "./adapter-kit/timer";
export { type WarnOnce, warnOnce } from "./adapter-kit/warn-once";
export { withBodyFields, withBodyFieldsInJson } from "./body";
export { consoleLogger } from "./logger";
export { scrubSecrets } from "./redact";
export { currentMetadata } from "./scope";
export {
  callerContext,
  inFlightDestinations,
  type PreparedCall,
  type PrepareOptions,
  type Tagalong,
} from "./tagalong";
export type {
  CallParameters,
  CallStatus,
  ChatMessage,
  CompletedCall,
  Metadata,
  MetadataIssue,
} from "./types";
