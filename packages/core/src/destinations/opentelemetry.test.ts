import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { FULL_METADATA } from "../../test/fixtures/metadata";
import { InvalidMetadataError } from "../errors";
import { withMetadata } from "../scope";
import { createTagalong } from "../tagalong";
import type { CompletedCall } from "../types";
import { langfuseAttributes } from "./langfuse";
import {
  compileAttributeMaps,
  genAiAttributes,
  type OpenTelemetryOptions,
  type OtelSpan,
  openTelemetry,
  otelAttributeKeys,
} from "./opentelemetry";
import { PORTKEY_TRACE_HEADER, portkey } from "./portkey";
import { promptLayerAttributes } from "./promptlayer-attributes";
import { requesty } from "./requesty";

const FULL = FULL_METADATA;

function call(over: Partial<CompletedCall> = {}): CompletedCall {
  return {
    provider: "openai",
    model: "gpt-4o-mini",
    apiType: "chat-completions",
    input: [],
    output: [],
    usage: { inputTokens: 11, outputTokens: 7 },
    startTime: new Date(Date.now() - 50),
    endTime: new Date(),
    status: "success",
    responseId: "chatcmpl-1",
    finishReason: "stop",
    metadata: FULL,
    context: { run_id: "r1" },
    ...over,
  };
}

/** A real SDK tracer provider with an in-memory exporter; `active` stands in for the active span. */
function setup(options: Omit<OpenTelemetryOptions, "trace"> = {}, active?: () => OtelSpan | undefined) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const api = {
    getActiveSpan: active ?? trace.getActiveSpan,
    getTracer: (n: string, v?: string) => provider.getTracer(n, v),
  };
  const tagalong = createTagalong({
    destinations: [openTelemetry({ trace: api, ...options }), portkey(), requesty()],
  });
  return { exporter, provider, tagalong };
}

const only = (spans: ReadableSpan[]): ReadableSpan => {
  expect(spans).toHaveLength(1);
  return spans[0]!;
};

describe("openTelemetry()", () => {
  it("emits one GenAI client span per completed call: the call's attributes and the default map's", () => {
    const { exporter, tagalong } = setup();
    tagalong.record(call());
    const span = only(exporter.getFinishedSpans());
    expect(span.name).toBe("chat gpt-4o-mini");
    expect(span.kind).toBe(2);
    expect(span.attributes).toEqual({
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.operation.name": "chat",
      "gen_ai.response.id": "chatcmpl-1",
      "gen_ai.usage.input_tokens": 11,
      "gen_ai.usage.output_tokens": 7,
      "gen_ai.response.finish_reasons": ["stop"],
      "tagalong.context.run_id": "r1",
      "user.id": "u_42",
      "session.id": "s_1",
      "gen_ai.conversation.id": "s_1",
      "deployment.environment.name": "production",
      "tagalong.trace": "t_9",
      "tagalong.organization": "acme",
      "tagalong.tags": ["checkout", "beta"],
      "gen_ai.prompt.name": "welcome",
      "tagalong.prompt.version": 2,
      "tagalong.extra.team": "search",
      "tagalong.extra.retries": 3,
    });
  });

  it("writes the attribute maps it is given, and only those", () => {
    const { exporter, tagalong } = setup({ attributes: [langfuseAttributes, promptLayerAttributes] });
    tagalong.record(call({ context: undefined }));
    const { attributes } = only(exporter.getFinishedSpans());
    const metadataKeys = Object.keys(attributes).filter((key) => !key.startsWith("gen_ai."));
    expect(Object.fromEntries(metadataKeys.map((key) => [key, attributes[key]]))).toEqual({
      "langfuse.user.id": "u_42",
      "langfuse.session.id": "s_1",
      "langfuse.environment": "production",
      "langfuse.trace.tags": ["checkout", "beta"],
      "langfuse.observation.prompt.name": "welcome",
      "langfuse.observation.prompt.version": 2,
      "langfuse.trace.metadata.user_id": "u_42",
      "langfuse.trace.metadata.session_id": "s_1",
      "langfuse.trace.metadata.trace_id": "t_9",
      "langfuse.trace.metadata.environment": "production",
      "langfuse.trace.metadata.organization": "acme",
      "langfuse.trace.metadata.team": "search",
      "langfuse.trace.metadata.retries": "3",
      "promptlayer.prompt.name": "welcome",
      "promptlayer.prompt.version": 2,
      "promptlayer.metadata.user_id": "u_42",
      "promptlayer.metadata.session_id": "s_1",
      "promptlayer.metadata.trace_id": "t_9",
      "promptlayer.metadata.environment": "production",
      "promptlayer.metadata.organization": "acme",
      "promptlayer.metadata.team": "search",
      "promptlayer.metadata.retries": "3",
    });
  });

  it("names every key it writes in otelAttributeKeys (exact keys or prefixes)", () => {
    const maps = [genAiAttributes, langfuseAttributes, promptLayerAttributes];
    const { exporter, tagalong } = setup({ attributes: maps });
    tagalong.record(call({ status: "error", error: { type: "APIError", message: "bad" } }));
    const { keys, prefixes } = otelAttributeKeys(maps);
    const written = Object.keys(only(exporter.getFinishedSpans()).attributes);
    const unnamed = written.filter((key) => !keys.includes(key) && !prefixes.some((p) => key.startsWith(p)));
    expect(unnamed).toEqual([]);
    expect(written).toContain("error.type");
  });

  it("marks a failed call's span as an error with its type", () => {
    const { exporter, tagalong } = setup();
    tagalong.record(call({ status: "error", error: { type: "RateLimitError", message: "slow down" } }));
    tagalong.record(call({ status: "aborted" }));
    const [failed, aborted] = exporter.getFinishedSpans();
    expect(failed?.status).toEqual({ code: 2, message: "slow down" });
    expect(failed?.attributes["error.type"]).toBe("RateLimitError");
    expect(aborted?.status).toEqual({ code: 2, message: "aborted" });
  });

  it("scrubs credentials an upstream echoed in the error message from the span status", () => {
    const { exporter, tagalong } = setup();
    const key = "sk-proj-4f9Kq2ZxW8rT1mN7bV3cL0pA";
    const message = `401 Incorrect API key provided: Bearer ${key}. x-portkey-api-key: pk-live-9aB8cD7eF6gH5iJ4`;
    tagalong.record(call({ status: "error", error: { type: "AuthenticationError", message } }));
    const { status } = only(exporter.getFinishedSpans());
    expect(status.message).toContain("401 Incorrect API key provided");
    expect(status.message).not.toContain(key);
    expect(status.message).not.toContain("pk-live-9aB8cD7eF6gH5iJ4");
  });

  it("refuses, at setup, a map field the model has not, a missing trace API and an unknown option", () => {
    expect(() => compileAttributeMaps([{ name: "odd", fields: { userId: ["x"] } as never }])).toThrow(
      'openTelemetry: attribute map odd names an unknown field "userId"; known fields: user, session,',
    );
    expect(() => openTelemetry({} as never)).toThrow(
      'openTelemetry: options.trace must be the `trace` export of "@opentelemetry/api"',
    );
    expect(() => openTelemetry({ trace, namespaces: ["langfuse"] } as never)).toThrow(
      'openTelemetry: unknown option "namespaces"; known options: trace, attributes,',
    );
    expect(() => openTelemetry({ trace, propagateTraceID: true } as never)).toThrow(
      '(did you mean "propagateTraceId"?)',
    );
  });

  it("leaves out of its spans an environment Langfuse refuses, warned once, when it writes Langfuse's keys", () => {
    // Langfuse: ^(?!langfuse)[a-z0-9-_]+$, at most 40 chars; it reads deployment.environment.name too.
    const warnings: string[] = [];
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const outer = provider.getTracer("app").startSpan("handler");
    const api = { getActiveSpan: () => outer, getTracer: (n: string) => provider.getTracer(n) };
    const tagalong = createTagalong({
      destinations: [
        openTelemetry({ trace: api, attributes: [genAiAttributes, langfuseAttributes] }),
        portkey(),
      ],
      logger: { debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) },
    });
    for (const environment of ["Production", "eu prod", "langfuse-dev", "e".repeat(41)]) {
      const prepared = tagalong.prepare({ user: "u_7", environment });
      expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)._environment).toBe(environment);
      tagalong.record(call({ metadata: { user: "u_7", environment } }));
    }
    for (const attributes of [
      (outer as unknown as ReadableSpan).attributes,
      ...exporter.getFinishedSpans().map((s) => s.attributes),
    ]) {
      expect(attributes["user.id"]).toBe("u_7");
      expect(attributes["langfuse.environment"]).toBeUndefined();
      expect(attributes["deployment.environment.name"]).toBeUndefined();
      expect(attributes["langfuse.trace.metadata.environment"]).toBeUndefined();
    }
    expect(warnings).toEqual([
      "left out of opentelemetry's form: metadata.environment: must be lowercase letters, digits, - and _, at most 40, not starting with \"langfuse\" (Langfuse's environment rule) (said once per field and rule)",
    ]);
    // Without Langfuse's keys, any environment goes.
    const plain = setup({ attributes: [genAiAttributes] });
    plain.tagalong.record(call({ metadata: { environment: "eu prod" } }));
    expect(only(plain.exporter.getFinishedSpans()).attributes["deployment.environment.name"]).toBe("eu prod");
    const good = setup({ attributes: [genAiAttributes, langfuseAttributes] });
    good.tagalong.record(call({ metadata: { environment: "eu-prod_2" } }));
    expect(only(good.exporter.getFinishedSpans()).attributes["langfuse.environment"]).toBe("eu-prod_2");
  });

  it("refuses an extra key that would overwrite a model field's key of the flat metadata", () => {
    const warnings: string[] = [];
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const api = { getActiveSpan: () => undefined, getTracer: (n: string) => provider.getTracer(n) };
    const destination = () =>
      openTelemetry({ trace: api, attributes: [genAiAttributes, promptLayerAttributes, langfuseAttributes] });
    const tagalong = createTagalong({
      destinations: [destination(), requesty()],
      logger: { debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) },
    });
    const metadata = { user: "u_42", extra: { user_id: "u_other", plan: "pro" } };
    // Left out of this destination alone: Requesty, which has no such key, still gets it.
    expect(tagalong.prepare(metadata).body).toMatchObject({ requesty: { extra: { user_id: "u_other" } } });
    tagalong.record(call({ metadata, context: undefined }));
    const { attributes } = only(exporter.getFinishedSpans());
    expect(attributes["promptlayer.metadata.user_id"]).toBe("u_42");
    expect(attributes["langfuse.trace.metadata.user_id"]).toBe("u_42");
    expect(attributes["promptlayer.metadata.plan"]).toBe("pro");
    expect(warnings).toEqual([
      'left out of opentelemetry\'s form: metadata.extra.user_id: collides with the key "user_id" that the promptlayer map fills from the model (promptlayer.metadata.user_id) (said once per field and rule)',
    ]);
    expect(tagalong.stats().opentelemetry!.leftOut).toEqual({ "reserved-key": 1 });
    const strict = createTagalong({ destinations: [destination()], onInvalid: "throw" });
    expect(() => strict.prepare(metadata)).toThrow(InvalidMetadataError);
    // Without a flat form, extra.user_id overwrites nothing.
    const plain = createTagalong({ destinations: [openTelemetry({ trace: api })], onInvalid: "throw" });
    expect(() => plain.prepare(metadata)).not.toThrow();
  });

  it("checks a call's metadata against the rules once, for prepare() and the active span alike", () => {
    let tested = 0;
    const pattern = /^[a-z]+$/;
    const counting = Object.assign(pattern, {
      test: (value: string) => {
        tested++;
        return RegExp.prototype.test.call(pattern, value);
      },
    });
    const provider = new BasicTracerProvider();
    const outer = provider.getTracer("app").startSpan("handler");
    const api = { getActiveSpan: () => outer, getTracer: (n: string) => provider.getTracer(n) };
    const strict = { name: "strict", rules: { environment: { pattern: counting, rule: "lowercase" } } };
    const tagalong = createTagalong({
      destinations: [openTelemetry({ trace: api, attributes: [genAiAttributes, strict], emitSpans: false })],
      logger: { debug() {}, info() {}, error() {}, warn() {} },
    });
    const attributes = (outer as unknown as ReadableSpan).attributes;
    tagalong.prepare({ environment: "Prod" });
    expect(attributes["deployment.environment.name"]).toBeUndefined();
    tested = 0;
    tagalong.prepare({ environment: "prod" });
    expect(tested).toBe(1);
    expect(attributes["deployment.environment.name"]).toBe("prod");
  });

  it("leaves out a session id or a tag Langfuse would drop (non-ASCII or 200 chars and more)", () => {
    const { exporter, tagalong } = setup({ attributes: [genAiAttributes, langfuseAttributes] });
    const metadata = { user: "u_7", session: "s".repeat(200), tags: ["ok", "t".repeat(201), "bon"] };
    // Left out of this destination alone: Requesty still gets the session.
    expect(tagalong.prepare(metadata).body).toMatchObject({
      requesty: { extra: { session_id: "s".repeat(200) } },
    });
    tagalong.record(call({ metadata }));
    tagalong.record(call({ metadata: { session: "séance" } }));
    const [first, second] = exporter.getFinishedSpans().map((s) => s.attributes);
    expect(first!["user.id"]).toBe("u_7");
    expect(first!["langfuse.session.id"]).toBeUndefined();
    expect(first!["session.id"]).toBeUndefined();
    expect(first!["langfuse.trace.tags"]).toEqual(["ok", "bon"]);
    expect(second!["langfuse.session.id"]).toBeUndefined();
    const good = setup({ attributes: [genAiAttributes, langfuseAttributes] });
    good.tagalong.record(call({ metadata: { session: "s".repeat(199), tags: ["t".repeat(200)] } }));
    expect(only(good.exporter.getFinishedSpans()).attributes).toMatchObject({
      "langfuse.session.id": "s".repeat(199),
      "langfuse.trace.tags": ["t".repeat(200)],
    });
  });

  it("sets the metadata on the active span when a call starts", () => {
    const provider = new BasicTracerProvider();
    const outer = provider.getTracer("app").startSpan("handler");
    const { tagalong } = setup({ emitSpans: false }, () => outer);
    tagalong.prepare({ user: "u_7", environment: "staging" });
    expect((outer as unknown as ReadableSpan).attributes).toMatchObject({
      "user.id": "u_7",
      "deployment.environment.name": "staging",
    });
    expect(tagalong.recordsCalls).toBe(false);
  });

  describe("propagateTraceId", () => {
    const provider = new BasicTracerProvider();
    const outer = provider.getTracer("app").startSpan("handler");
    const traceId = outer.spanContext().traceId;

    it("gives a call that sets no trace the active trace id, in every destination's trace field", () => {
      const { tagalong } = setup({ propagateTraceId: true }, () => outer);
      const prepared = tagalong.prepare({ user: "u_1" });
      expect(prepared.metadata.trace).toBe(traceId);
      expect(prepared.headers[PORTKEY_TRACE_HEADER]).toBe(traceId);
      expect(prepared.body.requesty).toMatchObject({ trace_id: traceId });
      expect(tagalong.prepare().metadata.trace).toBe(traceId);
      expect(tagalong.defaultTrace()).toBe(traceId);
    });

    it("follows the active span from call to call inside one scope that sets no trace", () => {
      let active: OtelSpan | undefined;
      const { tagalong } = setup({ propagateTraceId: true }, () => active);
      const second = provider.getTracer("app").startSpan("other");
      const traces = withMetadata({ user: "u_1" }, () =>
        [undefined, outer, second, undefined].map((span) => {
          active = span;
          return tagalong.prepare().metadata.trace;
        }),
      );
      expect(traces).toEqual([undefined, traceId, second.spanContext().traceId, undefined]);
    });

    it("never overrides a trace the call, a scope or the defaults set", () => {
      const { tagalong } = setup({ propagateTraceId: true }, () => outer);
      expect(tagalong.prepare({ trace: "mine" }).metadata.trace).toBe("mine");
      expect(withMetadata({ trace: "scoped" }, () => tagalong.prepare()).metadata.trace).toBe("scoped");
      const api = { getActiveSpan: () => outer, getTracer: (n: string) => provider.getTracer(n) };
      const withDefaults = createTagalong({
        destinations: [openTelemetry({ trace: api, propagateTraceId: true })],
        metadata: { trace: "default" },
      });
      expect(withDefaults.prepare().metadata.trace).toBe("default");
    });

    it("sets nothing without an active span, with an invalid one, or when not asked", () => {
      expect(
        setup({ propagateTraceId: true }, () => undefined).tagalong.prepare().metadata.trace,
      ).toBeUndefined();
      const invalid = trace.wrapSpanContext({
        traceId: "0".repeat(32),
        spanId: "0".repeat(16),
        traceFlags: 0,
      });
      expect(
        setup({ propagateTraceId: true }, () => invalid).tagalong.prepare().metadata.trace,
      ).toBeUndefined();
      expect(setup({}, () => outer).tagalong.prepare().metadata.trace).toBeUndefined();
      expect(setup({}, () => outer).tagalong.defaultTrace()).toBeUndefined();
    });
  });
});
