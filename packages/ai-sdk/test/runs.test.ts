// Whole runs on every ai major × provider package, at the loopback recorder: concurrent multi-step
// tool runs, structured output through generateText / streamText, streams the consumer stops early or
// aborts, the caller's own options for the provider, and another middleware beside ours.
import {
  createTagalong,
  type Destination,
  type Logger,
  type Metadata,
  openrouter,
  portkey,
  promptLayer,
  requesty,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { useRecorder } from "../../core/test/use-recorder";
import { tagalongMiddleware, tagalongOptions } from "../src/index";
import { MAJORS, nodeMajor, PROVIDERS } from "./matrix";

const MODEL_ID = "gpt-test";
const PL_KEY = "pl_test_key_ai_sdk_0123456789";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const recorder = useRecorder({ promptLayerApiKey: PL_KEY });
// Registered after the recorder's reset, so run before it: nothing on the wire broke a vendor rule.
afterEach(() => {
  expect(recorder.rec.violations()).toEqual([]);
});

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode).each(PROVIDERS)("$name", (pc) => {
    let m: Awaited<ReturnType<typeof major.load>>;
    let rec: typeof recorder.rec;
    beforeAll(async () => {
      m = await major.load();
      rec = recorder.rec;
    });

    /** A model under our middleware (placed by `middleware`); PromptLayer's logs only when a test flushes them. */
    function setup(middleware: (ours: unknown) => unknown = (ours) => ours, logs = false) {
      const calls: CompletedCall[] = [];
      const warnings: string[] = [];
      const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
      const logger: Logger = { debug() {}, info() {}, warn: (w) => void warnings.push(w), error() {} };
      const tagalong = createTagalong({
        destinations: [
          portkey(),
          requesty(),
          openrouter(),
          memory,
          ...(logs ? [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })] : []),
        ],
        metadata: { environment: "test" },
        logger,
      });
      const model = m.ai.wrapLanguageModel({
        model: pc.model(pc.provider(m, rec.openaiBaseURL), MODEL_ID),
        middleware: middleware(tagalongMiddleware(tagalong)),
      });
      return { tagalong, model, calls, warnings };
    }

    /** Whether the provider takes top-level body fields beside `requesty` (not @requesty/ai-sdk 2). */
    const topLevel = pc.family !== "requesty" || major.requestyExtraBody;

    it("concurrent multi-step tool runs: each step's request and record carry their own run's metadata", async () => {
      const { model, calls } = setup();
      const weather = m.ai.tool({
        description: "The weather in a city",
        inputSchema: z.object({ city: z.string() }),
        // Steps of different runs interleave.
        execute: async ({ city }: { city: string }) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          return { city, celsius: 21 };
        },
      });
      const n = 6;
      const runs = Array.from({ length: n }, (_, i) => {
        const options = {
          model,
          prompt: `run-${i}-end`,
          tools: { weather },
          stopWhen: m.ai.stepCountIs(3),
          providerOptions: tagalongOptions({ user: `u_${i}`, session: `s_${i}` }),
        };
        return i % 2 === 0
          ? m.ai.generateText(options).then((r) => r.steps.length)
          : Promise.resolve(m.ai.streamText(options).steps).then((steps: unknown[]) => steps.length);
      });
      expect(await Promise.all(runs)).toEqual(Array(n).fill(2));
      const runOf = (text: string) => /run-(\d+)-end/.exec(text)![1];
      const wire = rec.calls().map((call) => {
        const i = runOf(JSON.stringify(call.body));
        return [
          call.portkey.metadata?._user === `u_${i}`,
          call.requesty?.user_id === `u_${i}`,
          call.body.session_id === (topLevel ? `s_${i}` : undefined),
        ];
      });
      expect(wire).toEqual(Array(2 * n).fill([true, true, true]));
      await expect.poll(() => calls.length).toBe(2 * n);
      const recorded = calls.map((call) => {
        const i = runOf(String(call.input.find((message) => message.role === "user")?.content));
        return [call.metadata.user === `u_${i}`, call.metadata.session === `s_${i}`, call.status];
      });
      expect(recorded).toEqual(Array(2 * n).fill([true, true, "success"]));
      const finishes = calls.map((call) => call.finishReason).sort();
      expect(finishes).toEqual([...Array(n).fill("stop"), ...Array(n).fill("tool_calls")]);
    });

    /** A tool whose call makes the recorder fail the next model request once with a 500 (when `failNext`). */
    const weatherTool = (failNext: boolean) =>
      m.ai.tool({
        description: "The weather in a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }: { city: string }) => {
          if (failNext) rec.fail({ kind: "openai", status: 500, retryAfter: 0.01, times: 1 });
          return { city, celsius: 21 };
        },
      });

    it.each(["generateText", "streamText"] as const)(
      "%s: a step the SDK retries within a multi-step run is logged once, as is each other step",
      async (fn) => {
        const { tagalong, model } = setup(undefined, true);
        const options = {
          model,
          prompt: "weather?",
          tools: { weather: weatherTool(true) },
          stopWhen: m.ai.stepCountIs(3),
          maxRetries: 2,
          providerOptions: tagalongOptions({ user: "u_retry" }),
        };
        const steps =
          fn === "generateText"
            ? (await m.ai.generateText(options)).steps
            : await m.ai.streamText({ ...options, onError: () => {} }).steps;
        expect(steps).toHaveLength(2);
        expect(rec.calls().map((c) => c.status)).toEqual([200, 500, 200]);
        await tagalong.flush();
        expect(rec.promptLayer.logs().map((l) => [l.body.status, l.body.metadata.user_id])).toEqual([
          ["SUCCESS", "u_retry"],
          ["SUCCESS", "u_retry"],
        ]);
        expect(rec.promptLayer.duplicates()).toBe(0);
        await tagalong.shutdown();
      },
      30_000,
    );

    /** Streams with `options`, aborting the call's signal at the first text it reads; the text read. */
    async function abortedAtFirstText(options: object): Promise<string> {
      const controller = new AbortController();
      const streamed = m.ai.streamText({
        ...options,
        abortSignal: controller.signal,
        onError: () => {},
        providerOptions: tagalongOptions({ user: "u_abort" }),
      });
      let text = "";
      try {
        for await (const part of streamed.fullStream) {
          if (part.type !== "text-delta") continue;
          text += part.text ?? part.textDelta;
          controller.abort();
        }
      } catch {
        // ai 5 rethrows the abort from the stream
      }
      return text;
    }

    it("a multi-step stream aborted in its second step: the first is a success, the second aborted, each logged once", async () => {
      const { tagalong, model, calls } = setup(undefined, true);
      await abortedAtFirstText({
        model,
        prompt: "the weather, in a reply of several words?",
        tools: { weather: weatherTool(false) },
        stopWhen: m.ai.stepCountIs(3),
      });
      await expect.poll(() => calls.length).toBe(2);
      expect(calls.map((c) => [c.status, c.finishReason, c.metadata.user])).toEqual([
        ["success", "tool_calls", "u_abort"],
        ["aborted", undefined, "u_abort"],
      ]);
      await tagalong.flush();
      expect(rec.promptLayer.logs().map((l) => l.body.status)).toEqual(["SUCCESS", "WARNING"]);
      expect(rec.calls()).toHaveLength(2);
      await tagalong.shutdown();
    });

    it("structured output through generateText and streamText (Output.object) carries the metadata", async () => {
      const { model, calls } = setup();
      const schema = z.object({ echo: z.string() });
      // ai 5 names the option experimental_output; ai 6 and 7 name it output.
      const key = major.name === "ai 5" ? "experimental_output" : "output";
      const output = { [key]: (m.ai as any).Output.object({ schema }) };
      const generated = await m.ai.generateText({
        model,
        prompt: "obj",
        ...output,
        providerOptions: tagalongOptions({ user: "u_obj" }),
      });
      const streamed = m.ai.streamText({
        model,
        prompt: "obj",
        ...output,
        providerOptions: tagalongOptions({ user: "u_obj_stream" }),
      });
      await streamed.consumeStream();
      const object = generated[key];
      expect(schema.parse(object)).toEqual(object);
      expect(rec.calls().map((c) => [c.portkey.metadata?._user, c.requesty?.user_id])).toEqual([
        ["u_obj", "u_obj"],
        ["u_obj_stream", "u_obj_stream"],
      ]);
      await expect.poll(() => calls.length).toBe(2);
      expect(calls.map((c) => [c.metadata.user, c.stream, JSON.parse(c.output[0]!.content)])).toEqual([
        ["u_obj", false, object],
        ["u_obj_stream", true, object],
      ]);
    });

    it("a stream whose consumer stops reading early (for await … break) is logged once, with its metadata", async () => {
      const { tagalong, model, calls } = setup(undefined, true);
      // ai 7's streamText stops reading the model's stream without cancelling it (see the README):
      // its single-consumer variant cancels it.
      const stream: (options: object) => any =
        major.name === "ai 7" ? (m.ai as any).experimental_streamTextLowMemory : m.ai.streamText;
      const streamed = stream({
        model,
        prompt: "a reply of several words to stop reading after the first",
        providerOptions: tagalongOptions({ user: "u_break" }),
      });
      let parts = 0;
      for await (const _ of streamed.textStream) {
        parts++;
        break;
      }
      expect(parts).toBe(1);
      await expect.poll(() => calls.length).toBe(1);
      await tagalong.flush();
      const logs = rec.promptLayer.logs();
      expect(logs.map((l) => l.body.metadata.user_id)).toEqual(["u_break"]);
      // ai 5 and 6 read the rest of the model's stream (a success); ai 7's variant cancels it (aborted).
      expect(logs[0]!.body.status).toBe(major.name === "ai 7" ? "WARNING" : "SUCCESS");
      expect(rec.promptLayer.duplicates()).toBe(0);
      await tagalong.shutdown();
    });

    it("a stream aborted mid-way by its abortSignal is logged once, as aborted, with what arrived", async () => {
      const { tagalong, model, calls } = setup(undefined, true);
      const text = await abortedAtFirstText({
        model,
        prompt: "a reply of several words to abort after the first",
      });
      await expect.poll(() => calls.length).toBe(1);
      expect(calls[0]).toMatchObject({ status: "aborted", stream: true, metadata: { user: "u_abort" } });
      // What arrived before the abort, the reader's text a part of it.
      expect(text.length).toBeGreaterThan(0);
      expect(calls[0]!.output[0]!.content.startsWith(text)).toBe(true);
      expect(calls[0]!.output[0]!.content.length).toBeLessThan(
        "echo: a reply of several words to abort after the first".length,
      );
      await tagalong.flush();
      expect(rec.promptLayer.logs().map((l) => [l.body.status, l.body.metadata.user_id])).toEqual([
        ["WARNING", "u_abort"],
      ]);
      expect(rec.calls()).toHaveLength(1);
      await tagalong.shutdown();
    });

    it("the caller's own providerOptions for the provider are kept beside tagalongOptions", async () => {
      const { model, warnings } = setup();
      const own: Record<string, Record<string, Record<string, unknown>>> = {
        openai: { openai: { user: "mine", store: false } },
        "my-gateway": { "my-gateway": { user: "mine", custom: 1 } },
        requesty: { requesty: { auto_cache: true } },
      };
      const providerOptions = { ...tagalongOptions({ user: "u_po", session: "s_po" }), ...own[pc.family] };
      await m.ai.generateText({ model, prompt: "hello", providerOptions });
      await m.ai.streamText({ model, prompt: "hello", providerOptions }).text;
      for (const call of rec.calls()) {
        expect(call.portkey.metadata).toEqual({ _user: "u_po", _environment: "test", session_id: "s_po" });
        expect(call.body.session_id).toBe(topLevel ? "s_po" : undefined);
        if (pc.family === "requesty") {
          expect(call.requesty).toMatchObject({ auto_cache: true, user_id: "u_po" });
          expect(call.body.user).toBe(topLevel ? "u_po" : undefined);
        } else {
          expect(call.requesty).toMatchObject({ user_id: "u_po" });
          // The caller's user wins over OpenRouter's.
          expect(call.body.user).toBe("mine");
          if (pc.family === "openai") expect(call.body.store).toBe(false);
          else expect(call.body.custom).toBe(1);
        }
      }
      expect(rec.calls()).toHaveLength(2);
      expect(warnings).toEqual(
        topLevel ? [] : [expect.stringContaining("takes no extra body fields per call")],
      );
    });

    // A middleware that changes the settings, the headers and the provider's own options.
    const other = {
      transformParams: async ({ params }: { params: Record<string, any> }) => ({
        ...params,
        temperature: 0.25,
        headers: { ...params.headers, "x-other": "1" },
        providerOptions: {
          ...params.providerOptions,
          [pc.family]: {
            ...params.providerOptions?.[pc.family],
            ...(pc.family === "my-gateway" ? { custom: 2 } : {}),
          },
        },
      }),
    };
    const outside = (ours: unknown) => [other, ours];
    it.each([
      ["outside ours", outside],
      ["inside ours", (ours: unknown) => [ours, other]],
    ])(
      "another middleware that changes the params, %s: the metadata reaches the wire and the record",
      async (_, order) => {
        const { model, calls, warnings } = setup(order);
        const perCall: Metadata = { user: "u_mw", session: "s_mw" };
        await m.ai.generateText({
          model,
          prompt: "hello",
          temperature: 0.9,
          providerOptions: tagalongOptions(perCall),
        });
        await m.ai.streamText({
          model,
          prompt: "hello",
          temperature: 0.9,
          providerOptions: tagalongOptions(perCall),
        }).text;
        const wire = rec
          .calls()
          .map((call) => [
            call.portkey.metadata?._user,
            call.requesty?.user_id,
            call.body.session_id,
            call.body.temperature,
            call.headers["x-other"],
            call.body.custom,
          ]);
        // A key of the provider's options that only @ai-sdk/openai-compatible sends as it is.
        const custom = pc.family === "my-gateway" ? 2 : undefined;
        const session = topLevel ? "s_mw" : undefined;
        expect(wire).toEqual(Array(2).fill(["u_mw", "u_mw", session, 0.25, "1", custom]));
        await expect.poll(() => calls.length).toBe(2);
        // Recorded as our middleware hands the call on: before the changes of one inside it.
        const temperature = order === outside ? 0.25 : 0.9;
        expect(
          calls.map((c) => [c.metadata.user, c.metadata.session, c.status, c.parameters?.temperature]),
        ).toEqual(Array(2).fill(["u_mw", "s_mw", "success", temperature]));
        // @requesty/ai-sdk 2 sends only `requesty`, which it got: the others are named, once.
        expect(warnings).toEqual(
          topLevel
            ? []
            : [
                expect.stringMatching(
                  order === outside
                    ? /^@tagalong\/ai-sdk: requesty\.chat \(a V2 model\) takes no extra body fields per call, so user, session_id, trace cannot/
                    : /^@tagalong\/ai-sdk: requesty\.chat drops unknown body fields .* so user, session_id, trace cannot/,
                ),
              ],
        );
      },
    );
  });
});
