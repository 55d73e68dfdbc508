import {
  type ChatMessage,
  type CompletedCall,
  isObject,
  joinParts,
  mediaKind,
  mediaPlaceholder,
} from "@tagalong/core/adapter";

// Structural views of LangChain's classes, so that this module works with every @langchain/core copy.
export interface MessageLike {
  content?: unknown;
  name?: string;
  role?: string;
  tool_calls?: Array<{ id?: string; name: string; args?: unknown }>;
  tool_call_id?: string;
  id?: string;
  usage_metadata?: { input_tokens?: number; output_tokens?: number };
  response_metadata?: Record<string, unknown>;
  getType?(): string;
  _getType?(): string;
  type?: string;
}

export interface GenerationLike {
  text?: string;
  message?: MessageLike;
  generationInfo?: Record<string, unknown>;
}

export interface LLMResultLike {
  generations: GenerationLike[][];
  llmOutput?: Record<string, any> | null;
}

const ROLES: Record<string, ChatMessage["role"]> = {
  human: "user",
  user: "user",
  ai: "assistant",
  assistant: "assistant",
  system: "system",
  developer: "developer",
  tool: "tool",
  function: "tool",
};

function messageType(message: MessageLike): string | undefined {
  if (typeof message.getType === "function") return message.getType();
  if (typeof message._getType === "function") return message._getType();
  return message.type;
}

function roleOf(message: MessageLike): ChatMessage["role"] {
  const type = messageType(message);
  // A ChatMessage (`generic`) carries its own role.
  const role = type === "generic" || type === undefined ? message.role : type;
  return (role && ROLES[role]) || "user";
}

const MEDIA_KINDS: Record<string, ReturnType<typeof mediaKind>> = {
  image_url: "image",
  image: "image",
  input_audio: "audio",
  audio: "audio",
  video: "video",
  file: "file",
};

/** One content part in the convention: text as it is, media (OpenAI's or LangChain's standard blocks) as a placeholder. */
function partText(part: unknown): string {
  if (typeof part === "string") return part;
  if (!isObject(part)) return "";
  if (typeof part.text === "string") return part.text;
  const kind = typeof part.type === "string" ? MEDIA_KINDS[part.type] : undefined;
  if (kind === undefined) return "";
  const meta = isObject(part.metadata) ? part.metadata : {};
  const file = isObject(part.file) ? part.file : {};
  const name = part.filename ?? file.filename ?? meta.filename ?? meta.name;
  const mime = part.mimeType ?? part.mime_type;
  return mediaPlaceholder(kind === "file" && typeof mime === "string" ? mediaKind(mime) : kind, name);
}

/** Text of LangChain message content: a string, or its parts' texts joined with newlines. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  return Array.isArray(content) ? joinParts(content.map(partText)) : "";
}

export function toChatMessage(message: MessageLike): ChatMessage {
  const out: ChatMessage = { role: roleOf(message), content: contentText(message.content) };
  if (message.name) out.name = message.name;
  if (message.tool_calls && message.tool_calls.length > 0) {
    out.toolCalls = message.tool_calls.map((call, i) => ({
      id: call.id ?? `call_${i}`,
      name: call.name,
      arguments: typeof call.args === "string" ? call.args : JSON.stringify(call.args ?? {}),
    }));
  }
  if (message.tool_call_id) out.toolCallId = message.tool_call_id;
  return out;
}

export function toChatMessages(messages: readonly MessageLike[]): ChatMessage[] {
  return messages.map(toChatMessage);
}

/** What an LLM run's result says about the call: output, usage, response id and finish reason. */
export function readResult(
  result: LLMResultLike,
): Pick<CompletedCall, "output" | "usage" | "responseId" | "finishReason"> {
  const generation = result.generations[0]?.[0];
  const message = generation?.message;
  const out: Pick<CompletedCall, "output" | "usage" | "responseId" | "finishReason"> = {
    output: message
      ? [toChatMessage(message)]
      : generation
        ? [{ role: "assistant", content: generation.text ?? "" }]
        : [],
  };
  const usage = message?.usage_metadata;
  const tokens = result.llmOutput?.tokenUsage ?? result.llmOutput?.estimatedTokenUsage;
  if (usage && (usage.input_tokens !== undefined || usage.output_tokens !== undefined)) {
    out.usage = { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens };
  } else if (tokens) {
    out.usage = { inputTokens: tokens.promptTokens, outputTokens: tokens.completionTokens };
  }
  const responseId = message?.response_metadata?.id ?? message?.id;
  // LangChain names messages it had no provider id for `run-<run id>`.
  if (typeof responseId === "string" && !responseId.startsWith("run-")) out.responseId = responseId;
  const meta: Record<string, any> | undefined = message?.response_metadata;
  const finish =
    generation?.generationInfo?.finish_reason ??
    // The legacy completions LLM's.
    generation?.generationInfo?.finishReason ??
    meta?.finish_reason ??
    meta?.stop_reason ??
    // The Responses API's, as the openai adapter records it: why it is incomplete, else its status.
    meta?.incomplete_details?.reason ??
    meta?.status;
  if (typeof finish === "string") out.finishReason = finish;
  return out;
}
