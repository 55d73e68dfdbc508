// Two call shapes beside the language model's own: embedding models (ai 6 and 7's wrapEmbeddingModel)
// and a caching middleware placed inside ours. What arrives on the wire at the loopback recorder, what
// is recorded, what is warned about.
import {
  createTagalong,
  type Destination,
  type Logger,
  portkey,
  requesty,
  withMetadata,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type Recorder, replyText } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tagalongFetch, tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor } from "./matrix";

const apiKey = "sk-test-not-a-real-key";

let rec: Recorder;
beforeAll(async () => {
  rec = await createRecorder({});
});
afterEach(async () => {
  const violations = rec.violations();
  await rec.reset();
  expect(violations).toEqual([]);
});
afterAll(async () => {
  await rec.close();
});

function setup() {
  const calls: CompletedCall[] = [];
  const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  const tagalong = createTagalong({
    destinations: [portkey(), requesty(), memory],
    metadata: { environment: "test" },
    logger,
  });
  return { tagalong, calls, warnings };
}

/** Settles the background queue that hands calls to the destinations. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(MAJORS.filter((major) => major.name !== "ai 5"))("$name: embedding models", (major) => {
  let m: any;
  beforeAll(async () => {
    if (nodeMajor < major.minNode) return;
    const ai = major.name === "ai 6" ? await import("ai") : await import("ai-v7");
    m = { ...(await major.load()), ai };
  });

  it.skipIf(nodeMajor < major.minNode)(
    "embed through wrapEmbeddingModel carries the metadata on the wire and is recorded as an embeddings call",
    async () => {
      const { tagalong, calls, warnings } = setup();
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const model = m.ai.wrapEmbeddingModel({
        model: provider.embedding("emb-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      const result = await withMetadata({ session: "s_1" }, () =>
        m.ai.embed({ model, value: "hello", providerOptions: { tagalong: { user: "u_42" } } }),
      );
      expect(result.embedding.length).toBeGreaterThan(0);
      const [call, ...more] = rec.calls();
      expect(more).toEqual([]);
      expect(call!.endpoint).toBe("embeddings");
      expect(call!.portkey.metadata).toEqual({ _user: "u_42", session_id: "s_1", _environment: "test" });
      expect(call!.requesty).toEqual({ user_id: "u_42", extra: { session_id: "s_1", environment: "test" } });
      await settle();
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        provider: "openai",
        model: "emb-test",
        apiType: "embeddings",
        input: [{ role: "user", content: "hello" }],
        output: [],
        status: "success",
        stream: false,
        metadata: { user: "u_42", session: "s_1", environment: "test" },
      });
      expect(calls[0]!.usage?.inputTokens).toBeGreaterThan(0);
      expect(warnings).toEqual([]);
    },
  );

  it.skipIf(nodeMajor < major.minNode)(
    "an embed the SDK retries after a 500 is recorded once: the failed attempt is superseded at once",
    async () => {
      const { tagalong, calls } = setup();
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const model = m.ai.wrapEmbeddingModel({
        model: provider.embedding("emb-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      // retry-after-ms keeps the SDK's wait between attempts short.
      rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 1 });
      // Two calls at once: each one's retry supersedes its own failed attempt, not the other's.
      await Promise.all(["hello", "there"].map((value) => m.ai.embed({ model, value, maxRetries: 2 })));
      expect(rec.calls().map((c) => c.status)).toEqual([500, 200, 200]);
      await settle();
      const failed = calls.filter((c) => c.status === "error");
      expect(failed).toHaveLength(1);
      const held = new Promise((resolve) => setTimeout(() => resolve("still held for a retry"), 2_000));
      expect(await Promise.race([failed[0]!.final, held])).toBe(false);
      const retried = calls.find(
        (c) => c.status === "success" && c.input[0]!.content === failed[0]!.input[0]!.content,
      );
      expect(retried!.startTime).toEqual(failed[0]!.startTime);
    },
  );

  it.skipIf(nodeMajor < major.minNode)(
    "embedMany in several requests: each carries the metadata and is recorded with its own values, a retried one once",
    async () => {
      const { tagalong, calls } = setup();
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const inner = provider.embedding("emb-test");
      inner.maxEmbeddingsPerCall = 2;
      const model = m.ai.wrapEmbeddingModel({ model: inner, middleware: tagalongMiddleware(tagalong) });
      rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 1 });
      const result = await m.ai.embedMany({
        model,
        values: ["a", "b", "c", "d", "e"],
        maxRetries: 2,
        providerOptions: { tagalong: { user: "u_9" } },
      });
      expect(result.embeddings).toHaveLength(5);
      const sent = rec.calls();
      expect(sent.map((c) => c.status).sort()).toEqual([200, 200, 200, 500]);
      for (const call of sent) {
        expect(call.portkey.metadata).toEqual({ _user: "u_9", _environment: "test" });
        expect(call.requesty).toEqual({ user_id: "u_9", extra: { environment: "test" } });
      }
      await settle();
      // The failed request is superseded by its retry: final resolves false for it alone.
      const finals = await Promise.all(calls.map((c) => c.final ?? true));
      const logged = calls.filter((_, i) => finals[i]);
      expect(logged.map((c) => [c.status, c.input.map((m) => m.content).join()]).sort()).toEqual([
        ["success", "a,b"],
        ["success", "c,d"],
        ["success", "e"],
      ]);
    },
  );

  it.skipIf(nodeMajor < major.minNode)(
    "embedMany to a provider without tagalongFetch: the headers go out, the body field is named in one warning",
    async () => {
      const { tagalong, calls, warnings } = setup();
      const provider = m.createOpenAICompatible({ name: "gw", baseURL: rec.openaiBaseURL, apiKey });
      const model = m.ai.wrapEmbeddingModel({
        model: provider.embeddingModel("emb-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      for (let i = 0; i < 2; i++) {
        await m.ai.embedMany({ model, values: ["a", "b"], providerOptions: { tagalong: { user: "u_42" } } });
      }
      const sent = rec.calls();
      expect(sent).toHaveLength(2);
      for (const call of sent) {
        expect(call.portkey.metadata).toEqual({ _user: "u_42", _environment: "test" });
        expect(call.requesty).toBeUndefined();
        expect(call.body.gw).toBeUndefined();
      }
      expect(warnings).toEqual([
        "@tagalong/ai-sdk: gw.embedding drops unknown body fields and this provider was created without tagalongFetch, so requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
      ]);
      await settle();
      const input = [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ];
      expect(calls.map((c) => [c.provider, c.apiType, c.input])).toEqual([
        ["gw", "embeddings", input],
        ["gw", "embeddings", input],
      ]);
    },
  );
});

/** A caching middleware as the AI SDK's docs write one: a hit answers without calling the model. */
function cacheMiddleware() {
  const cache = new Map<string, any>();
  return {
    specificationVersion: "v3",
    wrapGenerate: async ({ doGenerate, params }: any) => {
      const key = JSON.stringify(params.prompt);
      if (!cache.has(key)) cache.set(key, await doGenerate());
      return cache.get(key);
    },
    wrapStream: async ({ doStream, params }: any) => {
      const key = `stream:${JSON.stringify(params.prompt)}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        return {
          ...hit.result,
          stream: new ReadableStream({
            start(controller) {
              for (const part of hit.parts) controller.enqueue(part);
              controller.close();
            },
          }),
        };
      }
      const result = await doStream();
      const parts: unknown[] = [];
      cache.set(key, { result, parts });
      return {
        ...result,
        stream: result.stream.pipeThrough(
          new TransformStream({
            transform(part, controller) {
              parts.push(part);
              controller.enqueue(part);
            },
          }),
        ),
      };
    },
  };
}

describe.each(MAJORS)("$name: a caching middleware inside ours", (major) => {
  let m: Awaited<ReturnType<typeof major.load>>;
  beforeAll(async () => {
    if (nodeMajor >= major.minNode) m = await major.load();
  });

  it.skipIf(nodeMajor < major.minNode)(
    "a cache hit (generate and stream) sends nothing and gives no warning about tagalongFetch",
    async () => {
      const { tagalong, calls, warnings } = setup();
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const model = m.ai.wrapLanguageModel({
        model: provider.chat("gpt-test"),
        middleware: [tagalongMiddleware(tagalong), cacheMiddleware()],
      });
      const providerOptions = { tagalong: { user: "u_42" } };
      for (let i = 0; i < 2; i++) {
        const generated = await m.ai.generateText({ model, prompt: "hello", providerOptions });
        expect(generated.text).toBe(replyText("hello"));
        const streamed = m.ai.streamText({ model, prompt: "again", providerOptions });
        expect(await streamed.text).toBe(replyText("again"));
      }
      const sent = rec.calls();
      expect(sent).toHaveLength(2);
      for (const call of sent)
        expect(call.requesty).toEqual({ user_id: "u_42", extra: { environment: "test" } });
      expect(warnings).toEqual([]);
      await settle();
      // Recorded, as LangChain's cache hits are: each answer the caller got is a call.
      expect(calls.map((c) => [c.status, c.input[0]?.content])).toEqual([
        ["success", "hello"],
        ["success", "again"],
        ["success", "hello"],
        ["success", "again"],
      ]);
    },
  );

  it.skipIf(nodeMajor < major.minNode)(
    "behind a caching middleware, a request sent through a fetch that is not tagalongFetch is still named",
    async () => {
      const { tagalong, warnings } = setup();
      const own: typeof fetch = (input, init) => fetch(input, init);
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: own });
      const model = m.ai.wrapLanguageModel({
        model: provider.chat("gpt-test"),
        middleware: [tagalongMiddleware(tagalong), cacheMiddleware()],
      });
      await m.ai.generateText({ model, prompt: "hello", providerOptions: { tagalong: { user: "u_42" } } });
      expect(rec.calls().map((call) => call.requesty)).toEqual([undefined]);
      expect(warnings).toEqual([
        "@tagalong/ai-sdk: openai.chat drops unknown body fields and this provider was created without tagalongFetch, so requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
      ]);
    },
  );
});
