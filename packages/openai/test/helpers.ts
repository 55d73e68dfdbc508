// Shared by the suites: the loopback recorder's lifecycle, an in-memory after-the-call destination,
// and one entry per request path of the SDK, so every suite runs every path.
import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTagalong, type Destination } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, fillSchema, type ModelEndpoint, type Recorder, replyText } from "@tagalong/testing";
import type OpenAI from "openai";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { type OpenAIRequestOptions, wrapOpenAI } from "../src/index";
import type { ClientClass } from "./sdk-majors";

export const MODEL = "gpt-test";

/** A tool `runTools()` runs: the weather in a city, by the arguments the model gave. */
export const runnableWeather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    function: (args: { city: string }) => `sunny in ${args.city}`,
    parse: JSON.parse,
  },
};
export const API_KEY = "sk-test-tagalong-openai";

/** One recorder per test file; after each test: no vendor rule was broken on the wire, and it is reset. */
export function useRecorder(options: Parameters<typeof createRecorder>[0] = {}): { readonly rec: Recorder } {
  const holder = {} as { rec: Recorder };
  beforeAll(async () => {
    holder.rec = await createRecorder(options);
  });
  afterEach(async () => {
    expect(holder.rec.violations()).toEqual([]);
    await holder.rec.reset();
  });
  afterAll(async () => {
    await holder.rec.close();
  });
  return holder;
}

/** One loopback server per test file, answering with `handler`; `baseURL` is its `/v1`, set once it listens. */
export function useLoopbackServer(handler: RequestListener): { readonly baseURL: string } {
  const holder = { baseURL: "" };
  let server: Server | undefined;
  beforeAll(async () => {
    server = createServer(handler);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    holder.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => {
    server?.close();
  });
  return holder;
}

/** An after-the-call destination that keeps what it is given. */
export function memory(): Destination & { calls: CompletedCall[] } {
  const calls: CompletedCall[] = [];
  return {
    name: "memory",
    calls,
    record: (call) => {
      calls.push(call);
    },
  };
}

/**
 * A client of `OpenAIClass` (no retries) at `baseURL`, wrapped with a Tagalong that records every call
 * in `recorded` (before `destinations`) and keeps what it reports in `errors`.
 */
export function recordingClient(
  OpenAIClass: ClientClass,
  baseURL: string,
  options: { destinations?: Destination[]; client?: ConstructorParameters<ClientClass>[0] } = {},
) {
  const recorded = memory();
  const errors: unknown[] = [];
  const tagalong = createTagalong({
    destinations: [recorded, ...(options.destinations ?? [])],
    onError: (e) => errors.push(e),
  });
  const client = wrapOpenAI(
    new OpenAIClass({ apiKey: API_KEY, baseURL, maxRetries: 0, ...options.client }),
    tagalong,
  );
  return { client, recorded, errors, tagalong };
}

/**
 * A fetch that passes a streamed answer's first `events` events on and holds the rest back until the
 * request is aborted, like a slow network: the recorder still answers, the client just has not seen it
 * all yet. A plain answer passes as it is.
 */
export function stallAfterEvents(events: number): typeof fetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.headers.get("content-type")?.includes("event-stream")) return response;
    const reader = response.body!.getReader();
    const signal = init?.signal;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const decoder = new TextDecoder();
        let text = "";
        while (text.split("\n\n").length <= events) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
        const passed = text.split("\n\n").slice(0, events).join("\n\n");
        controller.enqueue(new TextEncoder().encode(`${passed}\n\n`));
        const fail = () => {
          controller.error(signal?.reason ?? new DOMException("This operation was aborted", "AbortError"));
          reader.cancel().catch(() => {});
        };
        if (signal?.aborted) fail();
        else signal?.addEventListener("abort", fail, { once: true });
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/** Reads a stream of the SDK to its end and joins its text deltas (chat, responses or completions events). */
export async function streamText(stream: AsyncIterable<any>): Promise<string> {
  let text = "";
  for await (const event of stream) {
    if (typeof event?.choices?.[0]?.delta?.content === "string") text += event.choices[0].delta.content;
    else if (typeof event?.choices?.[0]?.text === "string") text += event.choices[0].text;
    else if (event?.type === "response.output_text.delta") text += event.delta;
  }
  return text;
}

const SCHEMA = {
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
};

/** One way to call the API through the SDK: what it hits on the wire and what it should answer. */
export interface RequestPath {
  name: string;
  endpoint: ModelEndpoint;
  stream: boolean;
  /** Makes the call with `text` as the user's input and returns what the caller got. */
  run(client: OpenAI, text: string, options?: OpenAIRequestOptions): Promise<unknown>;
  /** What `run` returns, computed the way the recorder answers. */
  expected(text: string): unknown;
  /**
   * The SDK's stream helpers (`.stream()`) report any error that is not the SDK's own as an
   * `OpenAIError` whose `cause` is the original (AbstractChatCompletionRunner / ResponseStream).
   */
  helperWrapsErrors?: boolean;
}

/** The text of a Responses API response's output messages (openai 5's `finalResponse()` has no `output_text`). */
function outputText(response: { output: Array<any> }): string {
  return response.output
    .filter((item) => item.type === "message")
    .flatMap((item) => item.content)
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("");
}

export const REQUEST_PATHS: readonly RequestPath[] = [
  {
    name: "chat.completions.create",
    endpoint: "chat.completions",
    stream: false,
    run: async (client, text, options) =>
      (
        await client.chat.completions.create(
          { model: MODEL, messages: [{ role: "user", content: text }] },
          options,
        )
      ).choices[0]!.message.content,
    expected: replyText,
  },
  {
    name: "chat.completions.create with stream: true",
    endpoint: "chat.completions",
    stream: true,
    run: async (client, text, options) =>
      streamText(
        await client.chat.completions.create(
          { model: MODEL, messages: [{ role: "user", content: text }], stream: true },
          options,
        ),
      ),
    expected: replyText,
  },
  {
    name: "chat.completions.stream()",
    endpoint: "chat.completions",
    stream: true,
    run: async (client, text, options) => {
      const stream = client.chat.completions.stream(
        { model: MODEL, messages: [{ role: "user", content: text }] },
        options,
      );
      return (await stream.finalChatCompletion()).choices[0]!.message.content;
    },
    expected: replyText,
    helperWrapsErrors: true,
  },
  {
    name: "chat.completions.parse()",
    endpoint: "chat.completions",
    stream: false,
    run: async (client, text, options) =>
      (
        await client.chat.completions.parse(
          {
            model: MODEL,
            messages: [{ role: "user", content: text }],
            response_format: {
              type: "json_schema",
              json_schema: { name: "answer", schema: SCHEMA, strict: true },
            },
          },
          options,
        )
      ).choices[0]!.message.parsed,
    expected: () => fillSchema(SCHEMA),
  },
  {
    name: "responses.create",
    endpoint: "responses",
    stream: false,
    run: async (client, text, options) =>
      (await client.responses.create({ model: MODEL, input: text }, options)).output_text,
    expected: replyText,
  },
  {
    name: "responses.create with stream: true",
    endpoint: "responses",
    stream: true,
    run: async (client, text, options) =>
      streamText(await client.responses.create({ model: MODEL, input: text, stream: true }, options)),
    expected: replyText,
  },
  {
    name: "responses.stream()",
    endpoint: "responses",
    stream: true,
    run: async (client, text, options) =>
      outputText(await client.responses.stream({ model: MODEL, input: text }, options).finalResponse()),
    expected: replyText,
    helperWrapsErrors: true,
  },
  {
    name: "responses.parse()",
    endpoint: "responses",
    stream: false,
    run: async (client, text, options) =>
      (
        await client.responses.parse(
          {
            model: MODEL,
            input: text,
            text: { format: { type: "json_schema", name: "answer", schema: SCHEMA, strict: true } },
          },
          options,
        )
      ).output_parsed,
    expected: () => fillSchema(SCHEMA),
  },
  {
    name: "embeddings.create",
    endpoint: "embeddings",
    stream: false,
    run: async (client, text, options) => {
      const { data } = await client.embeddings.create({ model: MODEL, input: text }, options);
      return data.length === 1 && data[0]!.embedding.every((x) => typeof x === "number");
    },
    expected: () => true,
  },
  {
    name: "completions.create",
    endpoint: "completions",
    stream: false,
    run: async (client, text, options) =>
      (await client.completions.create({ model: MODEL, prompt: text }, options)).choices[0]!.text,
    expected: replyText,
  },
  {
    name: "completions.create with stream: true",
    endpoint: "completions",
    stream: true,
    run: async (client, text, options) =>
      streamText(await client.completions.create({ model: MODEL, prompt: text, stream: true }, options)),
    expected: replyText,
  },
];

/** Deep-freezes a value, so any write to it by the code under test throws (module code is strict). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
