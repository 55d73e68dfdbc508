export { fillSchema, replyText } from "./fake-model";
export type { CloudflareView, HeliconeView, LiteLLMView, OpenRouterView } from "./gateway-judges";
export { judgePrepared, type PreparedForm } from "./judge-prepared";
export { MAX_HEADER_BYTES, PORTKEY_MAX_VALUE_LENGTH } from "./judges";
export { createRecorder } from "./recorder";
export type {
  FailureOptions,
  FailureRule,
  ModelCall,
  ModelEndpoint,
  PortkeyView,
  PromptLayerLog,
  PromptLayerTrack,
  PromptLayerView,
  RecordedRequest,
  Recorder,
  RecorderOptions,
  RequestKind,
  RequestOutcome,
  WaitForOptions,
} from "./types";
