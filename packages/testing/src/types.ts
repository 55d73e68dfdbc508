import type { CloudflareView, HeliconeView, LiteLLMView, OpenRouterView } from "./gateway-judges";

/** Which API a request was addressed to, decided by its path. */
export type RequestKind = "openai" | "promptlayer" | "unknown";

/** What the recorder did with a request. */
export type RequestOutcome = "answered" | "failed" | "hung" | "reset" | "pending";

/** One HTTP request exactly as it arrived on the wire. */
export interface RecordedRequest {
  /** 1-based arrival order across every request this recorder saw (since the last reset). */
  seq: number;
  method: string;
  /** The path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** The path with the query string, as sent. */
  url: string;
  /** Header names lowercased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Node's raw header list (names as sent, values as latin1-decoded bytes). */
  rawHeaders: string[];
  /** The body text (utf8). */
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
  /** `Date.now()` when the body had fully arrived. */
  time: number;
  kind: RequestKind;
  /** The HTTP status answered (undefined while pending, when hung or when the socket was reset). */
  status?: number;
  outcome: RequestOutcome;
  /** Rule breaks found in this request by itself (cross-request judges run in `calls()` / `logs()`). */
  violations: string[];
}

/** The OpenAI-compatible endpoint a model call hit. */
export type ModelEndpoint = "chat.completions" | "responses" | "embeddings" | "completions";

/** What Portkey would have received in-flight with a model call. */
export interface PortkeyView {
  /**
   * `x-portkey-metadata` parsed as JSON (undefined when the header is absent or not a JSON object).
   * Typed as strings because that is the rule; when `violations` says otherwise, values may be any JSON.
   */
  metadata?: Record<string, string>;
  /** The `x-portkey-metadata` header exactly as it arrived. */
  rawHeader?: string;
  /** The legacy `x-portkey-meta` header, when sent. */
  legacyRawHeader?: string;
  /** `x-portkey-trace-id`. */
  traceId?: string;
  /** Every `x-portkey-*` header (lowercased names). */
  headers: Record<string, string>;
}

/** One request to an OpenAI-compatible endpoint, with each destination's view of it. */
export interface ModelCall {
  seq: number;
  endpoint: ModelEndpoint;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
  model?: string;
  stream: boolean;
  time: number;
  status?: number;
  outcome: RequestOutcome;
  /** The `x-request-id` answered (`req_rec_<n>`), when answered. */
  requestId?: string;
  /** The id of the answer (`chatcmpl-rec-<n>`, `resp_rec<n>`, `cmpl-rec-<n>`), when answered. */
  responseId?: string;
  portkey: PortkeyView;
  /** The body's `requesty` field (whatever it is), or undefined. */
  requesty?: any;
  /** Every `x-requesty-*` header plus `x-title` and `http-referer` (lowercased names). */
  requestyHeaders: Record<string, string>;
  /** What Helicone would receive: its `helicone-*` headers, parsed. */
  helicone: HeliconeView;
  /** What Cloudflare AI Gateway would receive: `cf-aig-metadata`, parsed. */
  cloudflare: CloudflareView;
  /** What a LiteLLM proxy would receive: its headers and `litellm_session_id`. */
  litellm: LiteLLMView;
  /** What OpenRouter would receive: body `user`, `session_id`, `trace`. */
  openrouter: OpenRouterView;
  /** Every rule break found in this call, each prefixed with the destination or `wire:`. */
  violations: string[];
}

/** One track-metadata or track-prompt request. */
export interface PromptLayerTrack {
  seq: number;
  endpoint: "track-metadata" | "track-prompt";
  body: any;
  requestId?: number;
  status?: number;
  time: number;
  violations: string[];
}

/** One successful `/log-request` with everything later tracked against its id. */
export interface PromptLayerLog {
  /** The id answered (201 `{id}`). */
  id: number;
  seq: number;
  body: any;
  headers: Record<string, string>;
  time: number;
  /** The log's own `metadata` merged with every accepted track-metadata for this id, in arrival order. */
  metadata: Record<string, string>;
  /**
   * The prompt associated with this id, in track-prompt's body shape (`request_id`, `prompt_name`,
   * `version` or `label`, `prompt_input_variables`): the last accepted track-prompt body, else the
   * log-request's own `prompt_name` / `prompt_version_number` / `prompt_input_variables`.
   */
  prompt?: any;
  /** Every track-* request that named this id (accepted or not), in arrival order. */
  trackRequests: PromptLayerTrack[];
  violations: string[];
}

/** What `rec.fail()` makes a matching request meet: a status, a hang, a reset socket... */
export interface FailureOptions {
  /** Which requests: exact path or path prefix (`/v1` matches `/v1/...`), or a RegExp on the path. */
  path?: string | RegExp;
  /** Only requests of this kind (`openai` = `/v1/*`, `promptlayer` = PromptLayer routes). */
  kind?: RequestKind;
  /** HTTP status to answer (default 500) with the destination's error body shape. */
  status?: number;
  /** How many matching requests fail (default: all, until `reset()` or `clear()`). */
  times?: number;
  /** Never answer; the socket is destroyed at `close()` (or `refuse()`/`clear()` of this rule). */
  hang?: boolean;
  /** Destroy the socket without answering (the client sees a network error). */
  reset?: boolean;
  /** Seconds for a `retry-after` header (also sent as `retry-after-ms`). */
  retryAfter?: number;
  /**
   * A slow answer instead of a failure: the request is processed (and a log stored) at once, and the
   * answer is sent `delayMs` later. A client that gives up before then and retries makes a duplicate.
   */
  delayMs?: number;
  /** Replace the error body. */
  body?: unknown;
}

/** A failure `rec.fail()` installed: how often it hit, and `clear()` to remove it. */
export interface FailureRule {
  readonly options: FailureOptions;
  /** How many requests this rule has failed so far. */
  readonly hits: number;
  /** Stop applying this rule (hung requests it holds are destroyed). */
  clear(): void;
}

/** How long and how often `rec.waitFor()` polls. */
export interface WaitForOptions {
  /** Default 2000. */
  timeoutMs?: number;
  /** Default 10. */
  intervalMs?: number;
}

/** Options of `createRecorder()`. */
export interface RecorderOptions {
  /** Delay (ms) before every model answer (and before the first stream chunk). Default 0. */
  latencyMs?: number;
  /**
   * Delay (ms) before every PromptLayer answer; the request is processed and stored first. Default 0.
   * For a remote API's latency (50-300 ms).
   */
  promptLayerLatencyMs?: number;
  /** The PromptLayer key to require in `X-API-KEY`. Default: any non-empty value is accepted. */
  promptLayerApiKey?: string;
  /** Port to listen on (default 0: a random free port). Always bound to 127.0.0.1. */
  port?: number;
}

/** What the recorder received as PromptLayer: each logged request with its tracked metadata and prompt. */
export interface PromptLayerView {
  /** One entry per `/log-request` answered 201. */
  logs(): PromptLayerLog[];
  /** Every track-* request (including those for unknown ids). */
  tracks(): PromptLayerTrack[];
  /** Every PromptLayer request as recorded (including failed, hung and rejected ones). */
  requests(): RecordedRequest[];
  /**
   * Accepted log-requests whose body is byte for byte one already accepted: the same call logged
   * again (a retry of a request the service had stored).
   */
  duplicates(): number;
  violations(): string[];
}

/** A running recorder: its URLs, what it received, failure injection, and `close()`. */
export interface Recorder {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `${url}/v1`, the `baseURL` for OpenAI-compatible clients. */
  readonly openaiBaseURL: string;
  /** `url`, the `baseURL` for `promptLayer({ baseURL })`. */
  readonly promptLayerURL: string;
  readonly port: number;
  /** Every request, in arrival order (a live array; copy it to keep a snapshot). */
  readonly requests: readonly RecordedRequest[];
  /** Model calls (`/v1/*` requests), judged. */
  calls(): ModelCall[];
  callsWhere(predicate: (call: ModelCall) => boolean): ModelCall[];
  readonly promptLayer: PromptLayerView;
  /** Every rule break, from every request, each prefixed with `#<seq> <path>: `. */
  violations(): string[];
  /**
   * Poll until `predicate` returns a truthy value and resolve with it (a throw counts as "not yet");
   * rejects on timeout with the last error and the summary.
   */
  waitFor<T>(predicate: (rec: Recorder) => T, options?: WaitForOptions): Promise<NonNullable<T>>;
  /** A compact, human-readable table of what each destination received. */
  summary(): string;
  /** Fail matching requests (see `FailureOptions`). Rules are checked in the order added. */
  fail(options?: FailureOptions): FailureRule;
  /** Stop listening and drop every open connection: new connections get ECONNREFUSED. */
  refuse(): Promise<void>;
  /** Listen again on the same port after `refuse()`. */
  resume(): Promise<void>;
  /** Forget every request and failure rule and restart the id counters (listens again if refused). */
  reset(): Promise<void>;
  /** Stop the server, destroy every socket (hung requests too). Idempotent. */
  close(): Promise<void>;
}
