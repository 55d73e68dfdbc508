// The parts of the AI SDK's LanguageModelV2 / V3 / V4 contracts (ai 5 / 6 / 7) this package reads,
// written structurally so one build compiles against every major without importing any of them.

/** A prompt message; `content` is a string for system messages and an array of parts otherwise. */
export interface PromptMessage {
  readonly role: string;
  readonly content: unknown;
}

/**
 * The call options every spec version shares (V2, V3 and V4 are all assignable to this): a language
 * model's (`prompt`) or, through ai 6/7's `wrapEmbeddingModel`, an embedding model's (`values`).
 */
export interface CallParams {
  readonly prompt?: readonly PromptMessage[];
  readonly values?: readonly unknown[];
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly abortSignal?: AbortSignal;
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
  readonly stopSequences?: readonly string[];
  readonly tools?: readonly unknown[];
  readonly toolChoice?: unknown;
  readonly responseFormat?: unknown;
}

/** What the middleware needs to know about the model it wraps. */
export interface ModelInfo {
  /** e.g. `openai.chat`, `openai.responses`, `requesty.chat`, `<name>.chat`. */
  readonly provider: string;
  readonly modelId: string;
  /** `v2` (ai 5), `v3` (ai 6) or `v4` (ai 7, also for the V2/V3 models it adapts). */
  readonly specificationVersion?: string;
}

export interface ResponseInfo {
  readonly id?: string;
  readonly modelId?: string;
}

/** A doGenerate result: usage is flat in V2 and nested (`inputTokens.total`) in V3/V4. */
export interface GenerateResult {
  readonly content: readonly unknown[];
  /** A string in V2, `{ unified, raw }` in V3/V4. */
  readonly finishReason: unknown;
  readonly usage: unknown;
  readonly response?: ResponseInfo;
}

/** A doEmbed result (EmbeddingModelV2/V3/V4). */
export interface EmbedResult {
  readonly usage?: { readonly tokens?: number };
}

export interface StreamPart {
  readonly type: string;
}

export interface StreamResult {
  readonly stream: ReadableStream<StreamPart>;
}
