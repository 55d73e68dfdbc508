import type { ChatMessage } from "@tagalong/core/adapter";

// The OpenAI request and response shapes, read loosely: these functions take what the caller and the
// server sent (any SDK major) and never throw on a shape they do not know; they skip it.

type Loose = Record<string, any>;
type ToolCall = NonNullable<ChatMessage["toolCalls"]>[number];

const ROLES = new Set<ChatMessage["role"]>(["system", "developer", "user", "assistant", "tool"]);

function isObject(value: unknown): value is Loose {
  return typeof value === "object" && value !== null;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** One content part as text: text parts as they are, other media as a short placeholder. */
function partText(part: unknown): string {
  if (typeof part === "string") return part;
  if (!isObject(part)) return "";
  switch (part.type) {
    case "text":
    case "input_text":
    case "output_text":
      return str(part.text);
    case "refusal":
      return str(part.refusal);
    case "image_url":
    case "input_image":
      return "[image]";
    case "input_audio":
      return "[audio]";
    case "file":
    case "input_file": {
      const name = str(part.filename) || str(part.file?.filename);
      return name ? `[file: ${name}]` : "[file]";
    }
    default:
      return str(part.text);
  }
}

/** Message content (a string, or an array of parts) as one string; parts are joined with newlines. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) {
    const text = partText(part);
    if (text !== "") out = out === "" ? text : `${out}\n${text}`;
  }
  return out;
}

function chatToolCalls(message: Loose): ToolCall[] | undefined {
  const calls: ToolCall[] = [];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isObject(call)) continue;
      const fn = isObject(call.function) ? call.function : isObject(call.custom) ? call.custom : {};
      calls.push({ id: str(call.id), name: str(fn.name), arguments: str(fn.arguments ?? fn.input) });
    }
  }
  // The deprecated single `function_call`.
  if (isObject(message.function_call)) {
    calls.push({
      id: "",
      name: str(message.function_call.name),
      arguments: str(message.function_call.arguments),
    });
  }
  return calls.length > 0 ? calls : undefined;
}

function chatMessage(message: unknown): ChatMessage | undefined {
  if (!isObject(message)) return undefined;
  // The deprecated `function` role is a tool result named by its function.
  const role = message.role === "function" ? "tool" : message.role;
  if (!ROLES.has(role)) return undefined;
  let content = contentText(message.content);
  if (content === "" && typeof message.refusal === "string") content = message.refusal;
  const out: ChatMessage = { role, content };
  if (typeof message.name === "string") out.name = message.name;
  const toolCalls = chatToolCalls(message);
  if (toolCalls) out.toolCalls = toolCalls;
  if (typeof message.tool_call_id === "string") out.toolCallId = message.tool_call_id;
  return out;
}

/** Chat Completions `messages`. */
export function chatInput(messages: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (Array.isArray(messages)) {
    for (const message of messages) {
      const m = chatMessage(message);
      if (m) out.push(m);
    }
  }
  return out;
}

/** Chat Completions output: one assistant message per choice. */
export function chatOutput(completion: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (!isObject(completion) || !Array.isArray(completion.choices)) return out;
  for (const choice of completion.choices) {
    const m = isObject(choice) ? chatMessage({ role: "assistant", ...choice.message }) : undefined;
    if (m) out.push(m);
  }
  return out;
}

/**
 * Responses API items (input or output) as chat messages: messages by role, consecutive tool calls
 * folded into one assistant message, tool outputs as tool messages. Reasoning and hosted-tool items
 * are left out.
 */
function responseItems(items: unknown[], into: ChatMessage[]): ChatMessage[] {
  let calling: ChatMessage | undefined;
  for (const item of items) {
    if (!isObject(item)) continue;
    const type = item.type ?? "message";
    if (type === "function_call" || type === "custom_tool_call") {
      const call = {
        id: str(item.call_id),
        name: str(item.name),
        arguments: str(item.arguments ?? item.input),
      };
      if (calling === undefined) {
        calling = { role: "assistant", content: "" };
        into.push(calling);
      }
      (calling.toolCalls ??= []).push(call);
      continue;
    }
    if (type === "message" && ROLES.has(item.role)) {
      const message: ChatMessage = { role: item.role, content: contentText(item.content) };
      // Text followed by tool calls in one response is one assistant turn.
      if (item.role === "assistant") calling = message;
      else calling = undefined;
      into.push(message);
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      calling = undefined;
      into.push({ role: "tool", content: contentText(item.output), toolCallId: str(item.call_id) });
    }
  }
  return into;
}

/** Responses API `instructions` + `input`. */
export function responsesInput(input: unknown, instructions: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (typeof instructions === "string" && instructions !== "")
    out.push({ role: "system", content: instructions });
  if (typeof input === "string") out.push({ role: "user", content: input });
  else if (Array.isArray(input)) responseItems(input, out);
  return out;
}

/** Responses API output items. */
export function responsesOutput(response: unknown): ChatMessage[] {
  return isObject(response) && Array.isArray(response.output) ? responseItems(response.output, []) : [];
}

/** Legacy Completions `prompt` or Embeddings `input`: each text a user message; token arrays are left out. */
export function textsInput(texts: unknown): ChatMessage[] {
  if (typeof texts === "string") return [{ role: "user", content: texts }];
  const out: ChatMessage[] = [];
  if (Array.isArray(texts))
    for (const text of texts) if (typeof text === "string") out.push({ role: "user", content: text });
  return out;
}

/** Legacy Completions output: one assistant message per choice. */
export function completionsOutput(completion: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (isObject(completion) && Array.isArray(completion.choices)) {
    for (const choice of completion.choices)
      if (isObject(choice)) out.push({ role: "assistant", content: str(choice.text) });
  }
  return out;
}
