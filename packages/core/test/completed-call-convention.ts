// The CompletedCall convention every adapter is held to: the same seven calls, made through each
// adapter with its real SDK against the loopback OpenAI stand-in, must be recorded the same way.
// Each adapter's tests hand in a driver that makes the calls its SDK's way (see ConventionDriver).
import { createTagalong, type Destination, type Tagalong } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type Recorder, replyText } from "@tagalong/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

export type ConventionScenario = "text" | "image" | "tool" | "stream" | "error" | "abort" | "timeout";

/**
 * What each scenario's call is. Every call goes to the Chat Completions API with model
 * `CONVENTION_MODEL`, temperature 0.5 and at most 20 output tokens, and no other setting.
 */
export const CONVENTION_CALLS: Record<ConventionScenario, string> = {
  text: 'a system message "Be brief." and a user message "Say hello"',
  image:
    'one user message of two parts: the text "What is in this picture?" and the image https://example.com/cat.png',
  tool: 'a user message "Weather in Paris?" offering one function tool, get_weather({ city: string })',
  stream: 'a user message "Say hello", streamed and read to its end',
  error:
    'a user message "Say hello" that the server refuses with a 400 (the call throws; the driver swallows it)',
  abort:
    'a user message "Say hello", streamed, that the server never answers: the caller aborts it with an AbortController after 50 ms (the call throws; the driver swallows it)',
  timeout:
    'a user message "Say hello", streamed, that the server never answers: the call times out after 50 ms by the caller\'s AbortSignal.timeout (the call throws; the driver swallows it)',
};

export const CONVENTION_MODEL = "gpt-4o-mini";
export const CONVENTION_API_KEY = "sk-test-tagalong-convention";
export const CONVENTION_TOOL = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
} as const;
export const CONVENTION_IMAGE_URL = "https://example.com/cat.png";

/** The signal that stops the "abort" or the "timeout" scenario's call after 50 ms. */
export function stopSignal(scenario: "abort" | "timeout"): AbortSignal {
  if (scenario === "timeout") return AbortSignal.timeout(50);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  return controller.signal;
}

export interface ConventionEnv {
  /** The stand-in's OpenAI base URL (`http://127.0.0.1:<port>/v1`). */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly tagalong: Tagalong;
}

export interface ConventionDriver {
  /** `CompletedCall.source` of the adapter. */
  readonly source: string;
  /** Makes the scenario's call (`CONVENTION_CALLS`) through the adapter; a failed call's error is swallowed. */
  run(scenario: ConventionScenario, env: ConventionEnv): Promise<void>;
}

const ERROR_MESSAGE = "The model is unavailable for this request.";

/** The convention, as one describe block per driver (call it once per SDK major). */
export function completedCallConvention(
  label: string,
  driver: () => Promise<ConventionDriver> | ConventionDriver,
): void {
  describe(`CompletedCall convention: ${label}`, () => {
    let rec: Recorder;
    const calls: CompletedCall[] = [];
    const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
    let env: ConventionEnv;
    let run: (scenario: ConventionScenario) => Promise<CompletedCall>;

    beforeAll(async () => {
      rec = await createRecorder();
      const tagalong = createTagalong({ destinations: [memory], metadata: { user: "u_convention" } });
      env = { baseURL: rec.openaiBaseURL, apiKey: CONVENTION_API_KEY, tagalong };
      const d = await driver();
      run = async (scenario) => {
        await d.run(scenario, env);
        await tagalong.flush();
        // A LangChain handler may record a tick after the call settles.
        const deadline = Date.now() + 2000;
        while (calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        expect(calls).toHaveLength(1);
        const call = calls[0]!;
        expect(call.source).toBe(d.source);
        return call;
      };
    });
    beforeEach(async () => {
      calls.length = 0;
      await rec.reset();
    });
    afterAll(async () => {
      await rec.close();
    });

    const common = (call: CompletedCall) => {
      expect(call.provider).toBe("openai");
      expect(call.model).toBe(CONVENTION_MODEL);
      expect(call.apiType).toBe("chat-completions");
      expect(call.metadata.user).toBe("u_convention");
      expect(call.startTime.getTime()).toBeLessThanOrEqual(call.endTime.getTime());
    };
    const settings = { temperature: 0.5, maxTokens: 20 };

    it("text: messages as role and text, settings under neutral names, usage, id and finish reason", async () => {
      const call = await run("text");
      common(call);
      expect(call.input).toEqual([
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ]);
      expect(call.output).toEqual([{ role: "assistant", content: replyText("Say hello") }]);
      expect(call.parameters).toEqual(settings);
      expect(call.status).toBe("success");
      expect(call.stream).toBe(false);
      expect(call.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
      expect(call.responseId).toBe(rec.calls()[0]!.responseId);
      expect(call.finishReason).toBe("stop");
      expect(call.error).toBeUndefined();
    });

    it("image: a media part becomes `[image]`, joined to the text parts with a newline", async () => {
      const call = await run("image");
      common(call);
      expect(call.input).toEqual([{ role: "user", content: "What is in this picture?\n[image]" }]);
      expect(call.status).toBe("success");
    });

    it("tool: the offered tools by name, the model's tool call with its id, name and JSON arguments", async () => {
      const call = await run("tool");
      common(call);
      expect(call.parameters).toEqual({ ...settings, tools: ["get_weather"] });
      const sent = rec.calls()[0]!.body.messages;
      expect(sent.at(-1)).toMatchObject({ role: "user" });
      expect(call.output).toEqual([
        {
          role: "assistant",
          content: "",
          toolCalls: [
            { id: expect.stringMatching(/^call_rec_/), name: "get_weather", arguments: expect.any(String) },
          ],
        },
      ]);
      expect(JSON.parse(call.output[0]!.toolCalls![0]!.arguments)).toEqual({ city: expect.any(String) });
      expect(call.finishReason).toBe("tool_calls");
    });

    it("stream: the same record as the call unstreamed, with stream set", async () => {
      const call = await run("stream");
      common(call);
      expect(call.input).toEqual([{ role: "user", content: "Say hello" }]);
      expect(call.output).toEqual([{ role: "assistant", content: replyText("Say hello") }]);
      expect(call.parameters).toEqual(settings);
      expect(call.stream).toBe(true);
      expect(call.status).toBe("success");
      expect(call.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
      expect(call.finishReason).toBe("stop");
    });

    it("error: status error, the error's type and the server's message, no output", async () => {
      rec.fail({
        path: "/v1/chat/completions",
        status: 400,
        body: { error: { message: ERROR_MESSAGE, type: "invalid_request_error", param: null, code: null } },
      });
      const call = await run("error");
      common(call);
      expect(call.status).toBe("error");
      expect(call.error?.type).toMatch(/^\w+$/);
      expect(call.error?.type).not.toBe("Error");
      expect(call.error?.message).toContain(ERROR_MESSAGE);
      expect(call.output.filter((m) => m.content !== "" || m.toolCalls)).toEqual([]);
      expect(call.input).toEqual([{ role: "user", content: "Say hello" }]);
    });

    it("abort: a call the caller stops is recorded as aborted, not as an error", async () => {
      const rule = rec.fail({ path: "/v1/chat/completions", hang: true });
      const call = await run("abort");
      rule.clear();
      common(call);
      expect(call.status).toBe("aborted");
      expect(call.stream).toBe(true);
    });

    it("timeout: a call its signal's timeout stops is recorded as a failed call, with the timeout as its error", async () => {
      const rule = rec.fail({ path: "/v1/chat/completions", hang: true });
      const call = await run("timeout");
      rule.clear();
      common(call);
      expect(call.status).toBe("error");
      expect(call.error?.type).toBe("TimeoutError");
      expect(call.error?.message).toMatch(/timeout/i);
      expect(call.stream).toBe(true);
    });
  });
}
