// Tagalong's OpenTelemetry spans through the real OpenTelemetry JS SDK: a NodeTracerProvider with
// BatchSpanProcessors and both OTLP/HTTP exporters (JSON and protobuf), to a loopback OTLP receiver that
// decodes each export with the OTLP definitions. Many concurrent calls through each adapter, each
// inside its own request span with its own user: every span arrives once per encoding, a child of its
// own request span, with its own call's metadata and the response its own request got.
//
// TAGALONG_OTEL_CALLS sets the number of calls per adapter. Default 10,000 (about 20-30 s per adapter on
// a busy 2-core machine); 1,000 in the compatibility matrix's runs on Node 22 and 24, which repeat the
// suite: `TAGALONG_OTEL_CALLS=10000 npx vitest run e2e/test/otel-export.test.ts` runs the full count anywhere.
import { readFileSync } from "node:fs";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { DiagLogLevel, diag, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as OTLPJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import * as semconv from "@opentelemetry/semantic-conventions/incubating";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import {
  createTagalong,
  genAiAttributes,
  langfuseAttributes,
  type Metadata,
  openTelemetry,
  portkey,
  requesty,
  type Tagalong,
  withMetadata,
} from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { wrapOpenAI } from "@tagalong/openai";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { generateText, streamText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Encoding, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver";
import { loopbackOnly } from "./stack";

const repeat = (process.env.TAGALONG_MATRIX_NODE ?? "20") !== "20";
const CALLS = Number(process.env.TAGALONG_OTEL_CALLS ?? (repeat ? 1_000 : 10_000));
const CONCURRENCY = 64;
const ENCODINGS: Encoding[] = ["json", "protobuf"];
const OTLP_CLIENT = 3; // OTLP's SpanKind enum: SPAN_KIND_CLIENT

loopbackOnly();
let receiver: OtlpReceiver;
let rec: Recorder;
let provider: NodeTracerProvider;
// The SDK's own warnings (a BatchSpanProcessor dropping spans from a full queue says so here).
const sdkWarnings: string[] = [];

beforeAll(async () => {
  const warn = (message: string, ...args: unknown[]) => sdkWarnings.push([message, ...args].join(" "));
  diag.setLogger({ error: warn, warn, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
  receiver = await startOtlpReceiver();
  rec = await createRecorder();
  const url = receiver.tracesURL;
  provider = new NodeTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPJsonExporter({ url })),
      new BatchSpanProcessor(new OTLPProtoExporter({ url })),
    ],
  });
  // The AsyncLocalStorage context manager and the global provider, as an application sets them up.
  provider.register();
});
afterAll(async () => {
  await provider?.shutdown();
  await Promise.all([receiver?.close(), rec?.close()]);
});
beforeEach(async () => {
  await rec.reset();
  receiver.reset();
  sdkWarnings.length = 0;
});

type Call = (tagalong: Tagalong, i: number) => Promise<unknown>;
const messages = (i: number) => [{ role: "user" as const, content: `call ${i}` }];

/** Each adapter's call against the recorder, plain or streamed to the end. */
function adapters(stream = false): Array<[string, (tagalong: Tagalong) => Call]> {
  return [
    [
      "openai",
      (tagalong) => {
        const client = wrapOpenAI(new OpenAI({ apiKey: "sk-otel", baseURL: rec.openaiBaseURL }), tagalong);
        return async (_, i) => {
          if (!stream) return client.chat.completions.create({ model: "gpt-4o-mini", messages: messages(i) });
          const chunks = await client.chat.completions.create({
            model: "gpt-4o-mini",
            messages: messages(i),
            stream: true,
          });
          for await (const _chunk of chunks) {
            // read to the end: the call completes with the stream
          }
        };
      },
    ],
    [
      "ai-sdk",
      (tagalong) => {
        const openai = createOpenAI({
          apiKey: "sk-otel",
          baseURL: rec.openaiBaseURL,
          fetch: tagalongFetch(),
        });
        const model = wrapLanguageModel({
          model: openai.chat("gpt-4o-mini"),
          middleware: tagalongMiddleware(tagalong),
        });
        return async (_, i) =>
          stream
            ? await streamText({ model, prompt: `call ${i}` }).text
            : generateText({ model, prompt: `call ${i}` });
      },
    ],
    [
      "langchain",
      (tagalong) => {
        const ChatModel = withTagalong(ChatOpenAI);
        const chat = new ChatModel({
          model: "gpt-4o-mini",
          apiKey: "sk-otel",
          maxRetries: 0,
          configuration: { baseURL: rec.openaiBaseURL },
          callbacks: [new TagalongCallbackHandler(tagalong)],
        });
        return async (_, i) => {
          if (!stream) return chat.invoke(`call ${i}`);
          for await (const _chunk of await chat.stream(`call ${i}`)) {
            // read to the end
          }
        };
      },
    ],
  ];
}

/** Runs `count` calls, `CONCURRENCY` at a time, each in its own request span and its own scope. */
async function runCalls(tagalong: Tagalong, call: Call, count: number, metadata: (i: number) => Metadata) {
  const tracer = trace.getTracer("app");
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await tracer.startActiveSpan(`request ${i}`, async (span) => {
        span.setAttribute("app.call", i);
        try {
          await withMetadata(metadata(i), () => call(tagalong, i));
        } finally {
          span.end();
        }
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  await provider.forceFlush();
  // The SDK's forceFlush exports what is buffered but does not wait for an export its batch timer
  // already started: give such a request a bounded time to land (every call makes 2 spans), so a
  // span is counted lost only if it never arrives.
  const deadline = Date.now() + 10_000;
  while (ENCODINGS.some((e) => receiver.spans(e).length < 2 * count) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const isTagalong = (s: ReceivedSpan) => s.scope === "@tagalong/core";

// Every gen_ai.* attribute name of the pinned Semantic Conventions package (1.41: the README's version).
const GEN_AI_KEYS = new Set(
  Object.entries(semconv)
    .filter(([name]) => name.startsWith("ATTR_GEN_AI_"))
    .map(([, key]) => key as string),
);

/**
 * `count` concurrent calls through one adapter, each in its own request span with its own user; then,
 * in each encoding, every Tagalong span arrived once, a child of its own request span, with its own
 * call's metadata and the response id the model gave that call.
 */
async function callsArriveIntact(name: string, build: (tagalong: Tagalong) => Call, count: number) {
  const tagalong = createTagalong({
    destinations: [portkey(), openTelemetry({ trace, attributes: [genAiAttributes, langfuseAttributes] })],
  });
  const user = (i: number) => `u-${name}-${i}`;
  const started = performance.now();
  await runCalls(tagalong, build(tagalong), count, (i) => ({
    user: user(i),
    session: `s-${i}`,
    extra: { call: i },
  }));
  const seconds = (performance.now() - started) / 1000;

  // What the model answered each user: the recorder saw the user in Portkey's metadata header.
  const calls = rec.calls();
  expect(calls).toHaveLength(count);
  const answered = new Map(calls.map((c) => [c.portkey.metadata?._user, c.responseId]));
  expect(answered.size).toBe(count);

  for (const encoding of ENCODINGS) {
    const spans = receiver.spans(encoding);
    const requests = new Map(spans.filter((s) => !isTagalong(s)).map((s) => [s.spanId, s]));
    const ours = spans.filter(isTagalong);
    const wrong: string[] = [];
    const seen = new Set<number>();
    for (const s of ours) {
      const i = s.attributes["tagalong.extra.call"] as number;
      const parent = requests.get(s.parentSpanId);
      const problems = [
        seen.has(i) && "twice",
        s.attributes["user.id"] !== user(i) && `user.id ${s.attributes["user.id"]}`,
        s.attributes["langfuse.user.id"] !== user(i) && "langfuse.user.id",
        s.attributes["session.id"] !== `s-${i}` && "session.id",
        s.attributes["gen_ai.conversation.id"] !== `s-${i}` && "gen_ai.conversation.id",
        s.attributes["gen_ai.response.id"] !== answered.get(user(i)) && "gen_ai.response.id",
        s.attributes["gen_ai.request.model"] !== "gpt-4o-mini" && "gen_ai.request.model",
        s.attributes["gen_ai.operation.name"] !== "chat" && "gen_ai.operation.name",
        s.name !== "chat gpt-4o-mini" && `name ${s.name}`,
        s.kind !== OTLP_CLIENT && `kind ${s.kind}`,
        s.status.code !== 0 && `status ${s.status.code}`,
        parent?.attributes["app.call"] !== i && "parent: not its own request span",
        parent?.traceId !== s.traceId && "trace id: not its request's",
        parent?.attributes["user.id"] !== user(i) && "request span: not annotated with its own user",
        ...Object.keys(s.attributes)
          .filter((key) => key.startsWith("gen_ai.") && !GEN_AI_KEYS.has(key))
          .map((key) => `${key}: not in Semantic Conventions 1.41`),
      ].filter(Boolean);
      if (problems.length) wrong.push(`call ${i}: ${problems.join(", ")}`);
      seen.add(i);
    }
    const lost = count - seen.size;
    console.log(
      `[otel-export] ${name} ${encoding}: ${ours.length} spans for ${count} calls, ${lost} lost, ${wrong.length} wrong, ` +
        `${receiver.requests[encoding]} export requests; calls took ${seconds.toFixed(1)} s`,
    );
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(lost).toBe(0);
    expect(ours).toHaveLength(count);
    expect(requests.size).toBe(count);
  }
  expect(receiver.rejected).toEqual([]);
  expect(sdkWarnings).toEqual([]);
  expect(rec.violations()).toEqual([]);
}

describe(`OTLP export through the real OpenTelemetry SDK, ${CALLS} concurrent calls per adapter`, () => {
  for (const [name, build] of adapters()) {
    it(`${name}: every span arrives in JSON and protobuf, a child of its own request, with its own call's metadata`, async () => {
      await callsArriveIntact(name, build, CALLS);
    }, 600_000);
  }

  it("names the Semantic Conventions version it checks against in the README", () => {
    const installed = new URL(
      "../node_modules/@opentelemetry/semantic-conventions/package.json",
      import.meta.url,
    );
    const pkg = JSON.parse(readFileSync(installed, "utf8"));
    const [major, minor] = pkg.version.split(".");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`Semantic Conventions v${major}.${minor}.0`);
    expect(GEN_AI_KEYS.has("gen_ai.provider.name")).toBe(true);
  });
});

describe("trace continuity", () => {
  for (const [name, build] of adapters(true)) {
    it(`${name}, streamed: each call's span is a child of the span active where it was made`, async () => {
      await callsArriveIntact(`${name}-stream`, build, 200);
    }, 120_000);
  }

  // LangChain's handler with its defaults: its implied trace (the root run id) defers to the OTel trace.
  for (const [name, build] of adapters()) {
    it(`${name}: with propagateTraceId, the active trace id reaches Portkey's trace header and Requesty's trace_id`, async () => {
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), openTelemetry({ trace, propagateTraceId: true })],
      });
      const call = build(tagalong);
      const traceIds: string[] = [];
      await runCalls(
        tagalong,
        async (t, i) => {
          traceIds[i] = trace.getActiveSpan()!.spanContext().traceId;
          // The second call sets its own trace: it wins.
          return i === 1 ? withMetadata({ trace: "mine" }, () => call(t, i)) : call(t, i);
        },
        2,
        (i) => ({ user: `u-${i}` }),
      );
      const byUser = new Map(rec.calls().map((c) => [c.portkey.metadata?._user, c]));
      const first = byUser.get("u-0")!;
      expect(traceIds[0]).toMatch(/^[0-9a-f]{32}$/);
      expect(first.portkey.headers["x-portkey-trace-id"]).toBe(traceIds[0]);
      expect(first.requesty?.trace_id).toBe(traceIds[0]);
      expect(byUser.get("u-1")!.portkey.headers["x-portkey-trace-id"]).toBe("mine");
      expect(byUser.get("u-1")!.requesty?.trace_id).toBe("mine");
      // And the span joined that trace.
      const span = receiver.spans("protobuf").find((s) => isTagalong(s) && s.attributes["user.id"] === "u-0");
      expect(span?.traceId).toBe(traceIds[0]);
      expect(rec.violations()).toEqual([]);
    });
  }
});

describe("a failed call", () => {
  for (const [name, build] of adapters()) {
    it(`${name}: its span has status ERROR with the upstream's message, scrubbed of the key it echoed`, async () => {
      const key = "sk-otel-live-7Qm2Rt9Wx4Ky8Zp3Lv6N";
      rec.fail({
        path: "/v1",
        status: 401,
        body: { error: { message: `Incorrect API key provided: ${key}` } },
      });
      const tagalong = createTagalong({ destinations: [openTelemetry({ trace })] });
      await expect(runCalls(tagalong, build(tagalong), 1, () => ({ user: "u-failed" }))).rejects.toThrow();
      await provider.forceFlush();
      const span = receiver.spans("protobuf").find(isTagalong);
      expect(span?.attributes["user.id"]).toBe("u-failed");
      expect(span?.status.code).toBe(2);
      expect(span?.status.message).toContain("Incorrect API key provided");
      expect(span?.status.message).not.toContain(key);
      expect(span?.attributes["error.type"]).toEqual(expect.any(String));
    });
  }
});

describe("an environment Langfuse refuses", () => {
  for (const [name, build] of adapters()) {
    it(`${name}: with langfuseAttributes, it leaves the exported span, Portkey still gets it`, async () => {
      const tagalong = createTagalong({
        destinations: [
          portkey(),
          openTelemetry({ trace, attributes: [genAiAttributes, langfuseAttributes] }),
        ],
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      await runCalls(tagalong, build(tagalong), 1, () => ({ user: "u-env", environment: "EU Prod" }));
      await provider.forceFlush();
      for (const encoding of ENCODINGS) {
        const span = receiver.spans(encoding).find(isTagalong);
        expect(span?.attributes["user.id"]).toBe("u-env");
        expect(span?.attributes["langfuse.user.id"]).toBe("u-env");
        // Langfuse reads the environment from either key; neither carries one it would refuse.
        expect(span?.attributes["langfuse.environment"]).toBeUndefined();
        expect(span?.attributes["deployment.environment.name"]).toBeUndefined();
      }
      expect(rec.calls()[0]!.portkey.metadata?._environment).toBe("EU Prod");
    });
  }
});
