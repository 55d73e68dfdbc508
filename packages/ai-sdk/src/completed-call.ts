import {
  type CallParameters,
  type CallStatus,
  type ChatMessage,
  type CompletedCall,
  callCredentials,
  errorInfo,
  hasKeys,
  joinParts,
  type Metadata,
  mediaKind,
  mediaPlaceholder,
} from "@tagalong/core/adapter";
import type { CallParams, ModelInfo, PromptMessage } from "./spec";

type ToolCall = NonNullable<ChatMessage["toolCalls"]>[number];

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function json(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

/** A tool call part of a prompt (`input` any JSON) or of a result (`input` a JSON string). */
function toolCall(part: Record<string, unknown>): ToolCall {
  return { id: str(part.toolCallId) ?? "", name: str(part.toolName) ?? "", arguments: json(part.input) };
}

/** A tool result's output as text: V2/V3/V4 `{ type: 'text' | 'json' | 'error-*' | 'content', value }`. */
function toolOutputText(output: unknown): string {
  const o = record(output);
  switch (o.type) {
    case "text":
    case "error-text":
      return str(o.value) ?? "";
    case "json":
    case "error-json":
      return json(o.value);
    case "execution-denied":
      return `execution denied${typeof o.reason === "string" ? `: ${o.reason}` : ""}`;
    case "content":
      return Array.isArray(o.value) ? partsText(o.value) : "";
    default:
      // V2 tool results before `output` existed carried `result`.
      return output === undefined ? "" : json(output);
  }
}

// Media parts by type. V3 tool-result content (ai 6) names them by source: `image-data`, `file-url`, ...
const IMAGE_PARTS = new Set(["image", "image-data", "image-url", "image-file-id"]);
const FILE_PARTS = new Set(["file", "media", "file-data", "file-url", "file-id"]);

/** A part's text in the convention: text as it is, a media part as its placeholder, reasoning left out. */
function partText(raw: unknown): string {
  const part = record(raw);
  if (part.type === "text") return str(part.text) ?? "";
  if (IMAGE_PARTS.has(part.type as string)) return mediaPlaceholder("image");
  if (FILE_PARTS.has(part.type as string)) {
    return mediaPlaceholder(mediaKind(part.mediaType ?? part.mimeType), part.filename);
  }
  return "";
}

/** Text of message parts, joined with newlines. */
function partsText(parts: readonly unknown[]): string {
  return joinParts(parts.map(partText));
}

/** The prompt as provider-neutral chat messages: parts flattened to text, tool calls and results kept. */
export function inputMessages(prompt: readonly PromptMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of prompt) {
    const { role, content } = message;
    if (typeof content === "string") {
      out.push({ role: role === "developer" ? "developer" : "system", content });
      continue;
    }
    const parts = Array.isArray(content) ? content : [];
    if (role === "user") {
      out.push({ role: "user", content: partsText(parts) });
    } else if (role === "assistant") {
      const toolCalls: ToolCall[] = [];
      const results: ChatMessage[] = [];
      for (const raw of parts) {
        const part = record(raw);
        if (part.type === "tool-call") toolCalls.push(toolCall(part));
        else if (part.type === "tool-result") results.push(toolResultMessage(part));
      }
      const msg: ChatMessage = { role: "assistant", content: partsText(parts) };
      if (toolCalls.length > 0) msg.toolCalls = toolCalls;
      out.push(msg, ...results);
    } else if (role === "tool") {
      for (const raw of parts) {
        const part = record(raw);
        if (part.type === "tool-result") out.push(toolResultMessage(part));
      }
    }
  }
  return out;
}

function toolResultMessage(part: Record<string, unknown>): ChatMessage {
  const msg: ChatMessage = {
    role: "tool",
    content: toolOutputText(part.output ?? part.result),
    toolCallId: str(part.toolCallId) ?? "",
  };
  const name = str(part.toolName);
  if (name !== undefined) msg.name = name;
  return msg;
}

/** A call's input as chat messages: the prompt's, or an embedding call's values, one user message each. */
function inputOf(params: CallParams): ChatMessage[] {
  if (params.prompt !== undefined) return inputMessages(params.prompt);
  return (params.values ?? []).map((value) => ({ role: "user", content: str(value) ?? json(value) }));
}

/** The assistant message a doGenerate result's content amounts to. */
export function outputMessages(content: readonly unknown[]): ChatMessage[] {
  const toolCalls: ToolCall[] = [];
  for (const raw of content) {
    const part = record(raw);
    if (part.type === "tool-call") toolCalls.push(toolCall(part));
  }
  return [assistantMessage(partsText(content), toolCalls)];
}

function assistantMessage(text: string, toolCalls: ToolCall[]): ChatMessage {
  const msg: ChatMessage = { role: "assistant", content: text };
  if (toolCalls.length > 0) msg.toolCalls = toolCalls;
  return msg;
}

function tokenCount(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  const total = record(value).total;
  return typeof total === "number" ? total : undefined;
}

/** Usage from the flat V2 shape (`inputTokens: 12`) or the nested V3/V4 one (`inputTokens: { total: 12 }`). */
export function normalizeUsage(usage: unknown): CompletedCall["usage"] {
  const u = record(usage);
  const inputTokens = tokenCount(u.inputTokens);
  const outputTokens = tokenCount(u.outputTokens);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return { inputTokens, outputTokens };
}

/**
 * The finish reason from V2's string or V3/V4's `{ unified, raw }`, in the convention's snake_case
 * (`tool-calls` -> `tool_calls`, as providers name them on the wire).
 */
export function normalizeFinishReason(reason: unknown): string | undefined {
  const unified = typeof reason === "string" ? reason : str(record(reason).unified);
  return unified?.replaceAll("-", "_");
}

const API_TYPES: Record<string, CompletedCall["apiType"]> = {
  chat: "chat-completions",
  responses: "responses",
  completion: "completions",
  embedding: "embeddings",
};

// The call settings the AI SDK and CallParameters both have, by their names in each.
const SETTINGS = [
  ["temperature", "temperature"],
  ["maxOutputTokens", "maxTokens"],
  ["topP", "topP"],
  ["topK", "topK"],
  ["presencePenalty", "presencePenalty"],
  ["frequencyPenalty", "frequencyPenalty"],
  ["seed", "seed"],
] as const;

/** `toolChoice` as CallParameters has it: the mode, or the one tool's name; the default "auto" left out. */
function toolChoice(choice: unknown): string | undefined {
  const c = record(choice);
  if (c.type === "tool") return str(c.toolName);
  return c.type === "auto" ? undefined : str(c.type);
}

/** The model settings worth recording, without the prompt. */
function parameters(params: CallParams): CallParameters | undefined {
  const out: CallParameters = {};
  for (const [from, to] of SETTINGS) if (params[from] !== undefined) out[to] = params[from];
  if (params.stopSequences !== undefined && params.stopSequences.length > 0)
    out.stop = [...params.stopSequences];
  if (params.tools !== undefined && params.tools.length > 0) {
    out.tools = params.tools.map((tool) => str(record(tool).name) ?? str(record(tool).id) ?? "");
    // ai 7 passes a tool choice even without tools; it means something only beside them.
    const choice = toolChoice(params.toolChoice);
    if (choice !== undefined) out.toolChoice = choice;
  }
  const format = record(params.responseFormat);
  if (format.type === "json") out.responseFormat = format.schema === undefined ? "json" : "json_schema";
  return hasKeys(out) ? out : undefined;
}

/** Everything a completed call needs that is known when the call starts. */
export interface CallStart {
  readonly model: ModelInfo;
  readonly params: CallParams;
  readonly metadata: Metadata;
  readonly stream: boolean;
  readonly startTime: number;
  /** What `tagalongFetch` saw of the call's request (its headers), when it took the call. */
  readonly sent?: { readonly headers?: unknown };
}

/** Everything known when the call has ended. */
export interface CallEnd {
  status: CallStatus;
  output: ChatMessage[];
  usage?: CompletedCall["usage"];
  finishReason?: string;
  responseId?: string;
  error?: unknown;
}

export function completedCall(start: CallStart, end: CallEnd): CompletedCall {
  const { provider, modelId } = start.model;
  const dot = provider.indexOf(".");
  const call: CompletedCall = {
    provider: dot === -1 ? provider : provider.slice(0, dot),
    model: modelId,
    source: "ai-sdk",
    input: inputOf(start.params),
    output: end.output,
    startTime: new Date(start.startTime),
    endTime: new Date(),
    status: end.status,
    stream: start.stream,
    metadata: start.metadata,
  };
  const apiType = dot === -1 ? undefined : API_TYPES[provider.slice(dot + 1)];
  if (apiType !== undefined) call.apiType = apiType;
  const params = parameters(start.params);
  if (params !== undefined) call.parameters = params;
  if (end.usage !== undefined) call.usage = end.usage;
  if (end.finishReason !== undefined) call.finishReason = end.finishReason;
  if (end.responseId !== undefined) call.responseId = end.responseId;
  if (end.error !== undefined) {
    // The provider's error may echo the credentials it refused: those of the request as sent when
    // tagalongFetch saw it (the provider's API key), else the call's own headers; patterns beyond.
    call.error = errorInfo(end.error, callCredentials(start.params.headers, start.sent?.headers));
  }
  return call;
}

/** Accumulates a V2/V3/V4 stream's parts into the call's outcome, part by part. */
export class StreamOutcome {
  /** The output's pieces as generate's content has them: runs of text, and media placeholders between. */
  private readonly pieces: string[] = [];
  private inText = false;
  private readonly toolCalls: ToolCall[] = [];
  private usage: CompletedCall["usage"];
  private finishReason: string | undefined;
  private responseId: string | undefined;
  private error: unknown;
  private failed = false;

  /** @param onFailed called at the first error part. */
  constructor(private readonly onFailed?: () => void) {}

  observe(part: unknown): void {
    const p = record(part);
    switch (p.type) {
      case "text-start":
        // A new text block, as a new text item of generate's content is: joined with a newline.
        this.inText = false;
        break;
      case "text-delta":
        if (!this.inText) this.pieces.push("");
        this.inText = true;
        this.pieces[this.pieces.length - 1] += str(p.delta) ?? str(p.textDelta) ?? "";
        break;
      case "file":
        this.pieces.push(partText(p));
        this.inText = false;
        break;
      case "tool-call":
        this.toolCalls.push(toolCall(p));
        break;
      case "response-metadata":
        if (typeof p.id === "string") this.responseId = p.id;
        break;
      case "finish":
        this.usage = normalizeUsage(p.usage);
        this.finishReason = normalizeFinishReason(p.finishReason);
        break;
      case "error":
        if (!this.failed) {
          this.failed = true;
          this.error = p.error;
          this.onFailed?.();
        }
        break;
    }
  }

  /**
   * The outcome; `status` is what ended the stream unless the stream carried an error part before it
   * ended or was cancelled (ai 7 cancels an attempt that failed so to retry it: `streamRetries`).
   */
  end(status: CallStatus, error?: unknown): CallEnd {
    const failed = status !== "error" && this.failed;
    return {
      status: failed ? "error" : status,
      output: [assistantMessage(joinParts(this.pieces), this.toolCalls)],
      usage: this.usage,
      finishReason: this.finishReason,
      responseId: this.responseId,
      error: failed ? this.error : error,
    };
  }
}
