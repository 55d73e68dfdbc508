// One suite over every ai major × provider package: what arrives on the wire at the loopback recorder,
// and what after-the-call destinations receive. ai 7 needs Node 22 and is skipped below it.
import {
  createTagalong,
  type Destination,
  InvalidMetadataError,
  type Logger,
  litellm,
  type Metadata,
  openrouter,
  portkey,
  promptLayer,
  requesty,
  type TagalongOptions,
  withMetadata,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type ModelCall, type Recorder, replyText } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor, PROVIDERS } from "./matrix";

const MODEL_ID = "gpt-test";
const PL_KEY = "pl_test_key_ai_sdk_0123456789";

// The SDKs' own warnings (e.g. json_object without a schema) are expected here and only noise.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let rec: Recorder;
beforeAll(async () => {
  rec = await createRecorder({ promptLayerApiKey: PL_KEY });
});
afterEach(async () => {
  // Every test: nothing on the wire broke a vendor rule, and no request carried a `tagalong` key anywhere.
  const violations = rec.violations();
  const leaks = rec.requests.flatMap((request) => keysNamed("tagalong", request.body));
  await rec.reset();
  expect(violations).toEqual([]);
  expect(leaks).toEqual([]);
});
afterAll(async () => {
  await rec.close();
});

/** Paths of every key with this name, at any depth. */
function keysNamed(name: string, value: unknown, path = "body"): string[] {
  if (value === null || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (key === name) out.push(`${path}.${key}`);
    out.push(...keysNamed(name, v, `${path}.${key}`));
  }
  return out;
}

/** An after-the-call destination that keeps what it is given. */
function memory(): Destination & { calls: CompletedCall[] } {
  const calls: CompletedCall[] = [];
  return { name: "memory", calls, record: (call) => void calls.push(call) };
}

const DEFAULTS: Metadata = { environment: "test" };

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode).each(PROVIDERS)("$name", (pc) => {
    let m: Awaited<ReturnType<typeof major.load>>;
    beforeAll(async () => {
      m = await major.load();
    });

    function setup(options: Partial<TagalongOptions> = {}) {
      const recorded = memory();
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), recorded],
        metadata: DEFAULTS,
        ...options,
      });
      const provider = pc.provider(m, rec.openaiBaseURL);
      const model = m.ai.wrapLanguageModel({
        model: pc.model(provider, MODEL_ID),
        middleware: tagalongMiddleware(tagalong),
      });
      return { tagalong, recorded, model, provider };
    }

    function onlyCall(): ModelCall {
      const calls = rec.calls();
      expect(calls).toHaveLength(1);
      expect(calls[0]!.endpoint).toBe(pc.endpoint);
      return calls[0]!;
    }

    const perCall: Metadata = {
      user: "u_42",
      session: "s_1",
      trace: "t_1",
      tags: ["search"],
      extra: { team: "core" },
    };
    const portkeyOf = {
      _user: "u_42",
      session_id: "s_1",
      tags: "search",
      team: "core",
      _environment: "test",
    };
    const requestyOf = {
      user_id: "u_42",
      trace_id: "t_1",
      tags: ["search"],
      extra: { session_id: "s_1", environment: "test", team: "core" },
    };

    /** The call carries `perCall` over the defaults: Portkey's headers and Requesty's body field. */
    function expectPerCall(call: ModelCall): void {
      expect(call.portkey.metadata).toEqual(portkeyOf);
      expect(call.portkey.traceId).toBe("t_1");
      expect(call.requesty).toEqual(requestyOf);
    }

    it("generateText: the Portkey headers and the Requesty body field carry the call's metadata", async () => {
      const { model } = setup();
      const result = await m.ai.generateText({
        model,
        prompt: "hello",
        providerOptions: { tagalong: perCall },
      });
      expect(result.text).toBe(replyText("hello"));
      const call = onlyCall();
      expect(call.stream).toBe(false);
      expectPerCall(call);
    });

    it("streamText: the same on a streamed call", async () => {
      const { model } = setup();
      const result = m.ai.streamText({ model, prompt: "hello", providerOptions: { tagalong: perCall } });
      expect(await result.text).toBe(replyText("hello"));
      const call = onlyCall();
      expect(call.stream).toBe(true);
      expectPerCall(call);
    });

    it("merges defaults < scope < per call, and a call without providerOptions carries the scope", async () => {
      const { model } = setup();
      const scope: Metadata = { session: "s_scope", tags: ["scoped"], extra: { a: 1 } };
      await withMetadata(scope, async () => {
        await m.ai.generateText({
          model,
          prompt: "one",
          providerOptions: { tagalong: { user: "u_7", tags: ["call", "scoped"], extra: { b: "x" } } },
        });
        await m.ai.generateText({ model, prompt: "two" });
      });
      const [one, two] = rec.calls();
      expect(one!.portkey.metadata).toEqual({
        _user: "u_7",
        _environment: "test",
        session_id: "s_scope",
        tags: "scoped,call",
        a: "1",
        b: "x",
      });
      expect(one!.requesty).toEqual({
        user_id: "u_7",
        tags: ["scoped", "call"],
        extra: { session_id: "s_scope", environment: "test", a: 1, b: "x" },
      });
      expect(two!.portkey.metadata).toEqual({
        _environment: "test",
        session_id: "s_scope",
        tags: "scoped",
        a: "1",
      });
      expect(two!.requesty).toEqual({
        tags: ["scoped"],
        extra: { session_id: "s_scope", environment: "test", a: 1 },
      });
    });

    it("by default, the call goes out; a field Portkey cannot carry is left out of Portkey's header only", async () => {
      const warnings: string[] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (w: string) => void warnings.push(w) };
      const { model } = setup({ logger });
      const long = "x".repeat(200);
      await m.ai.generateText({
        model,
        prompt: "hello",
        maxRetries: 0,
        providerOptions: { tagalong: { user: long } },
      });
      const call = onlyCall();
      expect(call.portkey.metadata).toEqual({ _environment: "test" });
      expect(call.requesty).toMatchObject({ user_id: long });
      expect(warnings).toEqual([
        "left out of portkey's form: metadata.user: 200 chars, Portkey allows 128 (said once per field and rule)",
      ]);
    });

    it("with onInvalid throw, invalid metadata throws InvalidMetadataError before any request is sent", async () => {
      const { model } = setup({ onInvalid: "throw" });
      const generated = m.ai.generateText({
        model,
        prompt: "hello",
        maxRetries: 0,
        providerOptions: { tagalong: { user: 42 } },
      });
      await expect(generated).rejects.toSatisfy((e) => InvalidMetadataError.isInstance(e));
      await expect(generated).rejects.toThrow("metadata.user: must be a string, got 42");

      const streamErrors: unknown[] = [];
      const streamed = m.ai.streamText({
        model,
        prompt: "hello",
        maxRetries: 0,
        providerOptions: { tagalong: { user: "x".repeat(200) } },
        onError: ({ error }: { error: unknown }) => void streamErrors.push(error),
      });
      await consume(streamed.fullStream);
      expect(streamErrors).toHaveLength(1);
      expect(InvalidMetadataError.isInstance(streamErrors[0])).toBe(true);
      expect(String(streamErrors[0])).toContain("metadata.user: 200 chars, Portkey allows 128");
      expect(rec.requests).toHaveLength(0);
    });

    it("the caller's own headers and options win, and the caller's objects are not touched", async () => {
      const { model } = setup();
      const providerOptions = deepFreeze({
        tagalong: { user: "u_42" },
        ...pc.callerRequesty?.({ auto_cache: true }),
      });
      const headers = deepFreeze({ "X-Portkey-Metadata": '{"_user":"explicit"}' });
      await m.ai.generateText({ model, prompt: "hello", headers, providerOptions });
      const call = onlyCall();
      expect(call.portkey.metadata).toEqual({ _user: "explicit" });
      if (pc.callerRequesty) {
        expect(call.requesty).toEqual({ user_id: "u_42", auto_cache: true, extra: { environment: "test" } });
      }
      expect(providerOptions.tagalong).toEqual({ user: "u_42" });
    });

    // Behind another middleware (ours innermost), the model our hooks see is still the provider's.
    const otherMiddleware = {
      transformParams: async ({ params }: { params: { headers?: Record<string, string> } }) => ({
        ...params,
        headers: { ...params.headers, "x-other": "1" },
      }),
    };
    it.each([
      ["alone", false],
      ["behind another middleware", true],
    ] as const)(
      "a header set on the provider wins over ours, as one set on the call does (%s)",
      async (_, behind) => {
        const tagalong = createTagalong({ destinations: [portkey(), requesty()], metadata: DEFAULTS });
        const provider = pc.provider(m, rec.openaiBaseURL, { "X-Portkey-Metadata": '{"app":"mine"}' });
        const middleware = tagalongMiddleware(tagalong);
        const model = m.ai.wrapLanguageModel({
          model: pc.model(provider, MODEL_ID),
          middleware: behind ? [otherMiddleware, middleware] : middleware,
        });
        await m.ai.generateText({ model, prompt: "hello", providerOptions: { tagalong: perCall } });
        await m.ai.streamText({ model, prompt: "hello", providerOptions: { tagalong: perCall } }).text;
        await m.ai.generateText({
          model,
          prompt: "hello",
          headers: { "x-portkey-metadata": '{"app":"call"}' },
          providerOptions: { tagalong: perCall },
        });
        const calls = rec.calls();
        expect(calls.map((call) => call.portkey.rawHeader)).toEqual([
          '{"app":"mine"}',
          '{"app":"mine"}',
          '{"app":"call"}',
        ]);
        expect(calls.map((call) => call.portkey.traceId)).toEqual(["t_1", "t_1", "t_1"]);
        expect(calls.map((call) => call.requesty)).toEqual([requestyOf, requestyOf, requestyOf]);
        expect(calls.map((call) => call.headers["x-other"])).toEqual(
          behind ? ["1", "1", "1"] : [undefined, undefined, undefined],
        );
      },
    );

    it("a model made per call (as wrapProvider's languageModel(id) inline): the provider's headers are read once, not per model", async () => {
      let reads = 0;
      const headers = {
        get "x-app"() {
          reads++;
          return "mine";
        },
      };
      const provider = pc.provider(m, rec.openaiBaseURL, headers);
      const calls = async (wrap: (model: unknown) => unknown) => {
        reads = 0;
        for (let i = 0; i < 3; i++) {
          await m.ai.generateText({ model: wrap(pc.model(provider, MODEL_ID)), prompt: "hello" });
        }
        return reads;
      };
      const bare = await calls((model) => model);
      const middleware = tagalongMiddleware(
        createTagalong({ destinations: [portkey()], metadata: DEFAULTS }),
      );
      const wrapped = await calls((model) => m.ai.wrapLanguageModel({ model, middleware }));
      // What the provider reads itself for its requests, and at most once more for the middleware.
      expect(wrapped).toBeLessThanOrEqual(bare + 1);
      expect(rec.calls().map((call) => [call.headers["x-app"], call.portkey.metadata?._environment])).toEqual(
        [...Array(3).fill(["mine", undefined]), ...Array(3).fill(["mine", "test"])],
      );
    });

    it("tools and a multi-step run: every step carries the metadata and is recorded", async () => {
      const { model, recorded } = setup();
      const weather = m.ai.tool({
        description: "The weather in a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }: { city: string }) => ({ city, celsius: 21 }),
      });
      const generated = await m.ai.generateText({
        model,
        prompt: "weather?",
        tools: { weather },
        stopWhen: m.ai.stepCountIs(3),
        providerOptions: { tagalong: { user: "u_tools" } },
      });
      const streamed = m.ai.streamText({
        model,
        prompt: "weather?",
        tools: { weather },
        stopWhen: m.ai.stepCountIs(3),
        providerOptions: { tagalong: { user: "u_tools_stream" } },
      });
      await streamed.text;
      expect(generated.steps).toHaveLength(2);
      expect((await streamed.steps).length).toBe(2);

      const calls = rec.calls();
      expect(calls.map((c) => c.portkey.metadata?._user)).toEqual([
        "u_tools",
        "u_tools",
        "u_tools_stream",
        "u_tools_stream",
      ]);
      expect(calls.map((c) => c.requesty?.user_id)).toEqual(calls.map((c) => c.portkey.metadata?._user));

      await expect.poll(() => recorded.calls.length).toBe(4);
      for (const [i, stream] of [false, true].entries()) {
        const [first, second] = recorded.calls.slice(i * 2, i * 2 + 2);
        expect(first!.stream).toBe(stream);
        expect(first!.finishReason).toBe("tool_calls");
        expect(first!.output).toEqual([
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: expect.any(String), name: "weather", arguments: '{"city":"x"}' }],
          },
        ]);
        const toolCallId = first!.output[0]!.toolCalls![0]!.id;
        expect(second!.input.at(-2)).toMatchObject({
          role: "assistant",
          toolCalls: [{ id: toolCallId, name: "weather" }],
        });
        expect(second!.input.at(-1)).toMatchObject({ role: "tool", toolCallId, name: "weather" });
        expect(JSON.parse(second!.input.at(-1)!.content)).toEqual({ city: "x", celsius: 21 });
        expect(second!.output).toEqual([{ role: "assistant", content: replyText("weather?") }]);
        expect(second!.finishReason).toBe("stop");
        expect(second!.parameters?.tools).toEqual(["weather"]);
      }
    });

    it("a tool result with an image and a file is recorded with their placeholders", async () => {
      const { model, recorded } = setup();
      const png =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
      const pdf = "JVBERi0xLjQK";
      // Each major's own tool-result content parts: ai 5 `media`, ai 6 `image-data` / `file-data`, ai 7 `file`.
      const media = {
        "ai 5": [
          { type: "media", data: png, mediaType: "image/png" },
          { type: "media", data: pdf, mediaType: "application/pdf" },
        ],
        "ai 6": [
          { type: "image-data", data: png, mediaType: "image/png" },
          { type: "file-data", data: pdf, mediaType: "application/pdf", filename: "report.pdf" },
        ],
        "ai 7": [
          { type: "file", data: { type: "data", data: png }, mediaType: "image/png" },
          {
            type: "file",
            data: { type: "data", data: pdf },
            mediaType: "application/pdf",
            filename: "report.pdf",
          },
        ],
      }[major.name]!;
      const chart = m.ai.tool({
        description: "A chart of the weather",
        inputSchema: z.object({ city: z.string() }),
        execute: async () => "drawn",
        toModelOutput: () => ({ type: "content", value: [{ type: "text", text: "the chart" }, ...media] }),
      });
      await m.ai.generateText({ model, prompt: "chart?", tools: { chart }, stopWhen: m.ai.stepCountIs(2) });
      expect(rec.calls()).toHaveLength(2);
      await expect.poll(() => recorded.calls.length).toBe(2);
      const file = major.name === "ai 5" ? "[file]" : "[file: report.pdf]";
      expect(recorded.calls[1]!.input.at(-1)).toMatchObject({
        role: "tool",
        name: "chart",
        content: `the chart\n[image]\n${file}`,
      });
    });

    it("generateObject and streamObject", async () => {
      const { model, recorded } = setup();
      const schema = z.object({ echo: z.string() });
      const generated = await m.ai.generateObject({
        model,
        schema,
        prompt: "obj",
        providerOptions: { tagalong: { user: "u_obj" } },
      });
      const streamed = m.ai.streamObject({
        model,
        schema,
        prompt: "obj",
        providerOptions: { tagalong: { user: "u_obj_stream" } },
      });
      await consume(streamed.partialObjectStream);
      const object = await streamed.object;
      expect(schema.parse(generated.object)).toEqual(generated.object);
      expect(object).toEqual(generated.object);
      expect(rec.calls().map((c) => [c.portkey.metadata?._user, c.requesty?.user_id])).toEqual([
        ["u_obj", "u_obj"],
        ["u_obj_stream", "u_obj_stream"],
      ]);
      await expect.poll(() => recorded.calls.length).toBe(2);
      for (const call of recorded.calls) {
        expect(JSON.parse(call.output[0]!.content)).toEqual(generated.object);
        expect(call.parameters?.responseFormat).toBe("json_schema");
      }
    });

    it("wrapProvider: every language model of the provider carries the metadata", async () => {
      const recorded = memory();
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), recorded],
        metadata: DEFAULTS,
      });
      const provider = m.ai.wrapProvider({
        provider: pc.provider(m, rec.openaiBaseURL),
        languageModelMiddleware: tagalongMiddleware(tagalong),
      });
      const result = await m.ai.generateText({
        model: provider.languageModel(MODEL_ID),
        prompt: "hello",
        providerOptions: { tagalong: perCall },
      });
      expect(result.text).toBe(replyText("hello"));
      const calls = rec.calls();
      expect(calls).toHaveLength(1);
      expectPerCall(calls[0]!);
      expect(recorded.calls).toHaveLength(1);
    });

    it("every in-flight destination's body fields reach the wire (LiteLLM, OpenRouter)", async () => {
      const warnings: string[] = [];
      const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
      const { tagalong, model } = setup({
        destinations: [portkey(), requesty(), litellm(), openrouter()],
        logger,
      });
      await m.ai.generateText({ model, prompt: "hello", providerOptions: { tagalong: perCall } });
      await m.ai.streamText({ model, prompt: "hello", providerOptions: { tagalong: perCall } }).text;
      const { body } = tagalong.prepare(perCall);
      expect(Object.keys(body).sort()).toEqual([
        "litellm_session_id",
        "requesty",
        "session_id",
        "trace",
        "user",
      ]);
      // @requesty/ai-sdk 2 has no per-call way to add top-level fields: only `requesty` gets there.
      const reachable =
        pc.family === "requesty" && !major.requestyExtraBody ? ["requesty"] : Object.keys(body);
      for (const call of rec.calls()) {
        for (const [name, value] of Object.entries(body)) {
          expect(call.body[name], name).toEqual(reachable.includes(name) ? value : undefined);
        }
        expect(call.portkey.metadata).toEqual(portkeyOf);
      }
      expect(rec.calls()).toHaveLength(2);
      expect(warnings).toHaveLength(reachable.length === 1 ? 1 : 0);
    });

    it("a model under the middleware of two Tagalongs is handled by the outermost, and the inner one says once that it adds nothing", async () => {
      const { tagalong, recorded, provider } = setup();
      const warnings: string[] = [];
      const logger: Logger = { debug() {}, info() {}, warn: (w) => void warnings.push(w), error() {} };
      const inner = createTagalong({ destinations: [requesty()], metadata: { user: "u_inner" }, logger });
      const innerModel = m.ai.wrapLanguageModel({
        model: pc.model(provider, MODEL_ID),
        middleware: tagalongMiddleware(inner),
      });
      const both = m.ai.wrapLanguageModel({ model: innerModel, middleware: tagalongMiddleware(tagalong) });
      for (let i = 0; i < 2; i++) {
        await m.ai.generateText({ model: both, prompt: "hello", providerOptions: { tagalong: perCall } });
      }
      for (const call of rec.calls()) expectPerCall(call);
      expect(recorded.calls).toHaveLength(2);
      expect(warnings).toEqual([
        expect.stringMatching(
          /^@tagalong\/ai-sdk: a model wrapped by the tagalongMiddleware of two different Tagalongs/,
        ),
      ]);
    });

    it("a model wrapped twice is handled once", async () => {
      const { tagalong, recorded, model } = setup();
      const twice = m.ai.wrapLanguageModel({ model, middleware: tagalongMiddleware(tagalong) });
      await m.ai.generateText({ model: twice, prompt: "hello", providerOptions: { tagalong: perCall } });
      expectPerCall(onlyCall());
      expect(recorded.calls).toHaveLength(1);
    });

    it.each([false, true])(
      "the completed call (stream: %s) has the prompt, output, usage, ids and timing",
      async (stream) => {
        const { recorded, model } = setup();
        const options = {
          model,
          system: "Be terse.",
          prompt: "hello",
          temperature: 0.5,
          maxOutputTokens: 50,
          providerOptions: { tagalong: perCall },
        };
        const before = Date.now();
        let usage: { inputTokens?: number; outputTokens?: number };
        if (stream) {
          const result = m.ai.streamText(options);
          await result.text;
          usage = await result.usage;
        } else {
          usage = (await m.ai.generateText(options)).usage;
        }
        await expect.poll(() => recorded.calls.length).toBe(1);
        const call = recorded.calls[0]!;
        const wire = onlyCall();
        expect(call).toEqual({
          provider: pc.family,
          model: MODEL_ID,
          apiType: pc.endpoint === "responses" ? "responses" : "chat-completions",
          source: "ai-sdk",
          input: [
            { role: "system", content: "Be terse." },
            { role: "user", content: "hello" },
          ],
          output: [{ role: "assistant", content: replyText("hello") }],
          parameters: { temperature: 0.5, maxTokens: 50 },
          usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
          startTime: expect.any(Date),
          endTime: expect.any(Date),
          status: "success",
          responseId: wire.responseId,
          finishReason: "stop",
          stream,
          metadata: { ...DEFAULTS, ...perCall },
        });
        // Not every provider asks for usage on a stream (@requesty/ai-sdk 2 does not); where it does, it is real.
        if (!stream || pc.endpoint === "responses" || wire.body.stream_options?.include_usage === true) {
          expect(usage.inputTokens).toBeGreaterThan(0);
          expect(usage.outputTokens).toBeGreaterThan(0);
        }
        expect(call.startTime.getTime()).toBeGreaterThanOrEqual(before);
        expect(call.endTime.getTime()).toBeGreaterThanOrEqual(call.startTime.getTime());
        expect(call.endTime.getTime()).toBeLessThanOrEqual(Date.now());
      },
    );

    it("a failing call is recorded as an error and the caller gets the provider's own error", async () => {
      const { recorded, model } = setup();
      rec.fail({ kind: "openai", status: 400, times: 2 });
      const failure = await m.ai
        .generateText({ model, prompt: "hello", maxRetries: 0, providerOptions: { tagalong: perCall } })
        .catch((e: unknown) => e);
      const streamErrors: unknown[] = [];
      const streamed = m.ai.streamText({
        model,
        prompt: "hello",
        maxRetries: 0,
        onError: ({ error }: { error: unknown }) => void streamErrors.push(error),
      });
      await consume(streamed.fullStream);
      for (const error of [failure, streamErrors[0]]) {
        expect((error as Error).name).toBe("AI_APICallError");
        expect((error as { statusCode?: number }).statusCode).toBe(400);
      }
      expect(recorded.calls.map((c) => [c.status, c.stream, c.error])).toEqual([
        ["error", false, { type: "AI_APICallError", message: (failure as Error).message, status: 400 }],
        [
          "error",
          true,
          { type: "AI_APICallError", message: (streamErrors[0] as Error).message, status: 400 },
        ],
      ]);
      expect(rec.calls().map((c) => c.portkey.metadata?._user)).toEqual(["u_42", undefined]);
    });

    it("an aborted call is recorded as aborted, generated or streamed", async () => {
      const { recorded, model } = setup();
      rec.fail({ kind: "openai", hang: true });
      const generating = new AbortController();
      const generated = m.ai.generateText({
        model,
        prompt: "hello",
        abortSignal: generating.signal,
        maxRetries: 0,
      });
      await rec.waitFor((r) => r.requests.length === 1);
      generating.abort();
      await expect(generated).rejects.toSatisfy((e) => (e as Error).name === "AbortError");

      const streaming = new AbortController();
      const streamed = m.ai.streamText({
        model,
        prompt: "hello",
        abortSignal: streaming.signal,
        maxRetries: 0,
        onError: () => {},
      });
      const drained = consume(streamed.fullStream).catch(() => {});
      await rec.waitFor((r) => r.requests.length === 2);
      streaming.abort();
      await drained;
      await expect
        .poll(() => recorded.calls.map((c) => [c.status, c.stream]))
        .toEqual([
          ["aborted", false],
          ["aborted", true],
        ]);
    });

    it("1,000 concurrent calls with distinct users each arrive with their own metadata", async () => {
      const { model, recorded } = setup();
      const n = 1000;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          m.ai.generateText({
            model,
            prompt: `hello ${i}`,
            providerOptions: { tagalong: { user: `u_${i}`, tags: [`t${i % 7}`] } },
          }),
        ),
      );
      const byResponseId = new Map(rec.calls().map((c) => [c.responseId, c]));
      let mismatches = 0;
      results.forEach((result, i) => {
        const call = byResponseId.get(result.response.id);
        const ok =
          result.text === replyText(`hello ${i}`) &&
          call?.portkey.metadata?._user === `u_${i}` &&
          call.portkey.metadata.tags === `t${i % 7}` &&
          call.requesty?.user_id === `u_${i}`;
        if (!ok) mismatches++;
      });
      for (const call of recorded.calls) {
        if (call.input.at(-1)?.content !== `hello ${call.metadata.user?.slice(2)}`) mismatches++;
      }
      expect(byResponseId.size).toBe(n);
      // On a loaded machine a connection may fail and the SDK retry it: each attempt is recorded, the
      // failed ones as errors (with the same metadata); every call succeeds once.
      expect(recorded.calls.filter((c) => c.status === "success")).toHaveLength(n);
      expect(mismatches).toBe(0);
    }, 60_000);

    /** A call's text, by generateText or streamText (its errors rejected, not logged). */
    const textBy = {
      generateText: (options: object): Promise<string> => m.ai.generateText(options).then((r) => r.text),
      streamText: (options: object): Promise<string> =>
        m.ai.streamText({ ...options, onError: () => {} }).text,
    };
    it.each(Object.keys(textBy) as (keyof typeof textBy)[])(
      "%s: a call the SDK retries is logged once: success after two 500s, error after three",
      async (fn) => {
        const text = textBy[fn];
        const tagalong = createTagalong({
          destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
          metadata: DEFAULTS,
        });
        const model = m.ai.wrapLanguageModel({
          model: pc.model(pc.provider(m, rec.openaiBaseURL), MODEL_ID),
          middleware: tagalongMiddleware(tagalong),
        });
        // retry-after-ms keeps the SDK's waits between attempts short.
        rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 2 });
        expect(await text({ model, prompt: "hello", maxRetries: 2 })).toBe(replyText("hello"));
        await tagalong.flush();
        expect(rec.calls().map((c) => c.status)).toEqual([500, 500, 200]);
        expect(rec.promptLayer.logs().map((l) => l.body.status)).toEqual(["SUCCESS"]);
        // One call, timed from its first attempt.
        expect(Date.parse(rec.promptLayer.logs()[0]!.body.request_start_time)).toBeLessThanOrEqual(
          rec.calls()[0]!.time,
        );

        await rec.reset();
        rec.fail({ kind: "openai", status: 500, retryAfter: 0.01 });
        await expect(text({ model, prompt: "bye", maxRetries: 2 })).rejects.toThrow();
        await tagalong.flush();
        expect(rec.calls()).toHaveLength(3);
        const logs = rec.promptLayer.logs();
        expect(logs.map((l) => l.body.status)).toEqual(["ERROR"]);
        expect(Date.parse(logs[0]!.body.request_start_time)).toBeLessThanOrEqual(rec.calls()[0]!.time);
        expect(rec.promptLayer.duplicates()).toBe(0);
        await tagalong.shutdown();
      },
      30_000,
    );

    // The AI SDK docs' RAG middleware (a new prompt array for every attempt), and one that gives each
    // attempt a request id of its own (new headers for every attempt).
    const perAttempt = {
      "rebuilds the prompt": ({ params }: { params: { prompt: unknown[] } }) => ({
        ...params,
        prompt: [{ role: "system", content: "Context: none." }, ...params.prompt],
      }),
      "adds a header": ({ params }: { params: { headers?: Record<string, string> } }) => ({
        ...params,
        headers: { ...params.headers, "x-request-id": crypto.randomUUID() },
      }),
    };
    // ai 7's streamText rebuilds the prompt for every attempt and hands on the caller's headers: its
    // attempts are matched by model, prompt text and metadata, whatever a middleware rebuilds. Not
    // streamText of ai 5 and 6 under a middleware that rebuilds the prompt: they hand it the caller's
    // own headers, so nothing tells its next attempt from another call with the same prompt.
    it.each([
      ["generateText", "rebuilds the prompt"],
      ["generateText", "adds a header"],
      ["streamText", "adds a header"],
      ...(major.name === "ai 7" ? [["streamText", "rebuilds the prompt"] as const] : []),
    ] as const)(
      "%s: a call the SDK retries is logged once under a middleware that %s per attempt",
      async (fn, what) => {
        const [transformParams, text] = [perAttempt[what], textBy[fn]];
        const tagalong = createTagalong({
          destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
          metadata: DEFAULTS,
        });
        const model = m.ai.wrapLanguageModel({
          model: pc.model(pc.provider(m, rec.openaiBaseURL), MODEL_ID),
          middleware: [
            { transformParams: async (options: any) => transformParams(options) },
            tagalongMiddleware(tagalong),
          ],
        });
        rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 1 });
        expect(await text({ model, prompt: "hello", maxRetries: 2 })).toBe(replyText("hello"));
        await tagalong.flush();
        expect(rec.calls().map((c) => c.status)).toEqual([500, 200]);
        expect(rec.promptLayer.logs().map((l) => l.body.status)).toEqual(["SUCCESS"]);
        await tagalong.shutdown();
      },
      30_000,
    );

    it.each(Object.entries(textBy))(
      "%s: two concurrent calls sharing the caller's headers and prompt text are not taken for one call's attempts",
      async (_, text) => {
        const { tagalong, model } = setup({
          destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
        });
        const headers = { "x-app": "shared" };
        rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 2 });
        const [a, b] = await Promise.allSettled([
          text({
            model,
            prompt: "hello",
            headers,
            maxRetries: 0,
            providerOptions: { tagalong: { user: "a" } },
          }),
          text({
            model,
            prompt: "hello",
            headers,
            maxRetries: 1,
            providerOptions: { tagalong: { user: "b" } },
          }),
        ]);
        expect([a.status, b.status]).toEqual(["rejected", "fulfilled"]);
        await tagalong.flush();
        const logs = rec.promptLayer.logs().map((l) => [l.body.metadata.user_id, l.body.status]);
        expect(logs.sort()).toEqual([
          ["a", "ERROR"],
          ["b", "SUCCESS"],
        ]);
        await tagalong.shutdown();
      },
      30_000,
    );

    it("a call the provider refused reaches PromptLayer in the category of its HTTP status", async () => {
      const { tagalong, model } = setup({
        destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
      });
      for (const status of [429, 401, 403, 504, 400]) {
        const rule = rec.fail({ kind: "openai", status });
        await expect(m.ai.generateText({ model, prompt: "hello", maxRetries: 0 })).rejects.toThrow();
        rule.clear();
      }
      // A failure the SDK may retry (429, 504) is held for that retry, so the flush sends it as final,
      // after the others: the categories are compared in sorted order.
      await tagalong.flush();
      expect(
        rec.promptLayer
          .logs()
          .map((l) => l.body.error_type)
          .sort(),
      ).toEqual([
        "PROVIDER_AUTH_ERROR",
        "PROVIDER_AUTH_ERROR",
        "PROVIDER_ERROR",
        "PROVIDER_RATE_LIMIT",
        "PROVIDER_TIMEOUT",
      ]);
      await tagalong.shutdown();
    });

    it.skipIf(major.name === "ai 5")(
      "a call past the SDK's own timeout reaches PromptLayer as PROVIDER_TIMEOUT, the caller's abort as a warning",
      async () => {
        const { tagalong, model } = setup({
          destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
        });
        const hang = rec.fail({ kind: "openai", hang: true });
        const generate = m.ai.generateText as (options: Record<string, unknown>) => Promise<unknown>;
        await expect(generate({ model, prompt: "late", maxRetries: 0, timeout: 50 })).rejects.toThrow();
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 50);
        await expect(
          generate({ model, prompt: "stopped", maxRetries: 0, abortSignal: controller.signal }),
        ).rejects.toThrow();
        hang.clear();
        await tagalong.flush();
        const logs = rec.promptLayer.logs().map((l) => [l.body.status, l.body.error_type]);
        expect(logs).toEqual([
          ["ERROR", "PROVIDER_TIMEOUT"],
          ["WARNING", undefined],
        ]);
        await tagalong.shutdown();
      },
    );

    it("under a serverless waitUntil, a failure the SDK may retry is logged within 20 s, before Workers cancel it", async () => {
      const handed: Promise<unknown>[] = [];
      const errors: unknown[] = [];
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
        metadata: DEFAULTS,
        onError: (e) => errors.push(e),
        waitUntil: (p) => void handed.push(p),
      });
      const model = m.ai.wrapLanguageModel({
        model: pc.model(pc.provider(m, rec.openaiBaseURL), MODEL_ID),
        middleware: tagalongMiddleware(tagalong),
      });
      rec.fail({ kind: "openai", status: 500 });
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        // A 500 is retryable: its log waits to learn whether the SDK retries it (65 s off serverless).
        let failed = false;
        m.ai.generateText({ model, prompt: "hello", maxRetries: 0 }).catch(() => (failed = true));
        while (!failed) await new Promise((resolve) => setImmediate(resolve));
        expect(handed).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(20_000);
      } finally {
        vi.useRealTimers();
      }
      await rec.waitFor((r) => r.promptLayer.logs().length === 1);
      await Promise.all(handed);
      expect(rec.promptLayer.logs().map((l) => l.body.status)).toEqual(["ERROR"]);
      expect(errors).toEqual([]);
    });

    it("end to end with PromptLayer: each call is logged with its metadata and prompt", async () => {
      const tagalong = createTagalong({
        destinations: [portkey(), promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
        metadata: DEFAULTS,
      });
      const model = m.ai.wrapLanguageModel({
        model: pc.model(pc.provider(m, rec.openaiBaseURL), MODEL_ID),
        middleware: tagalongMiddleware(tagalong),
      });
      const tagalongMeta: Metadata = {
        user: "u_pl",
        tags: ["pl"],
        prompt: { name: "greeting", version: 2, variables: { who: "world" } },
      };
      await m.ai.generateText({ model, prompt: "hello", providerOptions: { tagalong: tagalongMeta } });
      await m.ai.streamText({ model, prompt: "hello stream", providerOptions: { tagalong: tagalongMeta } })
        .text;
      await tagalong.flush();
      const logs = rec.promptLayer.logs();
      expect(logs).toHaveLength(2);
      for (const [i, log] of logs.entries()) {
        expect(log.metadata).toEqual({ user_id: "u_pl", environment: "test" });
        expect(log.body.tags).toEqual(["pl"]);
        expect(log.body.model).toBe(MODEL_ID);
        expect(log.body.status).toBe("SUCCESS");
        const prompt = ["hello", "hello stream"][i]!;
        expect(log.body.output.messages[0].content).toEqual([{ type: "text", text: replyText(prompt) }]);
        expect(log.prompt).toMatchObject({ prompt_name: "greeting", version: 2, request_id: log.id });
      }
      await tagalong.shutdown();
    });
  });
});

async function consume(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // drain
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe.each(MAJORS)("$name: what the user set on the provider or the call wins", (major) => {
  let m: Awaited<ReturnType<typeof major.load>>;
  beforeAll(async () => {
    if (nodeMajor >= major.minNode) m = await major.load();
  });
  const run = it.skipIf(nodeMajor < major.minNode);
  const apiKey = "sk-test";

  function setup(destinations: Destination[] = [portkey(), requesty()]) {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (w) => void warnings.push(w), error() {} };
    const tagalong = createTagalong({ destinations, metadata: { user: "u_1" }, logger });
    const wrap = (model: unknown) =>
      m.ai.wrapLanguageModel({ model, middleware: tagalongMiddleware(tagalong) });
    return { wrap, warnings };
  }

  run(
    "@requesty/ai-sdk: the requesty keys set on the provider (extraBody) are kept beside ours",
    async () => {
      const { wrap } = setup();
      const provider = m.createRequesty({
        baseURL: rec.openaiBaseURL,
        apiKey,
        extraBody: { requesty: { auto_cache: true, user_id: "mine" } },
      });
      await m.ai.generateText({ model: wrap(provider.chat(MODEL_ID)), prompt: "hello" });
      await m.ai.streamText({ model: wrap(provider.chat(MODEL_ID)), prompt: "hello" }).text;
      expect(rec.calls().map((call) => call.body.requesty)).toEqual([
        { auto_cache: true, user_id: "mine" },
        { auto_cache: true, user_id: "mine" },
      ]);
    },
  );

  it.skipIf(nodeMajor < major.minNode || !major.requestyExtraBody)(
    "@requesty/ai-sdk: a top-level key set on the provider, and the caller's own user, win over ours",
    async () => {
      const { wrap } = setup([requesty(), openrouter()]);
      const provider = m.createRequesty({
        baseURL: rec.openaiBaseURL,
        apiKey,
        extraBody: { session_id: "mine" },
      });
      const model = wrap(provider.chat(MODEL_ID));
      await m.ai.generateText({
        model,
        prompt: "hello",
        providerOptions: { tagalong: { session: "s_ours" }, requesty: { user: "caller" } },
      });
      await m.ai.generateText({
        model,
        prompt: "hello",
        providerOptions: { tagalong: { session: "s_ours" } },
      });
      expect(rec.calls().map((call) => [call.body.session_id, call.body.user])).toEqual([
        ["mine", "caller"],
        ["mine", "u_1"],
      ]);
    },
  );

  it.skipIf(nodeMajor < major.minNode || !major.requestyExtraBody)(
    "@requesty/ai-sdk: the requesty keys set per call in extraBody are kept beside ours, theirs winning",
    async () => {
      const { wrap } = setup();
      const provider = m.createRequesty({ baseURL: rec.openaiBaseURL, apiKey });
      const model = wrap(provider.chat(MODEL_ID));
      const providerOptions = {
        tagalong: { trace: "t_ours", tags: ["ours"] },
        requesty: { extraBody: { requesty: { auto_cache: true, trace_id: "t_mine" } } },
      };
      await m.ai.generateText({ model, prompt: "hello", providerOptions });
      await m.ai.streamText({ model, prompt: "hello", providerOptions }).text;
      const mine = { auto_cache: true, trace_id: "t_mine", user_id: "u_1", tags: ["ours"] };
      expect(rec.calls().map((call) => call.body.requesty)).toEqual([mine, mine]);
    },
  );

  // What the caller set as the body's `requesty` (per call, on the model or the provider), as
  // @requesty/ai-sdk would send it without Tagalong; ours fills only the keys the caller did not set.
  // Keys named like the provider's own per-call options (user, includeReasoning, reasoningEffort,
  // extraBody) cannot go flat in providerOptions.requesty, and the call's requesty replaces the
  // model's and the provider's whole rather than merging with them.
  const OWN_NAMED = { user: "mine", includeReasoning: true, reasoningEffort: "low", extraBody: { x: 1 } };
  interface RequestyCase {
    readonly name: string;
    readonly v3Only?: boolean;
    readonly provider?: Record<string, unknown>;
    readonly model?: Record<string, unknown>;
    readonly requesty?: Record<string, unknown>;
  }
  const REQUESTY_CASES: readonly RequestyCase[] = [
    {
      name: "own-named keys per call",
      v3Only: true,
      requesty: { extraBody: { requesty: { ...OWN_NAMED, auto_cache: true }, custom: 1 } },
    },
    { name: "own-named keys on the model", model: { extraBody: { requesty: { ...OWN_NAMED } } } },
    {
      name: "own-named keys on the provider",
      provider: { extraBody: { requesty: { ...OWN_NAMED, trace_id: "t_mine" } } },
    },
    {
      name: "the call's requesty over the provider's",
      v3Only: true,
      provider: { extraBody: { requesty: { auto_cache: true } } },
      requesty: { extraBody: { requesty: { trace_id: "t_mine" } } },
    },
    {
      name: "the model's requesty over the provider's",
      provider: { extraBody: { requesty: { auto_cache: true } } },
      model: { extraBody: { requesty: { trace_id: "t_mine" } } },
    },
    {
      name: "flat keys over the call's extraBody requesty",
      v3Only: true,
      requesty: { auto_cache: true, extraBody: { requesty: { trace_id: "t_mine" } } },
    },
    {
      name: "flat keys over the model's extraBody requesty",
      requesty: { auto_cache: true },
      model: { extraBody: { requesty: { trace_id: "t_mine" } } },
    },
  ];
  run.each(REQUESTY_CASES)(
    "@requesty/ai-sdk: the caller's requesty arrives as without Tagalong, ours beside it ($name)",
    async (c) => {
      if (c.v3Only && !major.requestyExtraBody) return;
      const { wrap } = setup();
      const provider = m.createRequesty({ baseURL: rec.openaiBaseURL, apiKey, ...c.provider });
      const model = provider.chat(MODEL_ID, c.model ?? {});
      const providerOptions = c.requesty ? { requesty: c.requesty } : {};
      await m.ai.generateText({ model, prompt: "hello", providerOptions });
      await m.ai.generateText({ model: wrap(model), prompt: "hello", providerOptions });
      await m.ai.streamText({ model: wrap(model), prompt: "hello", providerOptions }).text;
      const [without, withTagalong, streamed] = rec.calls().map((call) => call.body);
      const theirs = without!.requesty as Record<string, unknown> | undefined;
      expect(withTagalong).toEqual({ ...without, requesty: { user_id: "u_1", ...theirs } });
      expect(streamed!.requesty).toEqual({ user_id: "u_1", ...theirs });
      // The own-named keys break Requesty's rule for `requesty`: the caller's choice, sent as without
      // Tagalong. Only those, and checked here since afterEach would count them.
      const own = /requesty: unknown key "(user|includeReasoning|reasoningEffort|extraBody)"/;
      expect(rec.violations().filter((v) => !own.test(v))).toEqual([]);
      expect(rec.requests.flatMap((request) => keysNamed("tagalong", request.body))).toEqual([]);
      await rec.reset();
    },
  );

  run.each(["openai", "azure", "requesty"])(
    "an @ai-sdk/openai-compatible provider named %s carries the body fields as openai-compatible does",
    async (name) => {
      const { wrap, warnings } = setup([portkey(), requesty(), openrouter()]);
      const provider = m.createOpenAICompatible({ name, baseURL: rec.openaiBaseURL, apiKey });
      await m.ai.generateText({ model: wrap(provider.chatModel(MODEL_ID)), prompt: "hello" });
      const { body } = onlyCallOf(rec);
      expect(body.requesty).toEqual({ user_id: "u_1" });
      expect(body.user).toBe("u_1");
      expect(body.user_id).toBeUndefined();
      expect(body.extraBody).toBeUndefined();
      expect(warnings).toEqual([]);
    },
  );

  it.skipIf(nodeMajor < major.minNode || major.name === "ai 5")(
    "@ai-sdk/openai-compatible: the caller's user under the generic openaiCompatible key wins over ours",
    async () => {
      const { wrap } = setup([openrouter()]);
      const provider = m.createOpenAICompatible({ name: "gw", baseURL: rec.openaiBaseURL, apiKey });
      await m.ai.generateText({
        model: wrap(provider.chatModel(MODEL_ID)),
        prompt: "hello",
        providerOptions: { openaiCompatible: { user: "caller" } },
      });
      expect(onlyCallOf(rec).body.user).toBe("caller");
    },
  );
});

function onlyCallOf(recorder: Recorder): ModelCall {
  const calls = recorder.calls();
  expect(calls).toHaveLength(1);
  return calls[0]!;
}
