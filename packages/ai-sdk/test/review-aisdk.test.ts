// Review repros (rev-aisdk). Each test asserts the documented behaviour; a failure is a defect.
import { createTagalong, type Destination, type Logger, openrouter, portkey, requesty, withMetadata } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { useRecorder } from "../../core/test/use-recorder";
import { tagalongFetch, tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor } from "./matrix";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
const recorder = useRecorder();

function setup(destinations: Destination[] = [portkey(), requesty()]) {
  const warnings: string[] = [];
  const calls: CompletedCall[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
  const tagalong = createTagalong({
    destinations: [...destinations, memory],
    metadata: { user: "u_rev" },
    logger,
  });
  return { tagalong, warnings, calls, middleware: tagalongMiddleware(tagalong) };
}

for (const major of MAJORS) {
  const rec = () => recorder.rec;
  describe.skipIf(nodeMajor < major.minNode)(`${major.name}: review`, () => {
    it("stream cancelled midway is recorded once as aborted", async () => {
      const m = await major.load();
      const { middleware, calls } = setup();
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: tagalongFetch() });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const result = m.ai.streamText({ model, prompt: "word ".repeat(2000) });
      let n = 0;
      for await (const _ of result.textStream) {
        if (++n === 3) break;
      }
      await new Promise((r) => setTimeout(r, 2000));
      console.log("CANCEL", major.name, calls.map((c) => [c.status, c.output[0]?.content.length]));
    });

    it.each([false, true])("multi-step run (stream %s) aborted during step 2: step 1 success, step 2 aborted", async (stream) => {
      const m = await major.load();
      const { middleware, calls } = setup();
      const { z } = await import("zod");
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: tagalongFetch() });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const weather = m.ai.tool({
        description: "The weather in a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }: { city: string }) => {
          rec().fail({ kind: "openai", hang: true, times: 1 });
          return { city, celsius: 21 };
        },
      });
      const controller = new AbortController();
      const options = { model, prompt: "weather?", tools: { weather }, stopWhen: m.ai.stepCountIs(3), abortSignal: controller.signal, maxRetries: 0 };
      const done = stream
        ? m.ai.streamText({ ...options, onError: () => {} }).consumeStream().catch(() => {})
        : m.ai.generateText(options).catch(() => {});
      await rec().waitFor((r) => r.requests.length === 2);
      controller.abort();
      await done;
      await new Promise((r) => setTimeout(r, 300));
      expect(calls.map((c) => [c.status, c.finishReason ?? null])).toEqual([["success", "tool_calls"], ["aborted", null]]);
    });

    it("multi-step streamText started in a withMetadata scope and read outside it: every step carries the scope", async () => {
      const m = await major.load();
      const { middleware, calls } = setup();
      const { z } = await import("zod");
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: tagalongFetch() });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const weather = m.ai.tool({
        description: "The weather in a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }: { city: string }) => ({ city, celsius: 21 }),
      });
      const result = withMetadata({ session: "s_scope" }, () =>
        m.ai.streamText({ model, prompt: "weather?", tools: { weather }, stopWhen: m.ai.stepCountIs(3) }),
      );
      await result.text;
      await new Promise((r) => setTimeout(r, 100));
      expect(rec().calls().map((c) => c.portkey.metadata?.session_id)).toEqual(["s_scope", "s_scope"]);
      expect(calls.map((c) => c.metadata.session)).toEqual(["s_scope", "s_scope"]);
    });

    it("requesty: the caller's own providerOptions.requesty.user wins over an in-flight destination's `user`", async () => {
      const m = await major.load();
      const { middleware } = setup([requesty(), openrouter()]);
      const provider = m.createRequesty({ baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi", providerOptions: { requesty: { user: "caller_user" } } });
      expect(rec().calls()[0]!.body.user).toBe("caller_user");
    });

    it("requesty: a provider-level extraBody key wins over an in-flight destination's", async () => {
      const m = await major.load();
      const { middleware } = setup([requesty(), openrouter()]);
      const provider = m.createRequesty({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", extraBody: { session_id: "mine" } });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi", providerOptions: { tagalong: { session: "s_ours" } } });
      expect(rec().calls()[0]!.body.session_id).toBe("mine");
    });

    it("requesty: provider-level extraBody.requesty keys are kept beside ours", async () => {
      const m = await major.load();
      const { middleware } = setup([requesty()]);
      const provider = m.createRequesty({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", extraBody: { requesty: { auto_cache: true } } });
      const bare = provider.chat("gpt-test");
      await m.ai.generateText({ model: bare, prompt: "hi" });
      const model = m.ai.wrapLanguageModel({ model: bare, middleware });
      await m.ai.generateText({ model, prompt: "hi" });
      const [without, withTagalong] = rec().calls();
      console.log("REQ-EXTRA", major.name, JSON.stringify(without!.body.requesty), JSON.stringify(withTagalong!.body.requesty));
      expect(withTagalong!.body.requesty).toEqual({ auto_cache: true, user_id: "u_rev" });
    });

    it.each(["openai", "azure"])("openai-compatible named %s: the body fields reach the wire", async (name) => {
      const m = await major.load();
      const { middleware, warnings } = setup();
      const provider = m.createOpenAICompatible({ name, baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chatModel("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi" });
      expect(rec().calls()[0]!.requesty).toEqual({ user_id: "u_rev" });
      expect(warnings).toEqual([]);
    });

    it("openai-compatible named requesty: the requesty body field arrives as it is, nothing else added", async () => {
      const m = await major.load();
      const { middleware } = setup();
      const provider = m.createOpenAICompatible({ name: "requesty", baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chatModel("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi" });
      const body = rec().calls()[0]!.body;
      console.log("OC-REQUESTY", major.name, JSON.stringify(body).slice(0, 300));
      expect(body.requesty).toEqual({ user_id: "u_rev" });
      expect(body.user_id).toBeUndefined();
    });

    it("with another middleware after ours in the array, a provider-level header still wins over ours", async () => {
      const m = await major.load();
      const { middleware } = setup();
      const other = { specificationVersion: "v3", transformParams: async ({ params }: any) => ({ ...params, temperature: 0.1 }) };
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: tagalongFetch(), headers: { "X-Portkey-Metadata": '{"app":"mine"}' } });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware: [middleware, other] });
      await m.ai.generateText({ model, prompt: "hi" });
      const call = rec().calls()[0]!;
      expect(call.requesty).toEqual({ user_id: "u_rev" });
      expect(call.portkey.rawHeader).toBe('{"app":"mine"}');
    });

    it("with another middleware after ours, createOpenAI({ name, fetch: tagalongFetch() }) still carries the body fields", async () => {
      const m = await major.load();
      const { middleware, warnings } = setup();
      const other = { specificationVersion: "v3", transformParams: async ({ params }: any) => ({ ...params, temperature: 0.1 }) };
      const provider = m.createOpenAI({ name: "my-proxy", baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: tagalongFetch() });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware: [middleware, other] });
      await m.ai.generateText({ model, prompt: "hi" });
      console.log("NAMED-INNER", major.name, JSON.stringify(rec().calls()[0]!.requesty), JSON.stringify(warnings));
      expect(rec().calls()[0]!.requesty).toEqual({ user_id: "u_rev" });
    });

    it("createOpenAI named requesty without tagalongFetch: the lost body field is named in a warning", async () => {
      const m = await major.load();
      const { middleware, warnings } = setup();
      const provider = m.createOpenAI({ name: "requesty", baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi" });
      expect(rec().calls()[0]!.requesty).toBeUndefined();
      expect(warnings).toHaveLength(1);
    });

    it("with another middleware after ours, unread streams leave no listener of ours on a shared signal", async () => {
      const m = await major.load();
      const { middleware } = setup();
      const other = { specificationVersion: "v3", transformParams: async ({ params }: any) => ({ ...params, temperature: 0.1 }) };
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware: [middleware, other] });
      const shared = new AbortController();
      const before = getEventListeners(shared.signal, "abort").length;
      for (let i = 0; i < 3; i++) m.ai.streamText({ model, prompt: "word ".repeat(300), abortSignal: shared.signal });
      await rec().waitFor((r) => r.requests.length === 3);
      await new Promise((r) => setTimeout(r, 200));
      const listeners = getEventListeners(shared.signal, "abort").map(String);
      const ours = listeners.filter((l) => l.includes("own.abort(callerSignal.reason)"));
      console.log("LISTENERS", major.name, before, listeners.length, ours.length, listeners.map((l) => l.slice(0, 80)));
      expect(ours).toEqual([]);
    });

    it("a provider with its own (logging) fetch: streams read in part then dropped leave no listener of ours on a shared signal", async () => {
      const m = await major.load();
      const { middleware } = setup();
      const logging: typeof fetch = (input, init) => fetch(input, init);
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: logging });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const shared = new AbortController();
      for (let i = 0; i < 3; i++) {
        const result = m.ai.streamText({ model, prompt: "word ".repeat(3000), abortSignal: shared.signal });
        let n = 0;
        for await (const _ of result.textStream) if (++n === 2) break;
      }
      await new Promise((r) => setTimeout(r, 300));
      const ours = getEventListeners(shared.signal, "abort").map(String).filter((l) => l.includes("own.abort(callerSignal.reason)"));
      expect(ours).toEqual([]);
    });

    it("openai-compatible with caller's openaiCompatible.user: the caller's wins", async () => {
      const m = await major.load();
      const { middleware } = setup([openrouter()]);
      const provider = m.createOpenAICompatible({ name: "gw", baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chatModel("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hi", providerOptions: { openaiCompatible: { user: "caller_user" } } });
      expect(rec().calls()[0]!.body.user).toBe("caller_user");
    });
  });
}

describe("tagalongFetch input shapes (ai 6)", () => {
  const rec = () => recorder.rec;
  const cases: Record<string, (tf: typeof fetch) => typeof fetch> = {
    "a Request input with the init's signal": (tf) => (url, init) =>
      tf(new Request(url as string, init), { signal: init?.signal }),
    "a Request input alone": (tf) => (url, init) => tf(new Request(url as string, init)),
    "a Uint8Array JSON body": (tf) => (url, init) =>
      tf(url, { ...init, body: new TextEncoder().encode(init?.body as string) }),
  };
  it.each(Object.keys(cases))("%s: the fields reach the wire, or the provider is named in a warning that fits", async (name) => {
    const m = await MAJORS[1]!.load();
    const { middleware, warnings } = setup();
    const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: cases[name]!(tagalongFetch()) });
    const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
    const result = await m.ai.generateText({ model, prompt: "hi" });
    expect(result.text.length).toBeGreaterThan(0);
    console.log("SHAPE", name, JSON.stringify(rec().calls()[0]!.requesty), JSON.stringify(warnings));
    expect(rec().calls()[0]!.requesty ?? warnings).toEqual({ user_id: "u_rev" });
  });
});
