// The body-field channel to @ai-sdk/openai's wire, per ai major: found per provider (a provider
// created without tagalongFetch is named once, while another with it carries the fields), and the
// call keeps the caller's own abort signal on the wire.
import { getEventListeners } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTagalong, type Destination, type Logger, litellm, portkey, requesty } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { describe, expect, it, vi } from "vitest";
import { useRecorder } from "../../core/test/use-recorder";
import { tagalongFetch, tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor } from "./matrix";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const recorder = useRecorder();
const SRC = fileURLToPath(new URL("../src", import.meta.url));

function setup() {
  const warnings: string[] = [];
  const calls: CompletedCall[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
  const tagalong = createTagalong({
    destinations: [portkey(), requesty(), memory],
    metadata: { user: "u_fetch" },
    logger,
  });
  return { tagalong, warnings, calls, middleware: tagalongMiddleware(tagalong) };
}

/** A middleware that only changes a setting, placed inside ours: ours then sees its wrapper, not the provider. */
const inner = {
  specificationVersion: "v3",
  transformParams: async ({ params }: { params: Record<string, unknown> }) => ({
    ...params,
    temperature: 0.1,
  }),
};

for (const major of MAJORS) {
  const rec = () => recorder.rec;
  describe.skipIf(nodeMajor < major.minNode)(`${major.name}: tagalongFetch per provider`, () => {
    it("a second @ai-sdk/openai provider made without tagalongFetch is named once; one made with it carries the fields", async () => {
      const m = await major.load();
      const { warnings, middleware } = setup();
      const apiKey = "sk-test";
      const withFetch = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const without = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey });
      const wrap = (model: unknown) => m.ai.wrapLanguageModel({ model, middleware });
      await m.ai.generateText({ model: wrap(withFetch.chat("gpt-test")), prompt: "one" });
      expect(warnings).toEqual([]);
      for (const prompt of ["two", "three"])
        await m.ai.generateText({ model: wrap(without.chat("gpt-test")), prompt });
      await m.ai.streamText({ model: wrap(without.chat("gpt-test")), prompt: "four" }).text;
      expect(rec().violations()).toEqual([]);
      const [carried, ...lost] = rec().calls();
      expect(carried!.requesty).toEqual({ user_id: "u_fetch" });
      expect(lost.map((c) => c.requesty)).toEqual([undefined, undefined, undefined]);
      // The headers reach every provider's wire; only the body fields need the fetch.
      expect(
        rec()
          .calls()
          .map((c) => c.portkey.metadata?._user),
      ).toEqual(["u_fetch", "u_fetch", "u_fetch", "u_fetch"]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /openai\.chat .*without tagalongFetch.*requesty.*\{ fetch: tagalongFetch\(\) \}/,
      );
    });

    it("an @ai-sdk/openai provider given its own name and tagalongFetch carries the fields, behind another middleware too", async () => {
      const m = await major.load();
      const { warnings, middleware } = setup();
      const provider = m.createOpenAI({
        name: "my-proxy",
        baseURL: rec().openaiBaseURL,
        apiKey: "sk-test",
        fetch: tagalongFetch(),
      });
      // Behind another middleware, ours sees that one's wrapper: the fields reach the fetch all the same, once.
      for (const stack of [[middleware], [middleware, inner]]) {
        for (const model of [provider.chat("gpt-test"), provider.responses("gpt-test")]) {
          await m.ai.generateText({
            model: m.ai.wrapLanguageModel({ model, middleware: stack }),
            prompt: "hello",
          });
        }
      }
      await m.ai.streamText({
        model: m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware: [middleware, inner] }),
        prompt: "hello",
      }).text;
      expect(rec().violations()).toEqual([]);
      expect(
        rec()
          .calls()
          .map((c) => [c.endpoint, c.requesty, c.body.temperature]),
      ).toEqual([
        ["chat.completions", { user_id: "u_fetch" }, undefined],
        ["responses", { user_id: "u_fetch" }, undefined],
        ["chat.completions", { user_id: "u_fetch" }, 0.1],
        ["responses", { user_id: "u_fetch" }, 0.1],
        ["chat.completions", { user_id: "u_fetch" }, 0.1],
      ]);
      expect(warnings).toEqual([]);
    });

    it("an @ai-sdk/openai provider given its own name without tagalongFetch is named once, with the fix; an @ai-sdk/openai-compatible one of that name carries the fields", async () => {
      const m = await major.load();
      const { warnings, middleware } = setup();
      const options = { name: "my-proxy", baseURL: rec().openaiBaseURL, apiKey: "sk-test" };
      const wrap = (model: unknown) => m.ai.wrapLanguageModel({ model, middleware });
      const compatible = wrap(m.createOpenAICompatible(options).chatModel("gpt-test"));
      await m.ai.generateText({ model: compatible, prompt: "one" });
      expect(warnings).toEqual([]);
      const named = wrap(m.createOpenAI(options).chat("gpt-test"));
      await m.ai.generateText({ model: named, prompt: "two" });
      await m.ai.streamText({ model: named, prompt: "three" }).text;
      expect(rec().violations()).toEqual([]);
      expect(
        rec()
          .calls()
          .map((c) => c.requesty),
      ).toEqual([{ user_id: "u_fetch" }, undefined, undefined]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /my-proxy\.chat .*without tagalongFetch.*requesty.*\{ fetch: tagalongFetch\(\) \}/,
      );
    });

    it("@requesty/ai-sdk given tagalongFetch carries every body field and draws no warning", async () => {
      const m = await major.load();
      const warnings: string[] = [];
      const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
      const tagalong = createTagalong({
        destinations: [requesty(), litellm()],
        metadata: { user: "u_fetch", session: "s_1" },
        logger,
      });
      const provider = m.createRequesty({
        baseURL: rec().openaiBaseURL,
        apiKey: "sk-test",
        fetch: tagalongFetch(),
      });
      const model = m.ai.wrapLanguageModel({
        model: provider.chat("gpt-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      await m.ai.generateText({ model, prompt: "hello" });
      await m.ai.streamText({ model, prompt: "hello" }).text;
      expect(rec().violations()).toEqual([]);
      const { body } = tagalong.prepare(undefined);
      for (const call of rec().calls()) {
        for (const [name, value] of Object.entries(body)) expect(call.body[name], name).toEqual(value);
      }
      expect(rec().calls()).toHaveLength(2);
      expect(warnings).toEqual([]);
    });

    it("a stream nobody reads leaves no listener of Tagalong's on the caller's signal (a provider without tagalongFetch)", async () => {
      const m = await major.load();
      const { middleware } = setup();
      const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test" });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const shared = new AbortController();
      for (let i = 0; i < 3; i++) {
        m.ai.streamText({ model, prompt: "word ".repeat(300), abortSignal: shared.signal });
      }
      await rec().waitFor((r) => r.requests.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The SDK's own listeners (and fetch's) may stay; none written in this package's sources may.
      const sources = readdirSync(SRC).map((file) => readFileSync(join(SRC, file), "utf8"));
      const ours = getEventListeners(shared.signal, "abort")
        .map(String)
        .filter((listener) => sources.some((source) => source.includes(listener)));
      expect(ours).toEqual([]);
    });

    it("a call the provider refuses before sending it does not name its provider as lacking tagalongFetch", async () => {
      const m = await major.load();
      const { warnings, middleware } = setup();
      const provider = m.createOpenAI({
        baseURL: rec().openaiBaseURL,
        apiKey: "sk-test",
        fetch: tagalongFetch(),
      });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const zip = { type: "file", data: new Uint8Array([1, 2, 3]), mediaType: "application/zip" };
      await expect(
        m.ai.generateText({ model, maxRetries: 0, messages: [{ role: "user", content: [zip] }] }),
      ).rejects.toThrow(/application\/zip/);
      expect(rec().requests).toHaveLength(0);
      await m.ai.generateText({ model, prompt: "hello" });
      expect(
        rec()
          .calls()
          .map((c) => c.requesty),
      ).toEqual([{ user_id: "u_fetch" }]);
      expect(warnings).toEqual([]);
    });

    it("a tagalongFetch from another copy of the package carries the fields a middleware from this one filed", async () => {
      const m = await major.load();
      const { middleware } = setup();
      vi.resetModules();
      const other = (await import("../src/index")) as typeof import("../src/index");
      expect(other.tagalongFetch).not.toBe(tagalongFetch);
      const provider = m.createOpenAI({
        baseURL: rec().openaiBaseURL,
        apiKey: "sk-test",
        fetch: other.tagalongFetch(),
      });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      await m.ai.generateText({ model, prompt: "hello" });
      expect(rec().violations()).toEqual([]);
      expect(
        rec()
          .calls()
          .map((c) => c.requesty),
      ).toEqual([{ user_id: "u_fetch" }]);
    });

    it("the request goes out with the caller's own abort signal, and aborting it aborts the call", async () => {
      const m = await major.load();
      const { middleware, calls } = setup();
      const seen: unknown[] = [];
      const base: typeof fetch = (input, init) => {
        seen.push(init?.signal);
        return fetch(input, init);
      };
      const provider = m.createOpenAI({
        baseURL: rec().openaiBaseURL,
        apiKey: "sk-test",
        fetch: tagalongFetch(base),
      });
      const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
      const controller = new AbortController();
      await m.ai.generateText({ model, prompt: "hello", abortSignal: controller.signal });
      expect(seen).toEqual([controller.signal]);
      rec().fail({ path: "/v1/chat/completions", hang: true });
      const call = m.ai.generateText({
        model,
        prompt: "hello",
        abortSignal: controller.signal,
        maxRetries: 0,
      });
      await rec().waitFor((r) => r.requests.length === 2);
      controller.abort();
      await expect(call).rejects.toMatchObject({ name: "AbortError" });
      expect(seen).toEqual([controller.signal, controller.signal]);
      expect(calls.map((c) => c.status)).toEqual(["success", "aborted"]);
    });

    it.each(["openai", "my-proxy"])(
      "a refused call's recorded error has the sent key and headers scrubbed, with no body fields to add (provider named %s)",
      async (name) => {
        const m = await major.load();
        const calls: CompletedCall[] = [];
        const tagalong = createTagalong({
          destinations: [{ name: "memory", record: (c) => void calls.push(c) }],
        });
        const key = "local-7f3a9c";
        const provider = m.createOpenAI({
          name,
          baseURL: rec().openaiBaseURL,
          apiKey: key,
          headers: { "x-portkey-api-key": "gw-5e1d2b" },
          fetch: tagalongFetch(),
        });
        const model = m.ai.wrapLanguageModel({
          model: provider.chat("gpt-test"),
          middleware: tagalongMiddleware(tagalong),
        });
        const message = `Incorrect API key provided: ${key}; gateway key gw-5e1d2b`;
        rec().fail({ path: "/v1/chat/completions", status: 401, body: { error: { message } } });
        await expect(m.ai.generateText({ model, prompt: "hi", maxRetries: 0 })).rejects.toThrow(key);
        const streamed = m.ai.streamText({ model, prompt: "hi", maxRetries: 0, onError: () => {} });
        await streamed.consumeStream();
        await tagalong.flush();
        expect(calls.map((c) => [c.status, c.error?.message])).toEqual([
          ["error", "Incorrect API key provided: [redacted]; gateway key [redacted]"],
          ["error", "Incorrect API key provided: [redacted]; gateway key [redacted]"],
        ]);
      },
    );

    it.skipIf(!major.apiKeyFunction).each(["createOpenAI", "createOpenAICompatible"] as const)(
      "%s with an async apiKey: a header set on the provider still wins over ours, and a key that fails only fails the call",
      async (create) => {
        const m = await major.load();
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => void unhandled.push(reason);
        process.on("unhandledRejection", onUnhandled);
        try {
          const { middleware } = setup();
          const modelOf = (apiKey: () => Promise<string>, headers?: Record<string, string>) => {
            const provider = m[create]({ name: "gw", baseURL: rec().openaiBaseURL, apiKey, headers });
            return m.ai.wrapLanguageModel({ model: provider.languageModel("gpt-test"), middleware });
          };
          const mine = { "X-Portkey-Metadata": '{"app":"mine"}' };
          await m.ai.generateText({ model: modelOf(async () => "sk-test", mine), prompt: "hi" });
          expect(rec().calls()[0]!.portkey.rawHeader).toBe('{"app":"mine"}');

          const vaultDown = new Error("vault down");
          const failing = modelOf(async () => Promise.reject(vaultDown));
          await expect(m.ai.generateText({ model: failing, prompt: "hi", maxRetries: 0 })).rejects.toBe(
            vaultDown,
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
          expect(unhandled).toEqual([]);
        } finally {
          process.off("unhandledRejection", onUnhandled);
        }
      },
    );
  });
}

/** The `requesty` body field of each request the recorder got. */
const sentRequesty = () => recorder.rec.calls().map((c) => c.requesty);

for (const major of MAJORS) {
  const rec = () => recorder.rec;
  describe.skipIf(nodeMajor < major.minNode)(
    `${major.name}: tagalongFetch by model class and input shape`,
    () => {
      it("behind another middleware, a renamed @ai-sdk/openai provider without tagalongFetch is named once; an openai-compatible one carries the fields with no warning", async () => {
        const m = await major.load();
        const { warnings, middleware } = setup();
        const options = { name: "my-proxy", baseURL: rec().openaiBaseURL, apiKey: "sk-test" };
        const wrap = (model: unknown) => m.ai.wrapLanguageModel({ model, middleware: [middleware, inner] });
        await m.ai.generateText({
          model: wrap(m.createOpenAICompatible(options).chatModel("gpt-test")),
          prompt: "a",
        });
        expect(warnings).toEqual([]);
        for (const prompt of ["b", "c"])
          await m.ai.generateText({ model: wrap(m.createOpenAI(options).chat("gpt-test")), prompt });
        expect(sentRequesty()).toEqual([{ user_id: "u_fetch" }, undefined, undefined]);
        expect(warnings).toEqual([
          "@tagalong/ai-sdk: my-proxy.chat drops unknown body fields and this provider was created without tagalongFetch, so requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
        ]);
      });

      it("an @ai-sdk/openai provider named requesty without tagalongFetch is named once", async () => {
        const m = await major.load();
        const { warnings, middleware } = setup();
        const provider = m.createOpenAI({
          name: "requesty",
          baseURL: rec().openaiBaseURL,
          apiKey: "sk-test",
        });
        const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
        await m.ai.generateText({ model, prompt: "hi" });
        expect(rec().calls()[0]!.body.requesty).toBeUndefined();
        expect(warnings).toEqual([
          "@tagalong/ai-sdk: requesty.chat drops unknown body fields and this provider was created without tagalongFetch, so requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
        ]);
      });

      // ai's own defaultSettingsMiddleware, inside ours as the README advises, merges its requesty keys
      // into the provider options after ours: @requesty/ai-sdk 3 then sends its flat keys alone as the
      // body's `requesty` (ours went in the per-call extraBody), 2 sends them with ours.
      it.each([false, true])(
        "behind a middleware that sets requesty keys of its own, @requesty/ai-sdk carries ours with tagalongFetch (%s), or is named once",
        async (withFetch) => {
          const m = await major.load();
          const { warnings, middleware } = setup();
          const provider = m.createRequesty({
            baseURL: rec().openaiBaseURL,
            apiKey: "sk-test",
            ...(withFetch ? { fetch: tagalongFetch() } : {}),
          });
          const defaults = m.ai.defaultSettingsMiddleware({
            settings: { providerOptions: { requesty: { auto_cache: true } } },
          });
          const model = m.ai.wrapLanguageModel({
            model: provider.chat("gpt-test"),
            middleware: [middleware, defaults],
          });
          for (const prompt of ["one", "two"]) await m.ai.generateText({ model, prompt });
          await m.ai.streamText({ model, prompt: "three" }).text;
          const lost = major.requestyExtraBody && !withFetch;
          const sent = lost ? { auto_cache: true } : { user_id: "u_fetch", auto_cache: true };
          expect(sentRequesty()).toEqual([sent, sent, sent]);
          expect(warnings).toEqual(
            lost
              ? [
                  "@tagalong/ai-sdk: requesty.chat drops unknown body fields and this provider was created without tagalongFetch, so Tagalong's keys in requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
                ]
              : [],
          );
        },
      );

      const shapes: Record<string, (next: typeof fetch) => typeof fetch> = {
        "a Request, with the call's signal in the init": (next) => (url, init) =>
          next(new Request(url as string, init), { signal: init?.signal }),
        "a JSON body as bytes": (next) => (url, init) =>
          next(url, { ...init, body: new TextEncoder().encode(init?.body as string) }),
      };
      it.each(Object.keys(shapes))("tagalongFetch given %s adds the fields", async (shape) => {
        const m = await major.load();
        const { warnings, middleware } = setup();
        const provider = m.createOpenAI({
          baseURL: rec().openaiBaseURL,
          apiKey: "sk-test",
          fetch: shapes[shape]!(tagalongFetch()),
        });
        const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
        const result = await m.ai.generateText({ model, prompt: "hi" });
        expect(result.text.length).toBeGreaterThan(0);
        expect(sentRequesty()).toEqual([{ user_id: "u_fetch" }]);
        expect(warnings).toEqual([]);
      });

      it("tagalongFetch given a body it cannot add the fields to sends it as it is and says why, once", async () => {
        const m = await major.load();
        const { warnings, middleware } = setup();
        const asBlob: typeof fetch = (url, init) =>
          tagalongFetch()(url, {
            ...init,
            body: new Blob([init?.body as string], { type: "application/json" }),
          });
        const provider = m.createOpenAI({ baseURL: rec().openaiBaseURL, apiKey: "sk-test", fetch: asBlob });
        const model = m.ai.wrapLanguageModel({ model: provider.chat("gpt-test"), middleware });
        for (const prompt of ["one", "two"]) await m.ai.generateText({ model, prompt });
        expect(sentRequesty()).toEqual([undefined, undefined]);
        expect(warnings).toEqual([
          "@tagalong/ai-sdk: tagalongFetch could not add requesty to a request of openai.chat: its body is a Blob, not JSON text",
        ]);
      });
    },
  );
}
