// An upstream that refuses a call often echoes the credentials it was given ("Incorrect API key
// provided: ..."). Through each adapter on its real SDK, the call's own API key and gateway key, in
// shapes no pattern knows, must not reach PromptLayer's error_message or the OpenTelemetry span status,
// while the rest of the message does.
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import { createTagalong, openTelemetry, promptLayer } from "@tagalong/core";
import { withTagalong } from "@tagalong/langchain";
import { wrapOpenAI } from "@tagalong/openai";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { generateText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const MODEL = "gpt-test";
const PL_KEY = "pl_test_key_scrub_0123456789";
// Shapes no credential pattern recognises: only knowing the call's own headers catches them.
const API_KEY = "local-7f3a9c";
const GATEWAY_KEY = "gw-5e1d2b";
const GATEWAY = { "x-portkey-api-key": GATEWAY_KEY };
const REST = "You can find your API key in your server's settings.";

let rec: Recorder;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tagalong = () =>
  createTagalong({
    destinations: [
      promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL, backoffMs: 5, timeoutMs: 2000 }),
      openTelemetry({
        trace: { getActiveSpan: trace.getActiveSpan, getTracer: (n, v) => provider.getTracer(n, v) },
      }),
    ],
  });

beforeAll(async () => {
  rec = await createRecorder({ promptLayerApiKey: PL_KEY });
});
afterAll(async () => {
  await rec.close();
  await provider.shutdown();
});
beforeEach(async () => {
  await rec.reset();
  exporter.reset();
  // The upstream refuses the key and echoes it, and the gateway key, as servers do.
  rec.fail({
    path: "/v1/chat/completions",
    status: 401,
    body: {
      error: {
        message: `Incorrect API key provided: ${API_KEY} (gateway key ${GATEWAY_KEY}). ${REST}`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    },
  });
});

/** What left the process about the failed call: PromptLayer's error_message and the span's status. */
async function forwardedMessages(flush: () => Promise<unknown>): Promise<string[]> {
  await flush();
  const logs = rec.promptLayer.logs();
  expect(logs).toHaveLength(1);
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  return [String(logs[0]!.body.error_message), String(spans[0]!.status.message)];
}

function expectScrubbed(messages: string[]): void {
  for (const message of messages) {
    expect(message).toContain("Incorrect API key provided: ");
    expect(message).toContain(REST);
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain(GATEWAY_KEY);
  }
}

describe("the call's own credentials never leave in a forwarded error message", () => {
  it("@tagalong/openai: the client's apiKey and its default headers", async () => {
    const t = tagalong();
    const client = wrapOpenAI(
      new OpenAI({ apiKey: API_KEY, baseURL: rec.openaiBaseURL, maxRetries: 0, defaultHeaders: GATEWAY }),
      t,
    );
    await expect(
      client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toThrow(API_KEY);
    expectScrubbed(await forwardedMessages(() => t.flush()));
  });

  it("@tagalong/ai-sdk: the headers of the request tagalongFetch sent (the provider's apiKey and headers)", async () => {
    const t = tagalong();
    const openai = createOpenAI({
      apiKey: API_KEY,
      baseURL: rec.openaiBaseURL,
      headers: GATEWAY,
      fetch: tagalongFetch(),
    });
    const model = wrapLanguageModel({ model: openai.chat(MODEL), middleware: tagalongMiddleware(t) });
    await expect(generateText({ model, prompt: "hi", maxRetries: 0 })).rejects.toThrow(API_KEY);
    expectScrubbed(await forwardedMessages(() => t.flush()));
  });

  it("@tagalong/ai-sdk without tagalongFetch: the call's own headers", async () => {
    const t = tagalong();
    const openai = createOpenAI({ apiKey: "unused", baseURL: rec.openaiBaseURL });
    const model = wrapLanguageModel({ model: openai.chat(MODEL), middleware: tagalongMiddleware(t) });
    const headers = { Authorization: `Bearer ${API_KEY}`, ...GATEWAY };
    await expect(generateText({ model, prompt: "hi", headers, maxRetries: 0 })).rejects.toThrow(API_KEY);
    expect(rec.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expectScrubbed(await forwardedMessages(() => t.flush()));
  });

  it("@tagalong/langchain: the headers of the request withTagalong's fetch sent", async () => {
    const t = tagalong();
    const ChatModel = withTagalong(ChatOpenAI, t);
    const model = new ChatModel({
      model: MODEL,
      apiKey: API_KEY,
      maxRetries: 0,
      configuration: { baseURL: rec.openaiBaseURL, defaultHeaders: GATEWAY },
    });
    await expect(model.invoke("hi")).rejects.toThrow(API_KEY);
    expectScrubbed(await forwardedMessages(() => t.flush()));
  });
});
