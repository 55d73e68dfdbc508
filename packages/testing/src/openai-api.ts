import type { ServerResponse } from "node:http";
import {
  contentText,
  countTokens,
  deltas,
  embed,
  embeddingBase64,
  fillSchema,
  replyText,
} from "./fake-model";
import { sseData, sseDone, sseEvent, startSse } from "./sse";
import type { ModelEndpoint } from "./types";

/** The OpenAI-compatible routes, by path. */
export const OPENAI_ROUTES: Record<string, ModelEndpoint> = {
  "/v1/chat/completions": "chat.completions",
  "/v1/responses": "responses",
  "/v1/embeddings": "embeddings",
  "/v1/completions": "completions",
};

export interface ModelAnswer {
  /** `chatcmpl-rec-<n>` etc. */
  responseId: string;
}

/** Answer one model call. `n` numbers model calls from 1; `headers` go on the answer. */
export function answerModelCall(
  endpoint: ModelEndpoint,
  body: any,
  n: number,
  res: ServerResponse,
  headers: Record<string, string>,
): ModelAnswer | undefined {
  const problem = checkModelBody(endpoint, body);
  if (problem) {
    sendJson(res, 400, openaiError(problem, "invalid_request_error"), headers);
    return undefined;
  }
  switch (endpoint) {
    case "chat.completions":
      return chatCompletion(body, n, res, headers);
    case "responses":
      return responses(body, n, res, headers);
    case "embeddings":
      return embeddings(body, n, res, headers);
    case "completions":
      return legacyCompletion(body, n, res, headers);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** OpenAI's error body. */
export function openaiError(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

function checkModelBody(endpoint: ModelEndpoint, body: any): string | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return "The body must be a JSON object.";
  if (typeof body.model !== "string" || body.model === "") return "Missing required parameter: 'model'.";
  if (endpoint === "chat.completions" && !Array.isArray(body.messages)) {
    return "Missing required parameter: 'messages'.";
  }
  if (endpoint === "responses" && body.input === undefined) return "Missing required parameter: 'input'.";
  if (endpoint === "embeddings" && body.input === undefined) return "Missing required parameter: 'input'.";
  if (endpoint === "completions" && body.prompt === undefined) return "Missing required parameter: 'prompt'.";
  return undefined;
}

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Chat completions

interface ToolCallPlan {
  name: string;
  arguments: string;
}

/** The first offered function tool (or the forced one) when no tool result follows the last user turn. */
function chatToolPlan(body: any): ToolCallPlan | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t: any) => t?.type === "function") : [];
  if (tools.length === 0 || body.tool_choice === "none") return undefined;
  const messages: any[] = body.messages;
  const lastUser = findLastIndex(messages, (m) => m?.role === "user");
  if (messages.slice(lastUser + 1).some((m) => m?.role === "tool" || m?.role === "function"))
    return undefined;
  const forced = body.tool_choice?.function?.name;
  const tool = tools.find((t: any) => t.function?.name === forced) ?? tools[0];
  const args = tool.function?.parameters ? fillSchema(tool.function.parameters) : {};
  return { name: String(tool.function?.name ?? "tool"), arguments: JSON.stringify(args ?? {}) };
}

function chatContent(body: any, lastUserText: string): string {
  const format = body.response_format;
  if (format?.type === "json_schema") return JSON.stringify(fillSchema(format.json_schema?.schema ?? {}));
  if (format?.type === "json_object") return JSON.stringify({ echo: lastUserText });
  return replyText(lastUserText);
}

function chatCompletion(body: any, n: number, res: ServerResponse, headers: Record<string, string>) {
  const messages: any[] = body.messages;
  const lastUser = [...messages].reverse().find((m) => m?.role === "user");
  const userText = contentText(lastUser?.content);
  const promptTokens = Math.max(
    1,
    countTokens(
      messages
        .map((m) => contentText(m?.content))
        .filter((t) => t !== "")
        .join("\n"),
    ),
  );
  const plan = chatToolPlan(body);
  const content = plan ? null : chatContent(body, userText);
  const completionTokens = Math.max(1, countTokens(plan ? plan.name + plan.arguments : (content ?? "")));
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const id = `chatcmpl-rec-${n}`;
  const created = now();
  const model = body.model;
  const toolCallId = `call_rec_${n}_0`;
  const finishReason = plan ? "tool_calls" : "stop";

  if (!body.stream) {
    const message: Record<string, unknown> = { role: "assistant", content, refusal: null, annotations: [] };
    if (plan) {
      message.tool_calls = [
        { id: toolCallId, type: "function", function: { name: plan.name, arguments: plan.arguments } },
      ];
    }
    sendJson(
      res,
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage,
        service_tier: "default",
        system_fingerprint: "fp_recorder",
      },
      headers,
    );
    return { responseId: id };
  }

  // OpenAI also sends `usage: null` on every other chunk; @requesty/ai-sdk's schema rejects that, so
  // only the final chunk carries usage (what Requesty and most compatible servers do).
  const includeUsage = body.stream_options?.include_usage === true;
  const head = {
    id,
    object: "chat.completion.chunk",
    created,
    model,
    service_tier: "default",
    system_fingerprint: "fp_recorder",
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...head,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  startSse(res, headers);
  if (plan) {
    sseData(
      res,
      chunk(
        {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            { index: 0, id: toolCallId, type: "function", function: { name: plan.name, arguments: "" } },
          ],
        },
        null,
      ),
    );
    for (const piece of splitInTwo(plan.arguments)) {
      sseData(res, chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
    }
  } else {
    sseData(res, chunk({ role: "assistant", content: "", refusal: null }, null));
    for (const piece of deltas(content ?? "")) sseData(res, chunk({ content: piece }, null));
  }
  sseData(res, chunk({}, finishReason));
  if (includeUsage) {
    sseData(res, { ...head, choices: [], usage });
  }
  sseDone(res);
  return { responseId: id };
}

// ---------------------------------------------------------------------------------------------
// Responses

function responseInputItems(body: any): any[] {
  if (typeof body.input === "string") return [{ role: "user", content: body.input }];
  return Array.isArray(body.input) ? body.input : [];
}

function responsesToolPlan(body: any, items: any[]): ToolCallPlan | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t: any) => t?.type === "function") : [];
  if (tools.length === 0 || body.tool_choice === "none") return undefined;
  const lastUser = findLastIndex(items, (i) => i?.role === "user");
  if (items.slice(lastUser + 1).some((i) => i?.type === "function_call_output")) return undefined;
  const forced = body.tool_choice?.name;
  const tool = tools.find((t: any) => t.name === forced) ?? tools[0];
  const args = tool.parameters ? fillSchema(tool.parameters) : {};
  return { name: String(tool.name ?? "tool"), arguments: JSON.stringify(args ?? {}) };
}

function responses(body: any, n: number, res: ServerResponse, headers: Record<string, string>) {
  const items = responseInputItems(body);
  const lastUser = [...items].reverse().find((i) => i?.role === "user");
  const userText = contentText(lastUser?.content);
  const allText = [
    typeof body.instructions === "string" ? body.instructions : "",
    ...items.map((i) => contentText(i?.content ?? i?.output)),
  ]
    .filter((t) => t !== "")
    .join("\n");
  const inputTokens = Math.max(1, countTokens(allText));
  const plan = responsesToolPlan(body, items);
  const format = body.text?.format;
  const text = plan
    ? ""
    : format?.type === "json_schema"
      ? JSON.stringify(fillSchema(format.schema ?? {}))
      : format?.type === "json_object"
        ? JSON.stringify({ echo: userText })
        : replyText(userText);
  const outputTokens = Math.max(1, countTokens(plan ? plan.name + plan.arguments : text));
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
  const id = `resp_rec${n}`;
  const created = now();
  const itemId = plan ? `fc_rec${n}_0` : `msg_rec${n}`;
  const base = (status: string, output: unknown[], u: unknown) => ({
    id,
    object: "response",
    created_at: created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: u,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  });
  const part = (t: string) => ({ type: "output_text", text: t, annotations: [], logprobs: [] });
  const doneItem = plan
    ? {
        type: "function_call",
        id: itemId,
        call_id: `call_rec_${n}_0`,
        name: plan.name,
        arguments: plan.arguments,
        status: "completed",
      }
    : { type: "message", id: itemId, status: "completed", role: "assistant", content: [part(text)] };

  if (!body.stream) {
    sendJson(res, 200, base("completed", [doneItem], usage), headers);
    return { responseId: id };
  }

  let seq = 0;
  const emit = (type: string, data: Record<string, unknown>) =>
    sseEvent(res, type, { type, ...data, sequence_number: seq++ });
  startSse(res, headers);
  emit("response.created", { response: base("in_progress", [], null) });
  emit("response.in_progress", { response: base("in_progress", [], null) });
  if (plan) {
    emit("response.output_item.added", {
      output_index: 0,
      item: { ...doneItem, arguments: "", status: "in_progress" },
    });
    for (const piece of splitInTwo(plan.arguments)) {
      emit("response.function_call_arguments.delta", { item_id: itemId, output_index: 0, delta: piece });
    }
    emit("response.function_call_arguments.done", {
      item_id: itemId,
      output_index: 0,
      name: plan.name,
      arguments: plan.arguments,
    });
  } else {
    emit("response.output_item.added", {
      output_index: 0,
      item: { type: "message", id: itemId, status: "in_progress", role: "assistant", content: [] },
    });
    emit("response.content_part.added", {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: part(""),
    });
    for (const piece of deltas(text)) {
      emit("response.output_text.delta", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: piece,
        logprobs: [],
      });
    }
    emit("response.output_text.done", {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      text,
      logprobs: [],
    });
    emit("response.content_part.done", {
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: part(text),
    });
  }
  emit("response.output_item.done", { output_index: 0, item: doneItem });
  emit("response.completed", { response: base("completed", [doneItem], usage) });
  res.end();
  return { responseId: id };
}

// ---------------------------------------------------------------------------------------------
// Embeddings and legacy completions

function embeddings(body: any, n: number, res: ServerResponse, headers: Record<string, string>) {
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
  // An array of numbers is one tokenised input, not many inputs.
  const texts =
    inputs.length > 0 && inputs.every((i) => typeof i === "number")
      ? [inputs.join(" ")]
      : inputs.map((i) => (typeof i === "string" ? i : JSON.stringify(i)));
  const dimensions = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : 8;
  const base64 = body.encoding_format === "base64";
  const tokens = Math.max(1, countTokens(texts.join("")));
  sendJson(
    res,
    200,
    {
      object: "list",
      data: texts.map((t, index) => {
        const vector = embed(t, dimensions);
        return { object: "embedding", index, embedding: base64 ? embeddingBase64(vector) : vector };
      }),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    headers,
  );
  return { responseId: `emb-rec-${n}` };
}

function legacyCompletion(body: any, n: number, res: ServerResponse, headers: Record<string, string>) {
  // One choice per prompt of an array, at its index, as OpenAI answers a batch of prompts.
  const prompts = (Array.isArray(body.prompt) ? body.prompt : [body.prompt]).map(String);
  const texts = prompts.map(replyText);
  const promptTokens = prompts.reduce((sum: number, p: string) => sum + Math.max(1, countTokens(p)), 0);
  const completionTokens = texts.reduce((sum: number, t: string) => sum + Math.max(1, countTokens(t)), 0);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  const id = `cmpl-rec-${n}`;
  const created = now();
  const model = body.model;
  const choice = (t: string, index: number, finish: string | null) => ({
    text: t,
    index,
    logprobs: null,
    finish_reason: finish,
  });
  if (!body.stream) {
    sendJson(
      res,
      200,
      {
        id,
        object: "text_completion",
        created,
        model,
        choices: texts.map((text: string, index: number) => choice(text, index, "stop")),
        usage,
      },
      headers,
    );
    return { responseId: id };
  }
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (t: string, index: number, finish: string | null) => ({
    id,
    object: "text_completion",
    created,
    model,
    choices: [choice(t, index, finish)],
  });
  startSse(res, headers);
  texts.forEach((text: string, index: number) => {
    const pieces = deltas(text);
    pieces.forEach((piece, i) => {
      sseData(res, chunk(piece, index, i === pieces.length - 1 ? "stop" : null));
    });
  });
  if (includeUsage) sseData(res, { id, object: "text_completion", created, model, choices: [], usage });
  sseDone(res);
  return { responseId: id };
}

// ---------------------------------------------------------------------------------------------

function findLastIndex<T>(list: T[], predicate: (item: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (predicate(list[i]!)) return i;
  return -1;
}

/** Two stream pieces for tool arguments, so clients really have to concatenate. */
function splitInTwo(text: string): string[] {
  if (text.length < 2) return [text];
  const mid = Math.floor(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)];
}
