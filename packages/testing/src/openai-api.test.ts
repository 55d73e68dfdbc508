import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRecorder } from "./recorder";
import type { Recorder } from "./types";

let rec: Recorder;
let client: OpenAI;

beforeAll(async () => {
  rec = await createRecorder();
  client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
});
afterAll(() => rec.close());
beforeEach(() => rec.reset());

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer" } },
      required: ["city", "days"],
      additionalProperties: false,
    },
  },
};

describe("chat completions", () => {
  it("answers plain with deterministic id, text, usage and x-request-id", async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: "gpt-test", messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    expect(data.id).toBe("chatcmpl-rec-1");
    expect(data.choices[0]!.message.content).toBe("echo: hello there");
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    expect(response.headers.get("x-request-id")).toBe("req_rec_1");
    expect(request_id).toBe("req_rec_1");
    const [call] = rec.calls();
    expect(call).toMatchObject({
      endpoint: "chat.completions",
      path: "/v1/chat/completions",
      model: "gpt-test",
      stream: false,
      status: 200,
      responseId: "chatcmpl-rec-1",
      requestId: "req_rec_1",
      violations: [],
    });
    expect(call!.body.messages[0].content).toBe("hello there");
    expect(call!.headers.authorization).toBe("Bearer sk-test");
  });

  it("streams deltas that join to the reply, then a usage chunk when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "stream me please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    let deltas = 0;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) {
        text += piece;
        deltas++;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("echo: stream me please");
    expect(deltas).toBeGreaterThan(1);
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 });
    expect(rec.calls()[0]).toMatchObject({ stream: true, status: 200 });
  });

  it("works with the .stream() helper and finalChatCompletion()", async () => {
    const runner = client.chat.completions.stream({
      model: "gpt-test",
      messages: [{ role: "user", content: "helper" }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe("echo: helper");
    expect(final.id).toBe("chatcmpl-rec-1");
  });

  it("calls the first tool until a tool result follows the last user message", async () => {
    const first = await client.chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "weather?" }],
      tools: [weather],
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const toolCall = choice.message.tool_calls![0]!;
    expect(toolCall.type === "function" && toolCall.function.name).toBe("get_weather");
    expect(toolCall.type === "function" && JSON.parse(toolCall.function.arguments)).toEqual({
      city: "x",
      days: 1,
    });

    const second = await client.chat.completions.create({
      model: "gpt-test",
      messages: [
        { role: "user", content: "weather?" },
        choice.message,
        { role: "tool", tool_call_id: toolCall.id, content: "sunny" },
      ],
      tools: [weather],
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toBe("echo: weather?");
  });

  it("streams a tool call the SDK can reassemble", async () => {
    const runner = client.chat.completions.stream({
      model: "gpt-test",
      messages: [{ role: "user", content: "weather?" }],
      tools: [weather],
    });
    const final = await runner.finalChatCompletion();
    const toolCall = final.choices[0]!.message.tool_calls![0]!;
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(toolCall.type === "function" && JSON.parse(toolCall.function.arguments)).toEqual({
      city: "x",
      days: 1,
    });
  });

  it("runs runTools() to completion", async () => {
    let ran = 0;
    const runner = client.chat.completions.runTools({
      model: "gpt-test",
      messages: [{ role: "user", content: "weather?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "the weather",
            parameters: weather.function.parameters,
            function: (args: unknown) => {
              ran++;
              return JSON.stringify(args);
            },
            parse: JSON.parse,
          },
        },
      ],
    });
    expect(await runner.finalContent()).toBe("echo: weather?");
    expect(ran).toBe(1);
    expect(rec.calls()).toHaveLength(2);
  });

  it("parse() with a json_schema response_format returns a filled object", async () => {
    const completion = await client.chat.completions.parse({
      model: "gpt-test",
      messages: [{ role: "user", content: "give me a person" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "person",
          strict: true,
          schema: {
            type: "object",
            properties: {
              name: { type: "string" },
              age: { type: "number" },
              admin: { type: "boolean" },
              pets: { type: "array", items: { type: "string" } },
              role: { type: "string", enum: ["owner", "guest"] },
            },
            required: ["name", "age", "admin", "pets", "role"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(completion.choices[0]!.message.parsed).toEqual({
      name: "x",
      age: 1,
      admin: true,
      pets: [],
      role: "owner",
    });
  });

  it("answers 400 with OpenAI's error shape for a body without messages", async () => {
    const error = await client.chat.completions.create({ model: "gpt-test" } as any).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain("messages");
  });
});

describe("responses", () => {
  it("answers plain with output_text and usage", async () => {
    const response = await client.responses.create({ model: "gpt-test", input: "hi responses" });
    expect(response.id).toBe("resp_rec1");
    expect(response.output_text).toBe("echo: hi responses");
    expect(response.usage).toMatchObject({ input_tokens: 3, output_tokens: 5, total_tokens: 8 });
    expect(response._request_id).toBe("req_rec_1");
  });

  it("streams the real event sequence", async () => {
    const stream = await client.responses.create({
      model: "gpt-test",
      input: [{ role: "user", content: "stream it" }],
      stream: true,
    });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    expect(text).toBe("echo: stream it");
    const unique = types.filter((t, i) => t !== types[i - 1]);
    expect(unique).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("works with the .stream() helper and finalResponse()", async () => {
    const stream = client.responses.stream({ model: "gpt-test", input: "final please" });
    let deltas = "";
    stream.on("response.output_text.delta", (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe("echo: final please");
    expect(deltas).toBe("echo: final please");
    expect(final.usage?.output_tokens).toBe(5);
    expect(rec.calls()[0]).toMatchObject({ endpoint: "responses", stream: true });
  });

  it("calls a function tool, then answers text after its output", async () => {
    const tools = [
      {
        type: "function" as const,
        name: "lookup",
        strict: true,
        parameters: {
          type: "object",
          properties: { q: { type: "string" } },
          required: ["q"],
          additionalProperties: false,
        },
      },
    ];
    const first = await client.responses.create({ model: "gpt-test", input: "look it up", tools });
    const call = first.output[0]!;
    expect(call.type).toBe("function_call");
    if (call.type !== "function_call") throw new Error("expected a function call");
    expect(call.name).toBe("lookup");
    expect(JSON.parse(call.arguments)).toEqual({ q: "x" });
    const second = await client.responses.create({
      model: "gpt-test",
      input: [
        { role: "user", content: "look it up" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "found" },
      ],
      tools,
    });
    expect(second.output_text).toBe("echo: look it up");
  });

  it("streams a function call the helper reassembles", async () => {
    const stream = client.responses.stream({
      model: "gpt-test",
      input: "look it up",
      tools: [
        { type: "function", name: "lookup", strict: false, parameters: { type: "object", properties: {} } },
      ],
    });
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({ type: "function_call", name: "lookup", arguments: "{}" });
  });

  it("parse() with a json_schema text format", async () => {
    const response = await client.responses.parse({
      model: "gpt-test",
      input: "structured",
      text: {
        format: {
          type: "json_schema",
          name: "thing",
          strict: true,
          schema: {
            type: "object",
            properties: { id: { type: "integer" }, label: { type: "string" } },
            required: ["id", "label"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(response.output_parsed).toEqual({ id: 1, label: "x" });
  });
});

describe("embeddings and legacy completions", () => {
  it("answers embeddings as floats and as the SDK's default base64", async () => {
    const floats = await client.embeddings.create({
      model: "emb-test",
      input: ["a", "b"],
      encoding_format: "float",
    });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]!.embedding).toHaveLength(8);
    const decoded = await client.embeddings.create({ model: "emb-test", input: ["a", "b"] });
    expect(rec.calls()[1]!.body.encoding_format).toBe("base64");
    expect(decoded.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    expect(decoded.data[1]!.embedding).not.toEqual(decoded.data[0]!.embedding);
    const sized = await client.embeddings.create({ model: "emb-test", input: "a", dimensions: 3 });
    expect(sized.data[0]!.embedding).toHaveLength(3);
  });

  it("answers legacy completions plain and streamed", async () => {
    const plain = await client.completions.create({ model: "legacy", prompt: "old school" });
    expect(plain.id).toBe("cmpl-rec-1");
    expect(plain.choices[0]!.text).toBe("echo: old school");
    const stream = await client.completions.create({ model: "legacy", prompt: "old school", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe("echo: old school");
  });
});

describe("concurrency", () => {
  it("gives every concurrent call its own id, and the recorded call matches what its client sent", async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.chat.completions.create({ model: "m", messages: [{ role: "user", content: `n${i}` }] }),
      ),
    );
    expect(new Set(answers.map((a) => a.id)).size).toBe(40);
    for (const answer of answers) {
      const [call] = rec.callsWhere((c) => c.responseId === answer.id);
      expect(`echo: ${call!.body.messages[0].content}`).toBe(answer.choices[0]!.message.content);
    }
  });
});
