// What after-the-call destinations receive from a wrapped client: one CompletedCall per model call,
// with its input, output, usage, timing and status, for every openai major; and, end to end, what
// reaches the recorder's PromptLayer endpoints. openai 7 needs Node 22.

import { inspect } from "node:util";
import {
  createTagalong,
  type Destination,
  type Metadata,
  portkey,
  promptLayer,
  requesty,
  withMetadata,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { replyText } from "@tagalong/testing";
import type OpenAI from "openai";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { tagalongOptions, wrapOpenAI } from "../src/index";
import {
  API_KEY,
  MODEL,
  memory,
  runnableWeather,
  stallAfterEvents,
  streamText,
  useRecorder,
} from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

const PL_KEY = "pl_test_key_openai_0123456789";
const recorder = useRecorder({ promptLayerApiKey: PL_KEY });

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
  },
};

/** A fetch whose plain (JSON) answer sends its first half, then holds the rest back until the request is aborted. */
function stallPlainBody(): typeof fetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const signal = init?.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, bytes.length >> 1));
        const fail = () =>
          controller.error(signal?.reason ?? new DOMException("This operation was aborted", "AbortError"));
        if (signal?.aborted) fail();
        else signal?.addEventListener("abort", fail, { once: true });
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/**
 * The rejections left unhandled while `run` runs and after it, until `expected` have come (or 5 s
 * passed), then 50 ms more for any beyond them; caught here alone: the test runner's own listeners
 * (which would fail the file) are set aside meanwhile.
 */
async function unhandledDuring(run: () => Promise<void>, expected = 0): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  const runners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", onUnhandled);
  try {
    await run();
    const deadline = Date.now() + 5000;
    while (unhandled.length < expected && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("unhandledRejection", onUnhandled);
    for (const listener of runners) process.on("unhandledRejection", listener);
  }
  return unhandled;
}

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("wrapOpenAI after the call", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });

    const rec = () => recorder.rec;
    function setup(
      options: { client?: ConstructorParameters<ClientClass>[0]; destinations?: Destination[] } = {},
    ) {
      const recorded = memory();
      const errors: unknown[] = [];
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), recorded, ...(options.destinations ?? [])],
        metadata: { environment: "test" },
        onError: (e) => errors.push(e),
      });
      const client = wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0, ...options.client }),
        tagalong,
      );
      return { client, recorded, errors, tagalong };
    }
    /** A streamed chat completion asking for a long answer (which `stallAfterEvents` holds back). */
    const longStream = (client: ReturnType<typeof setup>["client"]) =>
      client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "a long answer please" }],
        stream: true,
      });
    /** Waits for exactly one recorded call, and checks no second one follows. */
    async function onlyRecord(recorded: { calls: CompletedCall[] }): Promise<CompletedCall> {
      await vi.waitFor(() => expect(recorded.calls.length).toBeGreaterThan(0));
      await new Promise((r) => setTimeout(r, 20));
      expect(recorded.calls).toHaveLength(1);
      return recorded.calls[0]!;
    }

    it("a chat completion: its input, output, usage, timing, settings and metadata", async () => {
      const { client, recorded } = setup();
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            { type: "text", text: "this picture?" },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "look", arguments: '{"zoom":2}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "a cat" }] },
        { role: "user", content: "Thanks", name: "ann" },
      ];
      const started = Date.now();
      const { data, request_id } = await withMetadata({ user: "u_1" }, () =>
        client.chat.completions
          .create(
            { model: MODEL, messages, temperature: 0.5, max_tokens: 64 },
            tagalongOptions({ session: "s_1" }),
          )
          .withResponse(),
      );
      // Callers often push the reply onto their list at once: the record keeps the input as sent.
      messages.push(data.choices[0]!.message);
      const call = await onlyRecord(recorded);
      const ended = Date.now();
      expect(request_id).toBe(rec().calls()[0]!.requestId);
      expect(call).toEqual({
        provider: "openai",
        source: "openai",
        apiType: "chat-completions",
        model: data.model,
        input: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "What is in\n[image]\nthis picture?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "look", arguments: '{"zoom":2}' }],
          },
          { role: "tool", content: "a cat", toolCallId: "call_1" },
          { role: "user", content: "Thanks", name: "ann" },
        ],
        output: [{ role: "assistant", content: data.choices[0]!.message.content }],
        parameters: { temperature: 0.5, maxTokens: 64 },
        usage: { inputTokens: data.usage!.prompt_tokens, outputTokens: data.usage!.completion_tokens },
        startTime: expect.any(Date),
        endTime: expect.any(Date),
        status: "success",
        stream: false,
        responseId: data.id,
        finishReason: "stop",
        metadata: { environment: "test", user: "u_1", session: "s_1" },
      });
      expect(call.output[0]!.content).toBe(replyText("Thanks"));
      expect(call.startTime.getTime()).toBeGreaterThanOrEqual(started);
      expect(call.endTime.getTime()).toBeGreaterThanOrEqual(call.startTime.getTime());
      expect(call.endTime.getTime()).toBeLessThanOrEqual(ended);
    });

    it("a streamed chat completion is recorded as its request was sent, whatever the caller changes after", async () => {
      const { client, recorded } = setup();
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Hi there" }];
      const params = { model: MODEL, messages, temperature: 0.5, stream: true as const };
      let text = "";
      for await (const chunk of await client.chat.completions.create(params)) {
        text += chunk.choices[0]?.delta.content ?? "";
      }
      // The stream has ended: callers often push the reply and reuse their params at once.
      messages.push({ role: "assistant", content: text });
      params.temperature = 1.5;
      const call = await onlyRecord(recorded);
      expect(call.input).toEqual([{ role: "user", content: "Hi there" }]);
      expect(call.parameters).toEqual({ temperature: 0.5 });
      expect(call.output).toEqual([{ role: "assistant", content: replyText("Hi there") }]);
      expect(call.stream).toBe(true);
    });

    it("a streamed chat completion whose first chunk has no id or model (Azure's prompt filter results) is recorded with the answer's", async () => {
      // Azure OpenAI opens a streamed chat completion with a chunk of prompt filter results: no choices, and
      // an empty id and model. The chunks after it carry the completion's own.
      const azureFirstChunk = {
        choices: [],
        created: 0,
        id: "",
        model: "",
        object: "",
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
      };
      const azureStream: typeof fetch = async (url, init) => {
        const response = await fetch(url, init);
        const body = `data: ${JSON.stringify(azureFirstChunk)}\n\n${await response.text()}`;
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const { client, recorded } = setup({ client: { fetch: azureStream } });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi azure" }],
        stream: true,
      });
      for await (const chunk of stream) chunks.push(chunk);
      const answer = chunks[1]!;
      expect(answer.id).not.toBe("");
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        model: answer.model,
        responseId: answer.id,
        output: [{ role: "assistant", content: replyText("hi azure") }],
      });
    });

    it("a streamed chat completion with a tool call: recorded once, when the stream ends", async () => {
      const { client, recorded } = setup();
      const stream = client.chat.completions.stream({
        model: MODEL,
        messages: [{ role: "user", content: "Weather in Paris?" }],
        tools: [weatherTool],
        stream_options: { include_usage: true },
      });
      const final = await stream.finalChatCompletion();
      const toolCall = final.choices[0]!.message
        .tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        apiType: "chat-completions",
        model: final.model,
        stream: true,
        status: "success",
        responseId: final.id,
        finishReason: "tool_calls",
        input: [{ role: "user", content: "Weather in Paris?" }],
        output: [
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: toolCall.id, name: "get_weather", arguments: toolCall.function.arguments }],
          },
        ],
        usage: { inputTokens: final.usage!.prompt_tokens, outputTokens: final.usage!.completion_tokens },
      });
      expect(call.parameters).toEqual({ tools: [weatherTool.function.name] });
      expect(JSON.parse(toolCall.function.arguments)).toEqual({ city: expect.any(String) });
    });

    it("a Responses call: instructions and input items in, output and usage out", async () => {
      const { client, recorded } = setup();
      const response = await client.responses.create({
        model: MODEL,
        instructions: "Be brief.",
        input: [
          { role: "user", content: [{ type: "input_text", text: "Weather?" }] },
          { type: "function_call", call_id: "c_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { type: "function_call_output", call_id: "c_1", output: "21C" },
          { role: "user", content: "Thanks" },
        ],
      });
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        apiType: "responses",
        model: response.model,
        stream: false,
        status: "success",
        responseId: response.id,
        finishReason: "completed",
        input: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "c_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
          },
          { role: "tool", content: "21C", toolCallId: "c_1" },
          { role: "user", content: "Thanks" },
        ],
        output: [{ role: "assistant", content: replyText("Thanks") }],
        usage: { inputTokens: response.usage!.input_tokens, outputTokens: response.usage!.output_tokens },
      });
    });

    it("a streamed Responses call with a tool call", async () => {
      const { client, recorded } = setup();
      const stream = await client.responses.create({
        model: MODEL,
        input: "Weather in Paris?",
        tools: [
          {
            type: "function",
            name: "get_weather",
            parameters: weatherTool.function.parameters,
            strict: true,
          },
        ],
        stream: true,
      });
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) if (event.type === "response.completed") completed = event.response;
      const item = completed!.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        apiType: "responses",
        stream: true,
        status: "success",
        responseId: completed!.id,
        output: [
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: item.call_id, name: "get_weather", arguments: item.arguments }],
          },
        ],
        usage: { inputTokens: completed!.usage!.input_tokens, outputTokens: completed!.usage!.output_tokens },
      });
    });

    it("legacy completions, plain and streamed, and embeddings", async () => {
      const { client, recorded } = setup();
      const plain = await client.completions.create({ model: MODEL, prompt: "Say hi", max_tokens: 5 });
      await vi.waitFor(() => expect(recorded.calls).toHaveLength(1));
      expect(recorded.calls[0]).toMatchObject({
        apiType: "completions",
        stream: false,
        input: [{ role: "user", content: "Say hi" }],
        output: [{ role: "assistant", content: plain.choices[0]!.text }],
        parameters: { maxTokens: 5 },
        responseId: plain.id,
        finishReason: "stop",
        usage: { inputTokens: plain.usage!.prompt_tokens, outputTokens: plain.usage!.completion_tokens },
      });

      const text = await streamText(
        await client.completions.create({
          model: MODEL,
          prompt: "Say hi",
          stream: true,
          stream_options: { include_usage: true },
        }),
      );
      await vi.waitFor(() => expect(recorded.calls).toHaveLength(2));
      expect(recorded.calls[1]).toMatchObject({
        apiType: "completions",
        stream: true,
        status: "success",
        output: [{ role: "assistant", content: text }],
        finishReason: "stop",
        usage: { inputTokens: plain.usage!.prompt_tokens, outputTokens: plain.usage!.completion_tokens },
      });
      expect(text).toBe(replyText("Say hi"));

      const embedded = await client.embeddings.create({ model: MODEL, input: ["one", "two"], dimensions: 4 });
      await vi.waitFor(() => expect(recorded.calls).toHaveLength(3));
      expect(recorded.calls[2]).toMatchObject({
        apiType: "embeddings",
        stream: false,
        status: "success",
        input: [
          { role: "user", content: "one" },
          { role: "user", content: "two" },
        ],
        output: [],
        parameters: { other: { dimensions: 4 } },
        usage: { inputTokens: embedded.usage.prompt_tokens },
      });
    });

    it("a stream the SDK's parser turns into something other than its Stream is recorded from its bytes", async () => {
      // What an SDK version whose stream class changed shape would do: its events cannot be watched, so
      // the body is read (lazily, when the caller iterates) through the observed copy instead.
      const Stream = await major.loadStream();
      const original = Stream.fromSSEResponse;
      Stream.fromSSEResponse = function (this: unknown, ...args: unknown[]) {
        const stream = original.apply(this, args);
        return { [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() };
      };
      try {
        const { client, recorded, errors } = setup();
        const stream = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: "Say hello" }],
          stream: true,
          stream_options: { include_usage: true },
        });
        expect(typeof (stream as unknown as { iterator?: unknown }).iterator).toBe("undefined");
        const text = await streamText(stream);
        expect(text.length).toBeGreaterThan(0);
        const call = await onlyRecord(recorded);
        expect(call).toMatchObject({
          apiType: "chat-completions",
          stream: true,
          status: "success",
          output: [{ role: "assistant", content: text }],
          usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
        });
        expect(errors).toEqual([]);
      } finally {
        Stream.fromSSEResponse = original;
      }
    });

    it("an HTTP error is recorded once, with its error", async () => {
      const { client, recorded } = setup();
      rec().fail({ path: "/v1/chat/completions", status: 400, times: 1 });
      const failed = client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
      });
      await expect(failed).rejects.toBeInstanceOf(OpenAIClass.BadRequestError);
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        apiType: "chat-completions",
        model: MODEL,
        status: "error",
        error: { type: "BadRequestError", message: expect.stringContaining("recorder: injected 400") },
        input: [{ role: "user", content: "hi" }],
        output: [],
        stream: false,
      });
      expect(call.responseId).toBeUndefined();
    });

    it("a failed call the caller never awaits rejects unhandled, as with the bare SDK; one it awaits does not", async () => {
      const { client, recorded } = setup();
      const bare = new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 });
      const ask = (c: OpenAI) =>
        c.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      rec().fail({ path: "/v1/chat/completions", status: 400 });
      for (const c of [bare, client]) {
        // A non-model call (not recorded) and a model call (recorded), each left alone.
        const unhandled = await unhandledDuring(async () => {
          void c.models.retrieve("no-such-model");
          void ask(c);
        }, 2);
        expect(unhandled).toHaveLength(2);
        expect(unhandled).toContainEqual(expect.any(OpenAIClass.NotFoundError));
        expect(unhandled).toContainEqual(expect.any(OpenAIClass.BadRequestError));
        const awaited = await unhandledDuring(async () => {
          await expect(c.models.retrieve("no-such-model")).rejects.toBeInstanceOf(OpenAIClass.NotFoundError);
          await expect(ask(c)).rejects.toBeInstanceOf(OpenAIClass.BadRequestError);
        });
        expect(awaited).toEqual([]);
      }
      // The wrapped client's model calls were recorded all the same.
      await vi.waitFor(() => expect(recorded.calls).toHaveLength(2));
      expect(recorded.calls.map((c) => c.status)).toEqual(["error", "error"]);
    });

    it("a refused call's recorded error has the client's key and headers scrubbed, whatever their shape", async () => {
      const key = "local-7f3a9c";
      const { client, recorded } = setup({
        client: { apiKey: key, defaultHeaders: { "x-portkey-api-key": "gw-5e1d2b" } },
      });
      const message = `Incorrect API key provided: ${key}; gateway key gw-5e1d2b, virtual key vk-71c0`;
      rec().fail({ path: "/v1/chat/completions", status: 401, times: 1, body: { error: { message } } });
      const failed = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        { headers: { "X-Portkey-Virtual-Key": "vk-71c0" } },
      );
      await expect(failed).rejects.toThrow(key);
      const call = await onlyRecord(recorded);
      expect(call.error?.message).toBe(
        "401 Incorrect API key provided: [redacted]; gateway key [redacted], virtual key [redacted]",
      );
    });

    it("a refused call's recorded error has the token of an apiKey function scrubbed, as the request carried it", async () => {
      const token = "tok-91be4d";
      const { client, recorded } = setup({ client: { apiKey: async () => token } as never });
      const message = `Unknown credential ${token} refused`;
      rec().fail({ path: "/v1/chat/completions", status: 401, times: 1, body: { error: { message } } });
      const failed = client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
      });
      await expect(failed).rejects.toThrow(token);
      expect(rec().requests[0]?.headers.authorization).toBe(`Bearer ${token}`);
      const call = await onlyRecord(recorded);
      expect(call.error?.message).toBe("401 Unknown credential [redacted] refused");
    });

    it("an AzureOpenAI client with an azureADTokenProvider sends its token, and a refused call's record has it scrubbed", async () => {
      const AzureOpenAI = await major.loadAzure();
      const TOKEN = "azure-ad-token-value-1234";
      const recorded = memory();
      const client = wrapOpenAI(
        new AzureOpenAI({
          azureADTokenProvider: async () => TOKEN,
          endpoint: rec().url,
          apiVersion: "2024-10-21",
          maxRetries: 0,
        }),
        createTagalong({ destinations: [portkey(), recorded] }),
      );
      rec().fail({
        status: 401,
        body: { error: { message: `token ${TOKEN} is not valid`, type: "invalid_request_error" } },
      });
      await expect(
        client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
      ).rejects.toBeInstanceOf(OpenAIClass.AuthenticationError);
      expect(rec().requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      const call = await onlyRecord(recorded);
      expect(call.status).toBe("error");
      expect(call.error?.message).not.toContain(TOKEN);
    });

    it("the SDK's debug log of a recorded call shows no credential (the SDK redacts its own)", async () => {
      const lines: string[] = [];
      const logger = {
        debug: (...args: unknown[]) => lines.push(args.map((a) => inspect(a, { depth: null })).join(" ")),
        info() {},
        warn() {},
        error() {},
      };
      const { client, recorded, tagalong } = setup({ client: { logLevel: "debug", logger } });
      await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      await tagalong.flush();
      expect(recorded.calls).toHaveLength(1);
      expect(lines.some((line) => line.includes("sending request"))).toBe(true);
      expect(lines.filter((line) => line.includes(API_KEY))).toEqual([]);
    });

    it("a call that succeeds after retries is recorded once, as a success", async () => {
      const { client, recorded } = setup({ client: { maxRetries: 2 } });
      rec().fail({ path: "/v1/chat/completions", status: 503, times: 2, retryAfter: 0.001 });
      const data = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
      });
      const call = await onlyRecord(recorded);
      expect(rec().requests).toHaveLength(3);
      expect(call).toMatchObject({ status: "success", responseId: data.id });
    });

    it("a call aborted before its answer is recorded as aborted", async () => {
      const { client, recorded } = setup();
      const hang = rec().fail({ path: "/v1/chat/completions", hang: true });
      const abort = new AbortController();
      const call = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true },
        { signal: abort.signal },
      );
      await rec().waitFor((r) => r.requests.length === 1);
      abort.abort();
      await expect(call).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
      expect(await onlyRecord(recorded)).toMatchObject({ status: "aborted", stream: true, output: [] });
      hang.clear();
    });

    it("a stream the caller stops early is recorded once, as aborted, with what had arrived", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const stream = await longStream(client);
      let first: OpenAI.ChatCompletionChunk | undefined;
      for await (const chunk of stream) {
        first = chunk;
        break;
      }
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        status: "aborted",
        stream: true,
        responseId: first!.id,
        output: [{ role: "assistant", content: first!.choices[0]!.delta.content ?? "" }],
      });
      expect(call.output[0]!.content).not.toBe(replyText("a long answer please"));
    });

    it("a stream its controller aborts mid-way is recorded once, as aborted, with what had arrived", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const stream = await longStream(client);
      const seen: OpenAI.ChatCompletionChunk[] = [];
      // The SDK ends the loop quietly after an abort: no throw tells the caller it was cut short.
      for await (const chunk of stream) {
        seen.push(chunk);
        stream.controller.abort();
      }
      expect(seen).toHaveLength(1);
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "aborted",
        stream: true,
        responseId: seen[0]!.id,
        output: [{ role: "assistant", content: seen[0]!.choices[0]!.delta.content ?? "" }],
      });
    });

    it("a stream its signal's timeout stops mid-way is recorded once, as failed by the timeout, with what had arrived", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const stream = await client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "a long answer please" }], stream: true },
        { signal: AbortSignal.timeout(300) },
      );
      const seen: OpenAI.ChatCompletionChunk[] = [];
      // The SDK ends the loop quietly after its signal aborted, as after the caller's abort.
      for await (const chunk of stream) seen.push(chunk);
      expect(seen).toHaveLength(1);
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        status: "error",
        stream: true,
        error: { type: "TimeoutError" },
        responseId: seen[0]!.id,
        output: [{ role: "assistant", content: seen[0]!.choices[0]!.delta.content ?? "" }],
      });
    });

    it("a plain body cut short is recorded once: aborted by the caller's abort, failed by a signal's timeout", async () => {
      const { client, recorded } = setup({ client: { fetch: stallPlainBody() } });
      const abort = new AbortController();
      const aborted = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        { signal: abort.signal },
      );
      setTimeout(() => abort.abort(), 200);
      await expect(aborted).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject({ status: "aborted", output: [] });

      recorded.calls.length = 0;
      const timedOut = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        { signal: AbortSignal.timeout(300) },
      );
      await expect(timedOut).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "error",
        error: { type: "TimeoutError" },
        output: [],
      });
    });

    // openai 5 and 6 have no timeout over a body once its headers arrived.
    it.runIf(major.name === "openai 7")(
      "a plain body the SDK's own timeout cuts short, with no retry left, is recorded with the SDK's error",
      async () => {
        const { client, recorded } = setup({ client: { fetch: stallPlainBody(), timeout: 400 } });
        const call = client.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: "hi" }],
        });
        await expect(call).rejects.toBeInstanceOf(OpenAIClass.APIConnectionTimeoutError);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "error",
          error: { type: "APIConnectionTimeoutError", message: "Request timed out." },
        });
      },
    );

    it("a stream the caller leaves once the answer is whole (finish_reason, response.completed) is recorded as a success", async () => {
      const { client, recorded } = setup();
      const chat = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "finish" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of chat) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.choices[0]?.finish_reason) break;
      }
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        finishReason: "stop",
        output: [{ role: "assistant", content: text }],
      });

      recorded.calls.length = 0;
      const responses = await client.responses.create({ model: MODEL, input: "finish", stream: true });
      for await (const event of responses) if (event.type === "response.completed") break;
      expect(await onlyRecord(recorded)).toMatchObject({ status: "success" });
    });

    it("a tee()'d stream whose branches both stop early is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const stream = await longStream(client);
      const [left, right] = stream.tee();
      for await (const _ of left) break;
      expect(recorded.calls).toEqual([]);
      for await (const _ of right) break;
      expect((await onlyRecord(recorded)).status).toBe("aborted");
    });

    it("a stream helper or toReadableStream() stopped early is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const long = "a long answer please";
      const runner = client.chat.completions.stream({
        model: MODEL,
        messages: [{ role: "user", content: long }],
      });
      for await (const _ of runner) break;
      expect((await onlyRecord(recorded)).status).toBe("aborted");

      recorded.calls.length = 0;
      const responses = client.responses.stream({ model: MODEL, input: long });
      await expect(
        (async () => {
          for await (const _ of responses) responses.abort();
        })(),
      ).rejects.toThrow();
      expect((await onlyRecord(recorded)).status).toBe("aborted");

      recorded.calls.length = 0;
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: long }],
        stream: true,
      });
      const reader = stream.toReadableStream().getReader();
      await reader.read();
      await reader.cancel();
      expect((await onlyRecord(recorded)).status).toBe("aborted");
    });

    it("a stream helper's call the caller's signal timeout stops is recorded as failed by the timeout", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterEvents(1) } });
      const long = "a long answer please";
      const failedByTimeout = { status: "error", error: { type: "TimeoutError" } };
      const chat = client.chat.completions.stream(
        { model: MODEL, messages: [{ role: "user", content: long }] },
        { signal: AbortSignal.timeout(300) },
      );
      await expect(chat.finalChatCompletion()).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject(failedByTimeout);

      recorded.calls.length = 0;
      const responses = client.responses.stream(
        { model: MODEL, input: long },
        { signal: AbortSignal.timeout(300) },
      );
      await expect(responses.finalResponse()).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject(failedByTimeout);

      recorded.calls.length = 0;
      const hang = rec().fail({ path: "/v1/chat/completions", hang: true });
      const tools = client.chat.completions.runTools(
        {
          model: MODEL,
          messages: [{ role: "user", content: "Weather in Paris?" }],
          tools: [runnableWeather],
        },
        { signal: AbortSignal.timeout(300) },
      );
      await expect(tools.finalContent()).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject(failedByTimeout);
      hang.clear();
    });

    it("an error event in a stream is recorded once, as an error with the event's type and message", async () => {
      // The recorder's first event, then the error event a provider sends when it fails mid-answer.
      const failMidStream: typeof fetch = async (url, init) => {
        const response = await fetch(url, init);
        const text = await response.text();
        const error = { error: { type: "server_error", message: "the model went away" } };
        const body = `${text.slice(0, text.indexOf("\n\n") + 2)}data: ${JSON.stringify(error)}\n\n`;
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const { client, recorded } = setup({ client: { fetch: failMidStream } });
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "fail please" }],
        stream: true,
      });
      await expect(streamText(stream)).rejects.toThrow("the model went away");
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "error",
        stream: true,
        error: { type: "server_error", message: "the model went away" },
      });
    });

    it("a Responses stream's error event is recorded as an error with the event's code and message", async () => {
      // The Responses API's `error` event is typed "error" itself; its `code` says what went wrong.
      const failMidStream: typeof fetch = async (url, init) => {
        const response = await fetch(url, init);
        const text = await response.text();
        const event = { type: "error", code: "server_error", message: "the model went away", param: null };
        const body = `${text.slice(0, text.indexOf("\n\n") + 2)}event: error\ndata: ${JSON.stringify(event)}\n\n`;
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const { client, recorded } = setup({ client: { fetch: failMidStream } });
      // openai 5 and 6 hand the event to the caller; openai 7 throws it.
      await streamText(
        await client.responses.create({ model: MODEL, input: "fail please", stream: true }),
      ).catch(() => {});
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "error",
        stream: true,
        error: { type: "server_error", message: "the model went away" },
      });
    });

    it("the SDK reads the body as fetched: the caller holds the fetch's own response and body, streamed or plain", async () => {
      const fetched: Array<{ response: Response; body: ReadableStream | null }> = [];
      const { client, recorded } = setup({
        client: {
          fetch: async (url, init) => {
            const response = await fetch(url, init);
            fetched.push({ response, body: response.body });
            return response;
          },
        },
      });
      const { data, response } = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "own body" }], stream: true })
        .withResponse();
      expect(response).toBe(fetched[0]!.response);
      expect(response).toBeInstanceOf(Response);
      expect(response.body).toBe(fetched[0]!.body);
      const readable = data.toReadableStream();
      const chunks = (await new Response(readable).text())
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OpenAI.ChatCompletionChunk);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
      expect(text).toBe(replyText("own body"));
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        stream: true,
        responseId: chunks[0]!.id,
        output: [{ role: "assistant", content: text }],
      });

      // A plain call too: the caller's response is the fetch's, recorded from the value the SDK parsed.
      recorded.calls.length = 0;
      const plain = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "own plain" }] })
        .withResponse();
      expect(plain.response).toBe(fetched[1]!.response);
      expect(plain.response).toBeInstanceOf(Response);
      expect(plain.response.headers.get("content-type")).toContain("application/json");
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        stream: false,
        responseId: plain.data.id,
        output: [{ role: "assistant", content: replyText("own plain") }],
      });
    });

    it("a streamed .asResponse() the caller reads, or a frozen streamed answer, is recorded from its bytes", async () => {
      const { client, recorded } = setup();
      const raw = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "raw stream" }], stream: true })
        .asResponse();
      const sse = await raw.text();
      expect(sse).toContain("data: [DONE]");
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        stream: true,
        output: [{ role: "assistant", content: replyText("raw stream") }],
      });

      const frozen = setup({ client: { fetch: async (url, init) => Object.freeze(await fetch(url, init)) } });
      const stream = await frozen.client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "frozen stream" }],
        stream: true,
      });
      expect(await streamText(stream)).toBe(replyText("frozen stream"));
      expect(await onlyRecord(frozen.recorded)).toMatchObject({
        status: "success",
        stream: true,
        output: [{ role: "assistant", content: replyText("frozen stream") }],
      });
      expect(frozen.errors).toEqual([]);
    });

    it("tee() and .asResponse() leave the caller's data whole and record once", async () => {
      const { client, recorded } = setup();
      const [left, right] = (
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: "tee" }],
          stream: true,
        })
      ).tee();
      expect(await streamText(left)).toBe(replyText("tee"));
      expect(await streamText(right)).toBe(replyText("tee"));
      expect((await onlyRecord(recorded)).output).toEqual([{ role: "assistant", content: replyText("tee") }]);

      recorded.calls.length = 0;
      const raw = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "raw" }] })
        .asResponse();
      const body = await raw.json();
      expect(body.choices[0].message.content).toBe(replyText("raw"));
      expect((await onlyRecord(recorded)).responseId).toBe(body.id);
    });

    it("an .asResponse() body read as bytes or as a stream is recorded once, as it was read", async () => {
      const { client, recorded } = setup();
      const raw = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "bytes" }] })
        .asResponse();
      const parsed = JSON.parse(new TextDecoder().decode(await raw.arrayBuffer()));
      expect((await onlyRecord(recorded)).output).toEqual([
        { role: "assistant", content: parsed.choices[0].message.content },
      ]);

      recorded.calls.length = 0;
      const streamed = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "piped" }] })
        .asResponse();
      const text = await new Response(streamed.body).text();
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({ status: "success", responseId: JSON.parse(text).id });
      expect(call.output[0]!.content).toBe(replyText("piped"));
    });

    it("an .asResponse() the caller clones keeps both bodies readable, and is recorded once from the original", async () => {
      const { client, recorded, errors } = setup();
      for (const stream of [false, true]) {
        recorded.calls.length = 0;
        const raw = await client.chat.completions
          .create({ model: MODEL, messages: [{ role: "user", content: "cloned" }], stream })
          .asResponse();
        const copy = raw.clone();
        const [original, cloned] = await Promise.all([new Response(raw.body).text(), copy.text()]);
        expect(original).toBe(cloned);
        expect(original).toContain("cloned");
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          stream,
          output: [{ role: "assistant", content: replyText("cloned") }],
        });
      }
      expect(errors).toEqual([]);
    });

    it("an answer a custom fetch froze is recorded all the same", async () => {
      const { client, recorded, errors } = setup({
        client: { fetch: async (url, init) => Object.freeze(await fetch(url, init)) },
      });
      const data = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "frozen" }],
      });
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "success",
        responseId: data.id,
        output: [{ role: "assistant", content: replyText("frozen") }],
      });
      expect(errors).toEqual([]);
    });

    it("the record is what the call carried: changing its answer or request afterwards changes nothing", async () => {
      const { client, recorded } = setup();
      const params = {
        model: MODEL,
        temperature: 0.2,
        messages: [{ role: "user" as const, content: "keep" }],
      };
      const data = await client.chat.completions.create(params);
      data.choices[0]!.message.content = "changed by the caller";
      data.model = "changed";
      params.messages[0]!.content = "changed too";
      params.temperature = 1;
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({
        model: MODEL,
        input: [{ role: "user", content: "keep" }],
        output: [{ role: "assistant", content: replyText("keep") }],
        parameters: { temperature: 0.2 },
      });
    });

    it("a plain call's record is built off the caller's path: after its await resumed, and before flush() resolves", async () => {
      const { client, recorded, tagalong } = setup();
      await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "later" }] });
      // The caller has its answer; the call is handed over in a later task.
      expect(recorded.calls).toHaveLength(0);
      await tagalong.flush();
      expect(recorded.calls).toHaveLength(1);
      expect(recorded.calls[0]).toMatchObject({
        input: [{ role: "user", content: "later" }],
        output: [{ role: "assistant", content: replyText("later") }],
      });
      // The record reads the request as sent, without the body fields Tagalong added (Requesty's).
      expect(recorded.calls[0]!.parameters).toBeUndefined();
    });

    it("records keep coming when every answer arrives within microtasks (no later task ever runs)", async () => {
      const answer = JSON.stringify({
        id: "chatcmpl-mem",
        object: "chat.completion",
        created: 1,
        model: MODEL,
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      });
      const { client, recorded, tagalong } = setup({
        client: {
          fetch: async () => new Response(answer, { headers: { "content-type": "application/json" } }),
        },
      });
      for (let i = 0; i < 200; i++) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: `m${i}` }],
        });
      }
      // Held builds are bounded: most calls were handed over while the loop never yielded to a task.
      expect(recorded.calls.length).toBeGreaterThanOrEqual(150);
      await tagalong.flush();
      expect(recorded.calls).toHaveLength(200);
      expect(recorded.calls.map((c) => c.input[0]!.content)).toEqual(
        Array.from({ length: 200 }, (_, i) => `m${i}`),
      );
    });

    it("a caller's body field of the same name as Tagalong's is recorded as sent", async () => {
      const { client, recorded, tagalong } = setup();
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "own field" }],
        requesty: { auto_cache: true },
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
      await tagalong.flush();
      expect(recorded.calls[0]!.parameters?.other?.requesty).toMatchObject({ auto_cache: true });
    });

    it("a plain answer that is not JSON, or is cut short, is recorded once as an error", async () => {
      const { client, recorded } = setup({
        client: {
          fetch: async (url, init) => {
            const answer = await fetch(url, init);
            const bytes = new Uint8Array(await answer.arrayBuffer());
            const half = bytes.subarray(0, bytes.length >> 1);
            const cut = JSON.stringify(init?.body ?? "").includes("cut short");
            const body = new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(half);
                if (cut) controller.error(new TypeError("terminated"));
                else controller.close();
              },
            });
            return new Response(body, { status: answer.status, headers: answer.headers });
          },
        },
      });
      const notJson = client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "half" }],
      });
      await expect(notJson).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "error",
        error: { type: "SyntaxError", message: "the response body is not JSON" },
        output: [],
      });

      recorded.calls.length = 0;
      const cutShort = client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "cut short" }],
      });
      await expect(cutShort).rejects.toThrow();
      expect(await onlyRecord(recorded)).toMatchObject({
        status: "error",
        error: { type: "TypeError", message: "terminated" },
        output: [],
      });
    });

    it("a destination that fails while recording never reaches the caller", async () => {
      const broken: Destination = {
        name: "broken",
        record() {
          throw new Error("destination down");
        },
      };
      const { client, recorded, errors } = setup({ destinations: [broken] });
      const data = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "hi" }],
      });
      expect(data.choices[0]!.message.content).toBe(replyText("hi"));
      await onlyRecord(recorded);
      expect(errors.map((e) => (e as Error).message)).toEqual(["destination down"]);
    });

    /** A wrapped client whose calls are recorded to the loopback PromptLayer. */
    const withPromptLayer = () =>
      setup({
        destinations: [
          promptLayer({ apiKey: PL_KEY, baseURL: rec().promptLayerURL, backoffMs: 5, timeoutMs: 2000 }),
        ],
      });

    it("end to end: failed and aborted calls reach PromptLayer, in the error categories it takes", async () => {
      const { client, tagalong, errors } = withPromptLayer();
      const ask = (content: string, options?: { signal: AbortSignal }) =>
        client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }] }, options);
      const limited = rec().fail({ path: "/v1/chat/completions", status: 429, times: 1 });
      await expect(ask("too fast")).rejects.toBeInstanceOf(OpenAIClass.RateLimitError);
      limited.clear();
      const hang = rec().fail({ path: "/v1/chat/completions", hang: true });
      const abort = new AbortController();
      const aborted = ask("never mind", { signal: abort.signal });
      await rec().waitFor((r) => r.requests.length === 2);
      abort.abort();
      await expect(aborted).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
      hang.clear();
      await tagalong.flush();
      expect(errors).toEqual([]);
      const logs = rec().promptLayer.logs();
      expect(logs.map((log) => [log.body.status, log.body.error_type])).toEqual([
        ["ERROR", "PROVIDER_RATE_LIMIT"],
        ["WARNING", undefined],
      ]);
      expect(logs[0]!.body.error_message).toMatch(/^RateLimitError: 429 /);
      await tagalong.shutdown();
    });

    it("end to end: a gateway's timeout (408, 504) reaches PromptLayer as PROVIDER_TIMEOUT, by its HTTP status", async () => {
      const { client, tagalong, errors } = withPromptLayer();
      for (const status of [408, 504]) {
        const rule = rec().fail({ path: "/v1/chat/completions", status });
        await expect(
          client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
        ).rejects.toBeInstanceOf(OpenAIClass.APIError);
        rule.clear();
      }
      await tagalong.flush();
      expect(errors).toEqual([]);
      expect(
        rec()
          .promptLayer.logs()
          .map((log) => log.body.error_type),
      ).toEqual(["PROVIDER_TIMEOUT", "PROVIDER_TIMEOUT"]);
      await tagalong.shutdown();
    });

    it("end to end: a legacy completion reaches PromptLayer as a completion; an embedding is left out of it, warned once and counted", async () => {
      const warnings: string[] = [];
      const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
      const recorded = memory();
      const tagalong = createTagalong({
        destinations: [
          recorded,
          promptLayer({ apiKey: PL_KEY, baseURL: rec().promptLayerURL, backoffMs: 5, timeoutMs: 2000 }),
        ],
        logger,
      });
      const client = wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 }),
        tagalong,
      );
      const plain = await client.completions.create({ model: MODEL, prompt: "Say hi", max_tokens: 5 });
      await client.embeddings.create({ model: MODEL, input: ["one", "two"] });
      await client.embeddings.create({ model: MODEL, input: "three" });
      await tagalong.flush();
      const logs = rec().promptLayer.logs();
      expect(logs).toHaveLength(1);
      expect(logs[0]!.body).toMatchObject({
        input: { type: "completion", content: [{ type: "text", text: "Say hi" }] },
        output: { type: "completion", content: [{ type: "text", text: plain.choices[0]!.text }] },
        function_name: "openai.completions.create",
        status: "SUCCESS",
      });
      expect(logs[0]!.body.api_type).toBeUndefined();
      // The other destinations keep every call.
      expect(recorded.calls.map((c) => c.apiType)).toEqual(["completions", "embeddings", "embeddings"]);
      expect(warnings.filter((w) => /embeddings/.test(w))).toHaveLength(1);
      expect(tagalong.stats().promptlayer).toMatchObject({ sent: 1, skipped: 2 });
      await tagalong.shutdown();
    });

    it("end to end: wrapped calls reach PromptLayer with their metadata and prompt", async () => {
      const tagalong = createTagalong({
        destinations: [
          portkey(),
          requesty(),
          promptLayer({ apiKey: PL_KEY, baseURL: rec().promptLayerURL, backoffMs: 5, timeoutMs: 2000 }),
        ],
        metadata: { environment: "test" },
      });
      const client = wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 }),
        tagalong,
      );
      const metadata: Metadata = {
        user: "u_pl",
        session: "s_pl",
        tags: ["checkout"],
        prompt: { name: "greeting", version: 3, variables: { name: "Ann" } },
      };
      await withMetadata(metadata, async () => {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: "Hello Ann" }],
        });
        await streamText(
          await client.chat.completions.create({
            model: MODEL,
            messages: [{ role: "user", content: "Hello again" }],
            stream: true,
          }),
        );
        await client.responses.create({ model: MODEL, input: "Bye Ann" });
      });
      await tagalong.flush();
      const logs = rec().promptLayer.logs();
      expect(logs).toHaveLength(3);
      const byReply = new Map(logs.map((log) => [log.body.output.messages[0].content[0].text, log]));
      for (const text of ["Hello Ann", "Hello again", "Bye Ann"]) {
        const log = byReply.get(replyText(text))!;
        expect(log).toBeDefined();
        expect(log.body).toMatchObject({
          provider: "openai",
          model: MODEL,
          tags: ["checkout"],
          status: "SUCCESS",
        });
        expect(log.body.input.messages).toEqual([{ role: "user", content: [{ type: "text", text }] }]);
        expect(log.metadata).toMatchObject({ user_id: "u_pl", session_id: "s_pl", environment: "test" });
        expect(log.prompt).toMatchObject({
          prompt_name: "greeting",
          version: 3,
          prompt_input_variables: { name: "Ann" },
        });
        expect(log.violations).toEqual([]);
      }
      expect(byReply.get(replyText("Bye Ann"))!.body.api_type).toBe("responses");
      // In flight, the same calls carried the metadata to Portkey and Requesty.
      for (const call of rec().calls())
        expect(call.portkey.metadata).toMatchObject({ _user: "u_pl", _prompt: "greeting" });
      await tagalong.shutdown();
    });
  });
});
