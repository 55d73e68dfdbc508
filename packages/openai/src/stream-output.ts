import type { ApiType } from "./completed-call";
import type { SseEvent } from "./sse";

type Loose = Record<string, any>;

/** What a stream adds up to: a response in the non-streamed shape of its API, or the error it carried. */
export interface StreamResult {
  response: Loose | undefined;
  error?: { type: string; message: string };
  /**
   * Whether the stream said it was finished (`[DONE]`, a finish_reason for every choice it opened, or
   * a final Responses event). A reader may stop reading after that (openai 7 cancels the body at
   * `[DONE]`; a reader may leave at the finish_reason chunk): that is not an abort.
   */
  complete: boolean;
}

/**
 * Adds up one stream's events as they pass: parsed, either by the SDK (the events its `Stream` yields)
 * or from the bytes (`sseEvents`).
 */
export interface StreamAccumulator {
  /** One parsed event, and its SSE `event:` name when the bytes gave one. */
  push(value: unknown, event?: string): void;
  /** The stream's `[DONE]`: it said it was finished. */
  done(): void;
  /** An error event, by its error object (what the SDK throws it as carries it in `.error`). */
  fail(error: unknown): void;
  result(): StreamResult;
}

function streamError(error: unknown): { type: string; message: string } {
  const e = (typeof error === "object" && error !== null ? error : {}) as Loose;
  // A Responses `error` event is typed "error" itself: its code says which.
  const type = e.type === "error" ? e.code : e.type;
  return {
    type: String(type ?? e.code ?? "stream_error"),
    message: String(e.message ?? (typeof error === "string" ? error : "error event in the stream")),
  };
}

interface ChoiceState {
  content: string;
  refusal: string;
  text: string;
  /** In the shape of a message's tool calls: a `function` call, or a `custom` one (its input as text). */
  toolCalls: Array<{
    id: string;
    type: string;
    function?: { name: string; arguments: string };
    custom?: { name: string; input: string };
  }>;
  /** The deprecated single `function_call` (of the `functions` parameter). */
  functionCall?: { name: string; arguments: string };
  finish_reason: string | null;
}

/** Chat Completions and legacy Completions chunks: deltas summed per choice. */
function choicesAccumulator(): StreamAccumulator {
  let head: Loose | undefined;
  let usage: Loose | undefined;
  let error: StreamResult["error"];
  /** The stream's `[DONE]` arrived. */
  let done = false;
  const choices: ChoiceState[] = [];
  return {
    push(value, event) {
      const chunk = value as Loose;
      if (event === "error" || chunk?.error) {
        error = streamError(chunk?.error ?? chunk);
        return;
      }
      // Azure opens with a chunk of prompt filter results whose id and model are empty: the answer's own win.
      if (!head?.id)
        head = { id: chunk.id, model: chunk.model, object: chunk.object, created: chunk.created };
      if (chunk.usage) usage = chunk.usage;
      if (!Array.isArray(chunk.choices)) return;
      for (const c of chunk.choices) {
        const index = typeof c?.index === "number" ? c.index : 0;
        const state = (choices[index] ??= {
          content: "",
          refusal: "",
          text: "",
          toolCalls: [],
          finish_reason: null,
        });
        if (typeof c.text === "string") state.text += c.text;
        if (c.finish_reason) state.finish_reason = c.finish_reason;
        const delta = c.delta;
        if (!delta) continue;
        if (typeof delta.content === "string") state.content += delta.content;
        if (typeof delta.refusal === "string") state.refusal += delta.refusal;
        const fc = delta.function_call;
        if (fc) {
          const into = (state.functionCall ??= { name: "", arguments: "" });
          if (fc.name) into.name = fc.name;
          if (fc.arguments) into.arguments += fc.arguments;
        }
        if (Array.isArray(delta.tool_calls)) {
          for (const t of delta.tool_calls) {
            const i = typeof t?.index === "number" ? t.index : state.toolCalls.length;
            const call = (state.toolCalls[i] ??= { id: "", type: "function" });
            if (t.id) call.id = t.id;
            if (t.type) call.type = t.type;
            // As the SDK adds them up: the name is set (some servers repeat it in every delta), the
            // arguments (a custom tool's input) are appended.
            const fn = t.function;
            if (fn) {
              const into = (call.function ??= { name: "", arguments: "" });
              if (fn.name) into.name = fn.name;
              if (fn.arguments) into.arguments += fn.arguments;
            }
            const custom = t.custom;
            if (custom) {
              const into = (call.custom ??= { name: "", input: "" });
              if (custom.name) into.name = custom.name;
              if (custom.input) into.input += custom.input;
            }
          }
        }
      }
    },
    done() {
      done = true;
    },
    fail(e) {
      error = streamError(e);
    },
    result() {
      // Every choice it opened has its finish_reason: the answer is whole, whatever would come after
      // (a usage chunk, `[DONE]`).
      const complete = done || (choices.length > 0 && choices.every((s) => s.finish_reason !== null));
      if (head === undefined) return { response: undefined, error, complete };
      const response: Loose = {
        ...head,
        choices: choices.map((s, index) => ({
          index,
          finish_reason: s.finish_reason,
          text: s.text,
          message: {
            role: "assistant",
            content: s.content === "" ? null : s.content,
            ...(s.refusal !== "" && { refusal: s.refusal }),
            ...(s.toolCalls.length > 0 && { tool_calls: s.toolCalls.filter(Boolean) }),
            ...(s.functionCall && { function_call: s.functionCall }),
          },
        })),
      };
      if (usage) response.usage = usage;
      return { response, error, complete };
    },
  };
}

/**
 * Responses API events: the final `response.completed` (or `.incomplete` / `.failed`) carries the whole
 * response; until it arrives, finished output items stand in, and for unfinished ones their text and
 * refusal deltas (a message's content parts so far) or, for a tool call, the item as added with its
 * arguments (or input) so far.
 */
function responsesAccumulator(): StreamAccumulator {
  let final: Loose | undefined;
  let started: Loose | undefined;
  let error: StreamResult["error"];
  const items: Loose[] = [];
  /** Tool calls not done yet (`output_item.added`, copied), their arguments or input added up as they come. */
  const calling: Loose[] = [];
  /** The content parts of messages not done yet, by output and content index: their deltas added up. */
  const partial: Loose[][] = [];
  return {
    push(value, event) {
      const e = value as Loose;
      const type = e?.type ?? event;
      switch (type) {
        case "response.created":
        case "response.in_progress":
          started = e.response;
          break;
        case "response.completed":
        case "response.incomplete":
        case "response.failed":
          final = e.response;
          break;
        case "response.output_item.done":
          if (typeof e.output_index === "number") items[e.output_index] = e.item;
          break;
        case "response.output_item.added": {
          const item = e.item;
          if (
            typeof e.output_index === "number" &&
            (item?.type === "function_call" || item?.type === "custom_tool_call")
          )
            calling[e.output_index] = { ...item };
          break;
        }
        case "response.function_call_arguments.delta":
        case "response.custom_tool_call_input.delta": {
          const item = typeof e.output_index === "number" ? calling[e.output_index] : undefined;
          if (item !== undefined && typeof e.delta === "string") {
            const key = item.type === "function_call" ? "arguments" : "input";
            item[key] = (typeof item[key] === "string" ? item[key] : "") + e.delta;
          }
          break;
        }
        case "response.output_text.delta":
          addDelta(partial, e, "output_text", "text");
          break;
        case "response.refusal.delta":
          addDelta(partial, e, "refusal", "refusal");
          break;
        case "error":
          error = streamError(e.error ?? e);
          break;
      }
    },
    done() {},
    fail(e) {
      error = streamError(e);
    },
    result() {
      if (final) return { response: final, error, complete: true };
      if (started === undefined) return { response: undefined, error, complete: false };
      const output: Loose[] = [];
      const length = Math.max(items.length, calling.length, partial.length);
      for (let i = 0; i < length; i++) {
        const item = items[i] ?? calling[i];
        if (item) output.push(item);
        else if (partial[i] !== undefined) {
          output.push({ type: "message", role: "assistant", content: partial[i]!.filter(Boolean) });
        }
      }
      return { response: { ...started, output }, error, complete: false };
    },
  };
}

/**
 * Adds a Responses text or refusal delta (`e`) to the content part it names in `partial` (by output
 * and content index): a part of `type` whose `key` is the text so far.
 */
function addDelta(partial: Loose[][], e: Loose, type: string, key: string): void {
  if (typeof e.output_index !== "number" || typeof e.delta !== "string") return;
  const parts = (partial[e.output_index] ??= []);
  const index = typeof e.content_index === "number" ? e.content_index : 0;
  const part = (parts[index] ??= { type, [key]: "" });
  part[key] = (typeof part[key] === "string" ? part[key] : "") + e.delta;
}

export function streamAccumulator(apiType: ApiType): StreamAccumulator {
  return apiType === "responses" ? responsesAccumulator() : choicesAccumulator();
}

// openai 7's words for an event that is not JSON (5 and 6 throw JSON.parse's own error).
const MALFORMED_7 = "Error reading response: malformed server-sent event JSON.";

/**
 * Feeds raw SSE events (decoded from the bytes) to `accumulator` as the SDK's `Stream` reads them:
 * `[DONE]` ends the stream (openai 5 and 6: any data beginning with `[DONE]`; `openai7`: only `[DONE]`
 * itself), the rest is JSON. The SDK reads no event after its end, nor after one that is not JSON
 * (an event with a name and no data too): it throws there (`malformed`, the error, in openai 7's words
 * on openai 7).
 */
export function sseEvents(
  accumulator: StreamAccumulator,
  openai7: boolean,
): { readonly push: (event: SseEvent) => void; readonly malformed: unknown } {
  let stopped = false;
  const events = {
    /** The error the SDK threw for an event that is not JSON, where it stopped reading. */
    malformed: undefined as unknown,
    /** One event, decoded from the bytes (an `SseDecoder`'s handler). */
    push: ({ event, data }: SseEvent): void => {
      if (stopped) return;
      stopped = openai7 ? data === "[DONE]" : data.startsWith("[DONE]");
      if (stopped) {
        accumulator.done();
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(data);
      } catch (error) {
        stopped = true;
        events.malformed = openai7 ? new SyntaxError(MALFORMED_7) : error;
        return;
      }
      accumulator.push(value, event);
    },
  };
  return events;
}
