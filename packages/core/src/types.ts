/**
 * A prompt template the call was rendered from. A type alias, not an interface, so it is assignable to
 * JSON index types such as the AI SDK's `providerOptions`.
 */
export type PromptRef = {
  /** The prompt's name in the registry (min length 1). */
  name: string;
  /** Integer >= 1; never together with `label`. */
  version?: number;
  /** 1..512 chars; never together with `version`. */
  label?: string;
  /** The template's input variables. */
  variables?: Record<string, string>;
};

/** A value of `metadata.extra`: a string, a finite number or a boolean. */
export type ExtraValue = string | number | boolean;

/**
 * The one metadata model every destination is fed from. A type alias, not an interface, so a `Metadata`
 * value is assignable to JSON index types such as the AI SDK's `providerOptions: { tagalong: metadata }`.
 */
export type Metadata = {
  /** The end user. */
  user?: string;
  /** A conversation or session. */
  session?: string;
  /** One workflow run; groups related calls. */
  trace?: string;
  /** "production", "staging", ... */
  environment?: string;
  /** The customer organisation. */
  organization?: string;
  tags?: string[];
  prompt?: PromptRef;
  /** Any custom key. */
  extra?: Record<string, ExtraValue>;
};

/** A problem found in metadata: which field, which rule, for which destination (or the model itself). */
export interface MetadataIssue {
  /** Dotted path below `metadata`, e.g. `user`, `prompt.label`, `extra.team`. */
  path: string;
  /** The rule that was broken, in words. */
  rule: string;
  /** The destination whose rule it is; absent for the model's own rules. */
  destination?: string;
  /**
   * The rule as a short stable name (`max-length`, `ascii`, `type`, ...), what `stats()` counts
   * left-out fields by.
   */
  code?: string;
}

/**
 * A chat message in a provider-neutral form, as after-the-call destinations receive it.
 *
 * `content` is the message's text. Every adapter flattens structured content the same way: text parts
 * as they are, joined with a newline; a media part as a placeholder naming its kind, with its file
 * name when the call gave one: `[image]`, `[image: cat.png]`, `[audio]`, `[video]`, `[file]`,
 * `[file: report.pdf]` (see `mediaPlaceholder` in `@tagalong/core/adapter`). Reasoning is left out.
 */
export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  /** Text content; structured parts are flattened to text by the adapter (see above). */
  content: string;
  name?: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  toolCallId?: string;
}

/** How a finished call ended: `aborted` when the caller stopped it (not a provider failure). */
export type CallStatus = "success" | "error" | "aborted";

/**
 * A call's model settings under one set of names, whichever adapter and SDK made the call (the AI
 * SDK's `maxOutputTokens`, OpenAI's `max_tokens` or `max_completion_tokens` all become `maxTokens`).
 * Only settings the call carried are present. A destination that wants a vendor's names renames them.
 */
export type CallParameters = {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  stop?: string[];
  /** The names of the tools offered to the model. */
  tools?: string[];
  /** "auto", "none", "required", or the name of the one tool the model must call; only beside tools. */
  toolChoice?: string;
  /** The answer's format when it is not plain text: "json" or "json_schema". */
  responseFormat?: string;
  /** Other settings the call carried, under the provider's own names (e.g. `reasoning_effort`). */
  other?: Record<string, unknown>;
};

/** A finished model call, handed by an adapter to every after-the-call destination. */
export interface CompletedCall {
  /** Provider family, e.g. "openai". */
  provider: string;
  model: string;
  /** Which API shape the call used, as the adapter saw it on the request; absent when it could not tell. */
  apiType?: "chat-completions" | "responses" | "completions" | "embeddings";
  /** The adapter that saw the call, e.g. "openai", "ai-sdk", "langchain". */
  source?: string;
  input: ChatMessage[];
  output: ChatMessage[];
  /** The model settings the call was made with, under neutral names (destinations rename them). */
  parameters?: CallParameters;
  usage?: { inputTokens?: number; outputTokens?: number };
  startTime: Date;
  endTime: Date;
  /**
   * "aborted" when the caller stopped the call (an abort, a `break` out of its stream); a timeout, the
   * SDK's or the caller's `AbortSignal.timeout`, fails the call: "error", with the timeout as its error.
   */
  status: CallStatus;
  /** What the call failed with; `status` is the HTTP status the provider answered with, when it did. */
  error?: { type: string; message: string; status?: number };
  /** The provider's response id (chatcmpl-..., resp_...). */
  responseId?: string;
  finishReason?: string;
  /** Whether the call was streamed. */
  stream?: boolean;
  /** The call's resolved metadata. */
  metadata: Metadata;
  /** Adapter-specific keys to record beside the metadata (e.g. LangChain run ids); strings only. */
  context?: Record<string, string>;
  /**
   * For a failed attempt its framework may still retry (the AI SDK retries above the model): resolves
   * true when this is the call's outcome after all, false when a retry of the same call superseded it
   * (that retry is recorded instead, so a call is logged once). Destinations wait for it off the
   * caller's path; a flush, shutdown or exit drain takes the attempt as final.
   */
  final?: PromiseLike<boolean>;
}

/** What a destination adds to a request in flight. */
export interface InFlight {
  /** HTTP headers, every value a valid ByteString. */
  headers: Record<string, string>;
  /** Top-level JSON body fields to merge into the request body. */
  body: Record<string, unknown>;
}

/** A place the metadata goes. In-flight destinations encode; after-the-call destinations record. */
export interface Destination {
  readonly name: string;
  /**
   * The destination's own rules on already model-valid metadata. Returns every broken rule;
   * an empty list means `encode` will succeed.
   */
  check?(metadata: Metadata): MetadataIssue[];
  /** Headers and body fields for a call carrying this metadata. Called only with checked metadata. */
  encode?(metadata: Metadata): Partial<InFlight>;
  /**
   * Called at the start of every call with its resolved metadata, synchronously on the caller's path
   * (for example to set attributes on the active tracing span). Must be cheap and never throw.
   */
  start?(metadata: Readonly<Metadata>): void;
  /**
   * A trace for a call whose metadata sets none, read from the caller's context at the start of the
   * call (e.g. the active OpenTelemetry trace id). The first destination that returns one sets it.
   * Must be cheap and never throw.
   */
  defaultTrace?(): string | undefined;
  /**
   * Receive a finished call. Must return at once and never throw: queue and deliver in the background.
   * It may be called in a later task than the call's end, outside the call's async context (see
   * `recordsInContext`).
   */
  record?(call: CompletedCall): void;
  /**
   * Whether `record` reads the caller's async context (e.g. the active OpenTelemetry span, as the parent
   * of a span it starts). Then every call is recorded at its end, in its own context (an adapter told of
   * the end out of it records the call back in the caller's context: `callerContext`). Otherwise an
   * adapter may hand calls over in a later task (`recordLater`), together and outside their contexts,
   * which keeps the record's build off the caller's path.
   */
  readonly recordsInContext?: boolean;
  /**
   * Resolves when everything recorded so far is delivered or has failed for good, or at
   * `options.timeoutMs` (what is still pending then keeps going in the background).
   */
  flush?(options?: FlushOptions): Promise<void>;
  /**
   * Stops accepting work and flushes; at `options.timeoutMs` what is still pending is abandoned,
   * counted in `stats().abandoned` and reported with its last error.
   */
  shutdown?(options?: FlushOptions): Promise<void>;
  /** Delivery counts, for after-the-call destinations. */
  stats?(): DeliveryStats;
  /** Called once by createTagalong with its shared hooks (logger, error hook). */
  attach?(host: DestinationHost): void;
}

/** A deadline for `flush()` and `shutdown()`. */
export interface FlushOptions {
  /**
   * Resolve by this many ms at the latest. `flush()` waits without a limit by default and leaves what is
   * still pending at its deadline running; `shutdown()` waits at most 5000 ms by default and abandons it.
   */
  timeoutMs?: number;
}

/** A destination's delivery counts since it started, as `tagalong.stats()` reports them. */
export interface DeliveryStats {
  /** Calls waiting or in flight now. */
  queued: number;
  /** Delivered (a late answer within the timeout counts as delivered). */
  sent: number;
  /** Retry attempts of single requests. */
  retried: number;
  /** Given up on: refused for good (4xx other than 408/429), or retried until `maxRetryMs` ran out. */
  failed: number;
  /** Never accepted: the queue was full (`maxQueue`) or the destination was shut down. */
  dropped: number;
  /** Still pending when `shutdown()`'s deadline or the process's exit drain ran out. */
  abandoned: number;
}

/** Where Tagalong writes its lines (the console by default): a pino or winston logger fits. */
export interface Logger {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

/** Keeps a serverless invocation alive until the promise settles (Vercel's and Workers' `waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** What createTagalong gives each destination. */
export interface DestinationHost {
  logger: Logger;
  /** Report a failure that happened off the caller's path. Never throws. */
  reportError(error: unknown): void;
  /**
   * The current request's wait-until hook, if the runtime has one (the `waitUntil` option, else a
   * detected Vercel request context); undefined elsewhere. Background work hands it a promise per job.
   */
  waitUntil?(): WaitUntil | undefined;
}
