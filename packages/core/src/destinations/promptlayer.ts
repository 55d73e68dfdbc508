import { createDeliveryQueue, type DeliveryContext, type DeliveryOptions } from "../delivery";
import { DeliveryError, InvalidMetadataError, TagalongError } from "../errors";
import { consoleLogger } from "../logger";
import { chars, compileMapping, type Declaration } from "../mapping";
import { checkOptions, DELIVERY_OPTION_KEYS } from "../options";
import { scrubSecrets } from "../redact";
import type {
  CallParameters,
  ChatMessage,
  CompletedCall,
  DeliveryStats,
  Destination,
  DestinationHost,
  Logger,
  Metadata,
  MetadataIssue,
  PromptRef,
} from "../types";
import { readMetadata } from "../validate";

/** Options of `promptLayer()`: the API key, the base URL, and the delivery options. */
export interface PromptLayerOptions extends DeliveryOptions {
  /** Your PromptLayer API key; sent only as the `X-API-KEY` header. */
  apiKey: string;
  /** Default `https://api.promptlayer.com`. */
  baseURL?: string;
}

/** PromptLayer's delivery counts, and the calls it does not log. */
export interface PromptLayerStats extends DeliveryStats {
  /** Embeddings calls: no prompt and completion PromptLayer could show, so not logged (warned once). */
  skipped: number;
}

/** A PromptLayer request id, as `/log-request` answers it or PromptLayer's own SDK returns it. */
export type PromptLayerRequestId = number | string;

/** `promptLayer()`: a destination, plus `trackMetadata()` and `trackPrompt()` for requests PromptLayer already holds. */
export interface PromptLayerDestination extends Destination {
  readonly name: "promptlayer";
  check(metadata: Metadata): MetadataIssue[];
  record(call: CompletedCall): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  stats(): PromptLayerStats;
  attach(host: DestinationHost): void;
  /**
   * Tracks metadata on a request PromptLayer already holds (say, logged by PromptLayer's own SDK):
   * `/rest/track-metadata` with the same mapping as log-request's `metadata` and, when `metadata.prompt` is set,
   * `/rest/track-prompt`. Validates at once (throws InvalidMetadataError, or TagalongError for a bad
   * id), then delivers in the background through the same queue; returns nothing to await — use
   * `flush()`. Tags are refused: PromptLayer takes them only when a request is logged.
   */
  trackMetadata(requestId: PromptLayerRequestId, metadata: Metadata): void;
  /** Associates a prompt template with a request PromptLayer already holds (`/rest/track-prompt`). */
  trackPrompt(requestId: PromptLayerRequestId, prompt: PromptRef): void;
}

const NAME = "promptlayer";
const DEFAULT_BASE_URL = "https://api.promptlayer.com";
/** PromptLayer's longest tag, in characters. */
export const PROMPTLAYER_TAG_MAX = 512;
/** PromptLayer's longest `error_message`; a longer one is cut. */
export const PROMPTLAYER_ERROR_MESSAGE_MAX = 1024;
export const PROMPT_LABEL_MAX = 512;
/** PromptLayer's longest metadata key, in characters. */
const PROMPTLAYER_METADATA_KEY_MAX = 1024;

/**
 * PromptLayer's mapping: the model's fields and `extra` as its string metadata map (keys <= 1024
 * chars), tags (<= 512 chars each) as the logged request's tags, and its prompt rules (a version or a
 * label, never both; a label of at most 512 chars, else no prompt at all).
 */
export const promptLayerDeclaration: Declaration = {
  name: NAME,
  label: "PromptLayer",
  objects: {
    metadata: { record: true, strings: true, maxKeyLength: PROMPTLAYER_METADATA_KEY_MAX },
    request: { record: true },
  },
  places: [
    { from: "user", to: "metadata", key: "user_id" },
    { from: "session", to: "metadata", key: "session_id" },
    { from: "trace", to: "metadata", key: "trace_id" },
    { from: "environment", to: "metadata", key: "environment" },
    { from: "organization", to: "metadata", key: "organization" },
    { from: "tags", to: "request", key: "tags" },
  ],
  extra: { to: "metadata" },
  rules: {
    tags(m, issue) {
      m.tags!.forEach((tag, i) => {
        const n = chars(tag, PROMPTLAYER_TAG_MAX);
        if (n > PROMPTLAYER_TAG_MAX)
          issue(`tags[${i}]`, "max-length", `${n} chars, PromptLayer allows ${PROMPTLAYER_TAG_MAX}`);
      });
    },
    prompt(m, issue) {
      const { version, label } = m.prompt!;
      const n = label === undefined ? 0 : chars(label, PROMPT_LABEL_MAX);
      if (version !== undefined && label !== undefined)
        issue("prompt.label", "version-and-label", "must not be set together with prompt.version");
      else if (n > PROMPT_LABEL_MAX)
        // The whole prompt: logged by its name alone, PromptLayer would link the call to the prompt's
        // latest version, which the user did not name.
        issue(
          "prompt",
          "max-length",
          `its label has ${n} chars, PromptLayer allows ${PROMPT_LABEL_MAX} (the whole prompt: by its name alone PromptLayer would link the call to the prompt's latest version)`,
        );
    },
  },
};

const mapping = compileMapping(promptLayerDeclaration);

/** Cuts a string to `max` characters as PromptLayer counts them, marking the cut. */
function truncate(text: string, max: number): string {
  if (chars(text, max) <= max) return text;
  return `${Array.from(text)
    .slice(0, max - 3)
    .join("")}...`;
}

/**
 * PromptLayer's metadata object: the model's fields, then the adapter's context (a run id the adapter
 * recorded is never overwritten by an `extra` key of the same name), every value a string.
 */
export function promptLayerMetadata(m: Metadata, context?: Record<string, string>): Record<string, string> {
  const mapped = mapping.encode(m).objects.metadata as Record<string, string> | undefined;
  if (!context) return mapped ?? {};
  const out: Record<string, string> = { ...mapped };
  for (const key in context) out[key] = String(context[key]);
  return out;
}

/** The body of `/rest/track-prompt` for a request id. */
export function promptLayerTrackPrompt(requestId: number, prompt: PromptRef): Record<string, unknown> {
  const body: Record<string, unknown> = { request_id: requestId, prompt_name: prompt.name };
  if (prompt.variables !== undefined) body.prompt_input_variables = { ...prompt.variables };
  if (prompt.version !== undefined) body.version = prompt.version;
  else if (prompt.label !== undefined) body.label = prompt.label;
  return body;
}

function plMessage(m: ChatMessage): Record<string, unknown> {
  const calls = m.role === "assistant" && m.toolCalls && m.toolCalls.length > 0 ? m.toolCalls : undefined;
  // An assistant turn with no text (only tool calls, or stopped before any token) has no blocks.
  const content =
    m.content === "" && (calls || m.role === "assistant") ? [] : [{ type: "text", text: m.content }];
  const out: Record<string, unknown> = { role: m.role, content };
  if (m.name !== undefined) out.name = m.name;
  if (calls) {
    out.tool_calls = calls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  if (m.role === "tool" && m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  return out;
}

/** A legacy completion's prompts (or choices) as PromptLayer's completion template: a text block each. */
function plCompletion(messages: ChatMessage[]): Record<string, unknown> {
  return { type: "completion", content: messages.map((m) => ({ type: "text", text: m.content })) };
}

// The neutral parameter names under the names PromptLayer shows (OpenAI's request keys).
const PARAMETER_NAMES: ReadonlyArray<[keyof CallParameters, string]> = [
  ["temperature", "temperature"],
  ["maxTokens", "max_tokens"],
  ["topP", "top_p"],
  ["topK", "top_k"],
  ["presencePenalty", "presence_penalty"],
  ["frequencyPenalty", "frequency_penalty"],
  ["seed", "seed"],
  ["stop", "stop"],
  ["tools", "tools"],
  ["toolChoice", "tool_choice"],
  ["responseFormat", "response_format"],
];

/** A call's parameters as PromptLayer's `parameters`: OpenAI's names, other settings beside them. */
function plParameters(parameters: CallParameters | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...parameters?.other };
  if (parameters !== undefined) {
    for (const [from, to] of PARAMETER_NAMES) if (parameters[from] !== undefined) out[to] = parameters[from];
  }
  return out;
}

const FUNCTION_NAMES = {
  "chat-completions": "chat.completions.create",
  responses: "responses.create",
  completions: "completions.create",
  embeddings: "embeddings.create",
} as const;

/** Whether `/log-request` can carry the prompt itself; a label needs `/rest/track-prompt`. */
const promptFitsLogRequest = (prompt: PromptRef): boolean => prompt.label === undefined;

/**
 * The `/log-request` body for a finished call: the call, its tags, its metadata (PromptLayer's string
 * map, as `promptLayerMetadata` builds it) and its prompt (name, version number, input variables)
 * in one request. A legacy completion of prompts (`completions.create`) is logged in PromptLayer's
 * completion form, its prompts and its texts as blocks; any other call as chat messages. A prompt
 * named by label is left to `/rest/track-prompt`: log-request takes no label.
 * A failed call is logged with status ERROR, its `error_type` one of PromptLayer's categories (the only
 * values it takes) and the error's own type at the head of `error_message`. An aborted call is logged
 * with status WARNING and no category: the caller stopped it, the provider did not fail, so it must not
 * count as an error in PromptLayer's failure rates; whatever output arrived before the abort is kept.
 * Error messages are scrubbed of credentials (`secrets`, and anything shaped like a key) before they leave.
 */
export function promptLayerLogRequest(
  call: CompletedCall,
  secrets: readonly string[] = [],
): Record<string, unknown> {
  // Prompts alone (the API's own `prompt`, a LangChain LLM's); messages with roles (an AI SDK completion
  // model folds them into one text) stay chat, so the roles show.
  const completion = call.apiType === "completions" && call.input.every((m) => m.role === "user");
  const body: Record<string, unknown> = {
    provider: call.provider,
    model: call.model,
    input: completion ? plCompletion(call.input) : { type: "chat", messages: call.input.map(plMessage) },
    output: completion ? plCompletion(call.output) : { type: "chat", messages: call.output.map(plMessage) },
    request_start_time: call.startTime.toISOString(),
    request_end_time: call.endTime.toISOString(),
    parameters: plParameters(call.parameters),
  };
  const m = call.metadata;
  const tags = m.tags;
  if (tags && tags.length > 0) body.tags = tags.map((t) => truncate(t, PROMPTLAYER_TAG_MAX));
  const metadata = promptLayerMetadata(m, call.context);
  for (const _ in metadata) {
    body.metadata = metadata;
    break;
  }
  if (m.prompt !== undefined && promptFitsLogRequest(m.prompt)) {
    body.prompt_name = m.prompt.name;
    if (m.prompt.version !== undefined) body.prompt_version_number = m.prompt.version;
    if (m.prompt.variables !== undefined) body.prompt_input_variables = { ...m.prompt.variables };
  }
  if (call.usage?.inputTokens !== undefined) body.input_tokens = call.usage.inputTokens;
  if (call.usage?.outputTokens !== undefined) body.output_tokens = call.usage.outputTokens;
  if (call.apiType === "chat-completions" || call.apiType === "responses") body.api_type = call.apiType;
  if (call.apiType) body.function_name = `${call.provider}.${FUNCTION_NAMES[call.apiType]}`;
  if (call.status === "success") {
    body.status = "SUCCESS";
  } else if (call.status === "aborted") {
    body.status = "WARNING";
    body.error_message = errorMessage(call.error, "The caller aborted the call before it finished", secrets);
  } else {
    body.status = "ERROR";
    body.error_type = errorCategory(call.error);
    body.error_message = errorMessage(call.error, "The call failed", secrets);
  }
  return body;
}

/** The error's type and message as one text (`RateLimitError: ...`), scrubbed and cut to PromptLayer's limit. */
function errorMessage(error: CompletedCall["error"], otherwise: string, secrets: readonly string[]): string {
  const message = error?.message || otherwise;
  const text = error?.type ? `${error.type}: ${message}` : message;
  return truncate(scrubSecrets(text, secrets), PROMPTLAYER_ERROR_MESSAGE_MAX);
}

const PROVIDER_ERRORS =
  /^(BadRequest|NotFound|Conflict|UnprocessableEntity|InternalServer|API|AI_APICall)Error$|^(server_error|invalid_request_error)$/;

/**
 * PromptLayer's category of a failed call, from the HTTP status the provider answered with, else the
 * error's type (an SDK's class name, or a streamed error event's code): log-request refuses an
 * `error_type` outside its list with a 422.
 */
function errorCategory(error: CompletedCall["error"]): string {
  const type = error?.type ?? "";
  const status = error?.status ?? 0;
  const limited = status === 429 || /rate_?limit/i.test(type);
  if (/quota/i.test(type) || (limited && /quota/i.test(error?.message ?? ""))) return "PROVIDER_QUOTA_LIMIT";
  if (limited) return "PROVIDER_RATE_LIMIT";
  if (status === 408 || status === 504 || /timeout/i.test(type)) return "PROVIDER_TIMEOUT";
  if (status === 401 || status === 403 || /authentication|permission_?denied|unauthorized/i.test(type))
    return "PROVIDER_AUTH_ERROR";
  // An error the provider answered with (an HTTP error, an SDK's API error class, a streamed error event's code).
  if (status >= 400 || PROVIDER_ERRORS.test(type)) return "PROVIDER_ERROR";
  return "UNKNOWN_ERROR";
}

/** A request id as given, with digits as text read as a number (past 2^53 too, to say so). */
const asNumber = (id: unknown): unknown => (typeof id === "string" && /^\d+$/.test(id) ? Number(id) : id);

/** The request id of a log-request's answer, when it is one: a positive integer below 2^53. */
function requestIdOf(answer: unknown): number | undefined {
  // Digits past 2^53 would go out as another request's id (the JSON number nearest them).
  const n = asNumber((answer as { id?: unknown } | undefined)?.id);
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** What was wrong with the request id of a log-request's answer, for a message. */
function unusableId(answer: unknown): string {
  const id = (answer as { id?: unknown } | undefined)?.id;
  if (id === undefined || id === null) return "without a request id";
  const n = asNumber(id);
  const why =
    typeof n === "number" && Number.isInteger(n) && n > Number.MAX_SAFE_INTEGER
      ? "past what a JSON number carries exactly (2^53)"
      : "not a positive integer";
  return `with request id ${JSON.stringify(id).slice(0, 40)}, ${why}`;
}

function checkedRequestId(requestId: PromptLayerRequestId): number {
  const id = requestIdOf({ id: requestId });
  if (id === undefined) {
    throw new TagalongError(
      `promptLayer: request id must be a positive integer below 2^53 (as /log-request answers it), got ${
        typeof requestId === "string" ? JSON.stringify(requestId) : String(requestId)
      }`,
    );
  }
  return id;
}

/** PromptLayer's rules on metadata the model already accepts. */
function checkPromptLayer(m: Metadata): MetadataIssue[] {
  return mapping.check(m);
}

/**
 * PromptLayer's words on a failed request: its `message`, or a 422's `detail` (the list of what its
 * validation refused, as JSON); undefined leaves the answer to the delivery engine's generic reading.
 */
function describePromptLayerFailure(text: string): string | undefined {
  try {
    const answer = JSON.parse(text) as { message?: unknown; detail?: unknown } | null;
    if (typeof answer?.message === "string") return answer.message;
    if (answer?.detail !== undefined) return JSON.stringify(answer.detail);
  } catch {
    // Not JSON: the generic reading takes the text as it came.
  }
  return undefined;
}

function parsedURL(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * PromptLayer: after each call, one `POST /log-request` carrying the call, its tags, metadata and prompt
 * (the answer's `id` is the request id); `/rest/track-prompt` follows only for a prompt named by label,
 * which log-request cannot take. All in the background with the `X-API-KEY` header, retried and bounded
 * (see DeliveryOptions).
 */
export function promptLayer(options: PromptLayerOptions): PromptLayerDestination {
  checkOptions("promptLayer", options, ["apiKey", "baseURL", ...DELIVERY_OPTION_KEYS]);
  const apiKey = options?.apiKey;
  if (typeof apiKey !== "string" || apiKey.trim() === "") {
    throw new TagalongError(
      "promptLayer: options.apiKey must be your PromptLayer API key (a non-empty string)",
    );
  }
  const baseURL = String(options.baseURL === undefined ? DEFAULT_BASE_URL : options.baseURL).replace(
    /\/+$/,
    "",
  );
  // A URL no request can go to would be retried as a network error for maxRetryMs before anyone heard.
  if (!/^https?:$/.test(parsedURL(baseURL)?.protocol ?? "")) {
    throw new TagalongError(
      `promptLayer: options.baseURL must be an http or https URL, e.g. "${DEFAULT_BASE_URL}", got ${JSON.stringify(options.baseURL)}`,
    );
  }
  const headers = { "X-API-KEY": apiKey };
  let logger: Logger | undefined;
  let skipped = 0;
  const secrets = [apiKey];
  const queue = createDeliveryQueue({
    ...options,
    destination: NAME,
    secrets: [apiKey],
    describeFailure: describePromptLayerFailure,
  });

  // A 2xx with `success: false` is PromptLayer refusing the request: not worth retrying.
  const refused = (answer: unknown, label: string): void => {
    const a = answer as { success?: unknown; message?: unknown } | undefined;
    if (a?.success === false) {
      const said =
        typeof a.message === "string" ? ` (${scrubSecrets(a.message, secrets).slice(0, 300)})` : "";
      throw new DeliveryError(`${NAME}: ${label} was refused${said}`, { destination: NAME, attempts: 1 });
    }
  };

  const trackPrompt = async (ctx: DeliveryContext, id: number, prompt: PromptRef): Promise<void> => {
    const answer = await ctx.post({
      label: "track-prompt",
      url: `${baseURL}/rest/track-prompt`,
      headers,
      body: promptLayerTrackPrompt(id, prompt),
    });
    refused(answer, "track-prompt");
  };

  const track = async (
    ctx: DeliveryContext,
    id: number,
    m: Metadata,
    context?: Record<string, string>,
  ): Promise<void> => {
    const metadata = promptLayerMetadata(m, context);
    for (const _ in metadata) {
      const answer = await ctx.post({
        label: "track-metadata",
        url: `${baseURL}/rest/track-metadata`,
        headers,
        body: { request_id: id, metadata },
      });
      refused(answer, "track-metadata");
      break;
    }
    if (m.prompt !== undefined) await trackPrompt(ctx, id, m.prompt);
  };

  /** A snapshot of `value` (what is sent is what was given now), or an InvalidMetadataError. */
  const validate = (value: unknown): Metadata => {
    const { metadata: m, issues } = readMetadata(value);
    if (issues.length === 0) issues.push(...checkPromptLayer(m));
    if (m.tags !== undefined) {
      issues.push({
        path: "tags",
        rule: "PromptLayer takes tags only when a request is logged; trackMetadata cannot add them",
        destination: NAME,
      });
    }
    if (issues.length > 0) throw new InvalidMetadataError(issues);
    return m;
  };

  return {
    name: NAME,
    check: checkPromptLayer,
    record(call) {
      if (call.apiType === "embeddings") {
        if (skipped++ === 0) {
          (logger ?? consoleLogger()).warn(
            `${NAME}: embeddings calls are not logged (PromptLayer logs a prompt and its completion; an embedding is neither); counted in stats().${NAME}.skipped (said once)`,
          );
        }
        return;
      }
      queue.push(async (ctx) => {
        // An attempt a retry may supersede: nothing to log if one did.
        if (call.final !== undefined && !(await ctx.settle(call.final, true))) return false;
        const answer = await ctx.post({
          label: "log-request",
          url: `${baseURL}/log-request`,
          headers,
          body: promptLayerLogRequest(call, secrets),
        });
        const prompt = call.metadata.prompt;
        if (prompt === undefined || promptFitsLogRequest(prompt)) return;
        const id = requestIdOf(answer);
        if (id === undefined) {
          throw new DeliveryError(
            `${NAME}: log-request answered ${unusableId(answer)}; the prompt (label ${JSON.stringify(prompt.label)}) was not tracked`,
            { destination: NAME, attempts: 1 },
          );
        }
        await trackPrompt(ctx, id, prompt);
      });
    },
    trackMetadata(requestId, metadata) {
      const id = checkedRequestId(requestId);
      const snapshot = validate(metadata);
      queue.push((ctx) => track(ctx, id, snapshot));
    },
    trackPrompt(requestId, prompt) {
      const id = checkedRequestId(requestId);
      const snapshot = validate({ prompt }).prompt!;
      queue.push((ctx) => trackPrompt(ctx, id, snapshot));
    },
    flush: queue.flush,
    shutdown: queue.shutdown,
    stats: () => ({ ...queue.stats(), skipped }),
    attach(host) {
      logger = host.logger;
      queue.attach(host);
    },
  };
}
