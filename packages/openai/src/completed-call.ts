import {
  type CallStatus,
  type ChatMessage,
  type CompletedCall,
  callCredentials,
  type Metadata,
  openAIApiType,
  openAIParameters,
  scrubSecrets,
} from "@tagalong/core/adapter";
import {
  chatInput,
  chatOutput,
  completionsOutput,
  responsesInput,
  responsesOutput,
  textsInput,
} from "./messages";

export type ApiType = NonNullable<CompletedCall["apiType"]>;

type Loose = Record<string, any>;

/** The model endpoint a request of the SDK addresses (Tagalong adds body fields to and records those only). */
export function modelEndpoint(method: string | undefined, path: string | undefined): ApiType | undefined {
  return method === "post" && path !== undefined ? openAIApiType(path) : undefined;
}

/** What the adapter keeps of a model call between its start and its end. */
export interface CallRecord {
  /** `Date.now()` when the caller made the call. */
  readonly start: number;
  apiType?: ApiType;
  /** The caller's request body (not a copy; never changed). */
  params?: Loose;
  /** A shallow copy of the input list taken at call start: callers often push the reply onto theirs. */
  input?: unknown;
  metadata?: Metadata;
  /**
   * What carried the call's credentials: the client's API key, the request's and the client's default
   * headers (references, read only when the call failed, to scrub them out of its error message).
   */
  credentials?: readonly unknown[];
  /** The caller's signal for the call (a reference: a timeout that aborts it fails the call). */
  signal?: unknown;
  /** The headers of the last attempt's request as the SDK built it (a reference, read only on error). */
  sentHeaders?: unknown;
  /** The body of the last attempt's request as the SDK sent it: JSON text, which nothing can change. */
  sentBody?: unknown;
  /** The body fields Tagalong added to the request (the prepared call's, read-only). */
  addedFields?: Readonly<Record<string, unknown>>;
  /** Of those, the fields the caller's body had too (their sent value is the two merged). */
  callerFields?: string[];
}

/** The field of each API's body that holds its input. */
const INPUT_KEY: Record<ApiType, string> = {
  "chat-completions": "messages",
  responses: "input",
  completions: "prompt",
  embeddings: "input",
};

/** Called once the request is tagged, before it is sent: remember what the output will be matched with. */
export function beginCall(
  call: CallRecord,
  apiType: ApiType,
  params: Loose,
  metadata: Metadata,
  addedFields: Readonly<Record<string, unknown>>,
): void {
  call.apiType = apiType;
  call.params = params;
  call.metadata = metadata;
  const input = params[INPUT_KEY[apiType]];
  call.input = Array.isArray(input) ? input.slice() : input;
  call.addedFields = addedFields;
  for (const key in addedFields) if (key in params) (call.callerFields ??= []).push(key);
}

/**
 * The call as its request went out, read back from the body the SDK sent (JSON text): what the record
 * is built from when it is built after the caller got the answer, since the caller may change its own
 * request object by then. Tagalong's own body fields are left out, as they are of `params`. Undefined
 * when the body sent was not a JSON object (the record is then built from the caller's request).
 */
export function sentCall(call: CallRecord): CallRecord | undefined {
  if (typeof call.sentBody !== "string") return undefined;
  let params: Loose;
  try {
    params = JSON.parse(call.sentBody) as Loose;
  } catch {
    return undefined;
  }
  if (typeof params !== "object" || params === null) return undefined;
  for (const key in call.addedFields) if (!call.callerFields?.includes(key)) delete params[key];
  return { ...call, params, input: params[INPUT_KEY[call.apiType!]] };
}

function input(call: CallRecord): ChatMessage[] {
  switch (call.apiType) {
    case "chat-completions":
      return chatInput(call.input);
    case "responses":
      return responsesInput(call.input, call.params?.instructions);
    default:
      return textsInput(call.input);
  }
}

function output(apiType: ApiType, response: Loose): ChatMessage[] {
  switch (apiType) {
    case "chat-completions":
      return chatOutput(response);
    case "responses":
      return responsesOutput(response);
    case "completions":
      return completionsOutput(response);
    case "embeddings":
      return [];
  }
}

function usage(response: Loose): CompletedCall["usage"] {
  const u = response.usage;
  if (typeof u !== "object" || u === null) return undefined;
  const inputTokens = u.prompt_tokens ?? u.input_tokens;
  const outputTokens = u.completion_tokens ?? u.output_tokens;
  const out: NonNullable<CompletedCall["usage"]> = {};
  if (typeof inputTokens === "number") out.inputTokens = inputTokens;
  if (typeof outputTokens === "number") out.outputTokens = outputTokens;
  return out;
}

function finishReason(apiType: ApiType, response: Loose): string | undefined {
  if (apiType === "responses") {
    const reason = response.incomplete_details?.reason ?? response.status;
    return typeof reason === "string" ? reason : undefined;
  }
  const reason = response.choices?.[0]?.finish_reason;
  return typeof reason === "string" ? reason : undefined;
}

export interface CallOutcome {
  status: CallStatus;
  /** The response body (streams: accumulated into the non-streamed shape), when one arrived. */
  response?: Loose;
  /** As `errorInfo` gives it (with the HTTP status, when the error carries one). */
  error?: CompletedCall["error"];
  stream: boolean;
  end: number;
}

/** The provider-neutral record of a finished call, for after-the-call destinations. */
export function completedCall(call: CallRecord, outcome: CallOutcome): CompletedCall {
  const apiType = call.apiType!;
  const params = call.params ?? {};
  const response = outcome.response;
  let { status, error } = outcome;
  // A streamed Responses call can end in a `response.failed` event rather than an HTTP error.
  if (response?.status === "failed" && status === "success") {
    status = "error";
    error ??= {
      type: String(response.error?.code ?? "response_failed"),
      message: String(response.error?.message ?? "the response failed"),
    };
  }
  const out: CompletedCall = {
    provider: "openai",
    source: "openai",
    apiType,
    model: String(response?.model ?? params.model ?? ""),
    input: input(call),
    output: response ? output(apiType, response) : [],
    startTime: new Date(call.start),
    endTime: new Date(outcome.end),
    status,
    stream: outcome.stream,
    metadata: call.metadata ?? {},
  };
  const settings = openAIParameters(params);
  if (settings) out.parameters = settings;
  if (response) {
    const u = usage(response);
    if (u) out.usage = u;
    if (typeof response.id === "string") out.responseId = response.id;
    const reason = finishReason(apiType, response);
    if (reason) out.finishReason = reason;
  }
  // An upstream's error often echoes the credentials it refused: none leaves in the message.
  if (error) {
    out.error = {
      ...error,
      message: scrubSecrets(error.message, callCredentials(call.sentHeaders, ...(call.credentials ?? []))),
    };
  }
  return out;
}
