// What every adapter writes into a CompletedCall the same way: media placeholders, joined text, the
// neutral parameters, and the API type read off an OpenAI-shaped request.
import type { CallParameters, CompletedCall } from "../types";
import { hasKeys, isObject } from "./objects";

/** The kind of a non-text input part, written as a placeholder (`[image]`) in a CompletedCall. */
export type MediaKind = "image" | "audio" | "video" | "file";

/** The kind of a media part from its media type (`image/png`, `image/*` or `image` -> image); anything else is a file. */
export function mediaKind(mediaType: unknown): MediaKind {
  if (typeof mediaType !== "string") return "file";
  const slash = mediaType.indexOf("/");
  const top = slash === -1 ? mediaType : mediaType.slice(0, slash);
  return top === "image" || top === "audio" || top === "video" ? top : "file";
}

/** The text a media part stands for in `ChatMessage.content`: `[image]`, or `[file: report.pdf]` with a name. */
export function mediaPlaceholder(kind: MediaKind, name?: unknown): string {
  return typeof name === "string" && name !== "" ? `[${kind}: ${name}]` : `[${kind}]`;
}

/** Message content from its parts' texts: empty parts skipped, the others joined with a newline. */
export function joinParts(texts: Iterable<string>): string {
  let out = "";
  for (const text of texts) if (text !== "") out = out === "" ? text : `${out}\n${text}`;
  return out;
}

const API_PATHS: ReadonlyArray<[suffix: string, type: NonNullable<CompletedCall["apiType"]>]> = [
  ["/chat/completions", "chat-completions"],
  ["/responses", "responses"],
  ["/completions", "completions"],
  ["/embeddings", "embeddings"],
];

/** The API an OpenAI-shaped request addresses, from its path or URL (`.../v1/responses` -> responses). */
export function openAIApiType(pathOrUrl: string): CompletedCall["apiType"] {
  let path = pathOrUrl;
  const query = path.indexOf("?");
  if (query !== -1) path = path.slice(0, query);
  if (path.endsWith("/")) path = path.slice(0, -1);
  for (const [suffix, type] of API_PATHS) if (path.endsWith(suffix)) return type;
  return undefined;
}

// OpenAI's request keys that are the call's input, model or transport rather than its settings.
const NOT_SETTINGS = new Set([
  "model",
  "messages",
  "input",
  "prompt",
  "instructions",
  "stream",
  "stream_options",
]);

const NUMBERS: Record<string, keyof CallParameters> = {
  temperature: "temperature",
  max_tokens: "maxTokens",
  max_completion_tokens: "maxTokens",
  max_output_tokens: "maxTokens",
  top_p: "topP",
  top_k: "topK",
  presence_penalty: "presencePenalty",
  frequency_penalty: "frequencyPenalty",
  seed: "seed",
};

/** A tool's name in any of OpenAI's shapes (chat `{ function: { name } }`, responses `{ name }`, hosted `{ type }`). */
function openAIToolName(tool: unknown): string {
  if (!isObject(tool)) return "";
  if (isObject(tool.function) && typeof tool.function.name === "string") return tool.function.name;
  if (typeof tool.name === "string") return tool.name;
  return typeof tool.type === "string" ? tool.type : "";
}

function openAIToolChoice(choice: unknown): string | undefined {
  if (typeof choice === "string") return choice;
  if (!isObject(choice)) return undefined;
  const name = openAIToolName(choice);
  return name === "" ? undefined : name;
}

/**
 * A request body (or LangChain's invocation params) in OpenAI's names as the neutral
 * `CallParameters`; settings without a neutral name go under `other` as they are. Undefined when the
 * body carries no setting.
 */
export function openAIParameters(body: Readonly<Record<string, unknown>>): CallParameters | undefined {
  const out: CallParameters = {};
  let other: Record<string, unknown> | undefined;
  for (const key in body) {
    const value = body[key];
    if (value === undefined || value === null || NOT_SETTINGS.has(key)) continue;
    const neutral = NUMBERS[key];
    if (neutral !== undefined && typeof value === "number") (out as Record<string, unknown>)[neutral] = value;
    else if (key === "stop" && (typeof value === "string" || Array.isArray(value))) {
      out.stop = typeof value === "string" ? [value] : value.map(String);
    } else if (key === "tools" && Array.isArray(value)) {
      if (value.length > 0) out.tools = value.map(openAIToolName);
    } else if (key === "tool_choice") {
      // "auto" is every API's default beside tools: recorded only when it says more.
      const choice = openAIToolChoice(value);
      if (choice !== undefined && choice !== "auto") out.toolChoice = choice;
    } else if (key === "response_format" && isObject(value) && typeof value.type === "string") {
      if (value.type !== "text") out.responseFormat = value.type === "json_object" ? "json" : value.type;
    } else (other ??= {})[key] = value;
  }
  if (out.tools === undefined) delete out.toolChoice;
  if (other !== undefined) out.other = other;
  return hasKeys(out) ? out : undefined;
}
