// Every destination through every adapter, with no adapter change: one metadata model, one line of
// configuration per destination, each service's own wire form judged at the loopback recorder.
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import {
  cloudflare,
  createTagalong,
  helicone,
  litellm,
  type Metadata,
  openrouter,
  openTelemetry,
  portkey,
  requesty,
  withMetadata,
} from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { wrapOpenAI } from "@tagalong/openai";
import { createRecorder, type ModelCall, type Recorder } from "@tagalong/testing";
import { generateText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const METADATA: Metadata = {
  user: "u_42",
  session: "s_1",
  trace: "t_9",
  environment: "production",
  organization: "acme",
  tags: ["checkout", "beta"],
  prompt: { name: "welcome", version: 2 },
  extra: { team: "search" },
};

// Each destination's wire form of METADATA, written out by hand from docs/destinations.md.
function expectEveryForm(call: ModelCall): void {
  expect(call.portkey.metadata).toEqual({
    _user: "u_42",
    _environment: "production",
    _organisation: "acme",
    _prompt: "welcome",
    session_id: "s_1",
    tags: "checkout,beta",
    team: "search",
  });
  expect(call.portkey.traceId).toBe("t_9");
  expect(call.requesty).toEqual({
    tags: ["checkout", "beta"],
    user_id: "u_42",
    trace_id: "t_9",
    extra: {
      session_id: "s_1",
      environment: "production",
      organization: "acme",
      prompt_title: "welcome",
      team: "search",
    },
  });
  expect(call.helicone).toMatchObject({
    userId: "u_42",
    sessionId: "s_1",
    promptId: "welcome",
    properties: {
      trace: "t_9",
      environment: "production",
      organization: "acme",
      tags: "checkout,beta",
      team: "search",
    },
  });
  expect(call.cloudflare.metadata).toEqual({
    user: "u_42",
    session: "s_1",
    trace: "t_9",
    environment: "production",
    organization: "acme",
  });
  expect(call.litellm).toEqual({
    userId: "u_42",
    tags: ["checkout", "beta"],
    sessionId: "s_1",
    spendLogsMetadata: {
      session_id: "s_1",
      trace_id: "t_9",
      environment: "production",
      organization: "acme",
      prompt_name: "welcome",
      prompt_version: 2,
      team: "search",
    },
  });
  expect(call.openrouter).toEqual({
    user: "u_42",
    sessionId: "s_1",
    trace: {
      trace_id: "t_9",
      environment: "production",
      organization: "acme",
      tags: ["checkout", "beta"],
      generation_name: "welcome",
      prompt_version: 2,
      team: "search",
    },
  });
}

describe("every destination through every adapter", () => {
  let rec: Recorder;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const otel = {
    getActiveSpan: trace.getActiveSpan,
    getTracer: (n: string, v?: string) => provider.getTracer(n, v),
  };
  const tagalong = createTagalong({
    destinations: [
      portkey(),
      requesty(),
      helicone(),
      cloudflare(),
      litellm(),
      openrouter(),
      openTelemetry({ trace: otel }),
    ],
  });

  beforeAll(async () => {
    rec = await createRecorder();
  });
  afterAll(() => rec?.close());
  beforeEach(async () => {
    await rec.reset();
    exporter.reset();
  });

  const adapters: Array<[string, () => Promise<unknown>]> = [
    [
      "openai",
      () => {
        const client = wrapOpenAI(
          new OpenAI({ apiKey: "sk-destinations", baseURL: rec.openaiBaseURL }),
          tagalong,
        );
        return client.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "hi" }],
        });
      },
    ],
    [
      "ai-sdk",
      () => {
        const openai = createOpenAI({
          apiKey: "sk-destinations",
          baseURL: rec.openaiBaseURL,
          fetch: tagalongFetch(),
        });
        const model = wrapLanguageModel({
          model: openai.chat("gpt-4o-mini"),
          middleware: tagalongMiddleware(tagalong),
        });
        return generateText({ model, prompt: "hi" });
      },
    ],
    [
      "langchain",
      () => {
        const ChatModel = withTagalong(ChatOpenAI);
        const chat = new ChatModel({
          model: "gpt-4o-mini",
          apiKey: "sk-destinations",
          configuration: { baseURL: rec.openaiBaseURL },
          callbacks: [new TagalongCallbackHandler(tagalong)],
        });
        return chat.invoke("hi");
      },
    ],
  ];

  for (const [name, run] of adapters) {
    it(`${name}: each service's own form arrives, breaking none of its rules, and a GenAI span is emitted`, async () => {
      await withMetadata(METADATA, run);
      const [call, ...more] = rec.calls();
      expect(more).toEqual([]);
      expectEveryForm(call!);
      expect(rec.violations()).toEqual([]);
      await rec.waitFor(() => exporter.getFinishedSpans().length > 0);
      const [span] = exporter.getFinishedSpans();
      expect(span?.attributes).toMatchObject({
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.id": call!.responseId,
        "user.id": "u_42",
        "session.id": "s_1",
        "deployment.environment.name": "production",
      });
    });
  }
});
