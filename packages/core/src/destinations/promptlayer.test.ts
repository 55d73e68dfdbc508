import type { ServerResponse } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { withLoopbackServer } from "../../test/loopback-server";
import { useRecorder } from "../../test/use-recorder";
import { DeliveryError, InvalidMetadataError, TagalongError } from "../errors";
import { createTagalong } from "../tagalong";
import type { ChatMessage, CompletedCall, Logger, Metadata } from "../types";
import { portkey } from "./portkey";
import { type PromptLayerOptions, promptLayer, promptLayerLogRequest } from "./promptlayer";

const KEY = "pl_test_key_0123456789abcdef";
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const recorder = useRecorder({ promptLayerApiKey: KEY });

function completedCall(overrides: Partial<CompletedCall> = {}): CompletedCall {
  return {
    provider: "openai",
    model: "gpt-4o-mini",
    apiType: "chat-completions",
    source: "openai",
    input: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }],
      },
      { role: "tool", content: '{"temp":21}', toolCallId: "call_1" },
    ],
    output: [{ role: "assistant", content: "21 degrees in Paris." }],
    parameters: { temperature: 0.2, maxTokens: 64, other: { reasoning_effort: "low" } },
    usage: { inputTokens: 42, outputTokens: 7 },
    startTime: new Date("2026-11-22T10:00:00.000Z"),
    endTime: new Date("2026-11-22T10:00:01.250Z"),
    status: "success",
    responseId: "chatcmpl-1",
    metadata: {},
    ...overrides,
  };
}

// Small delays so outage tests take milliseconds, not the production defaults' seconds.
const FAST: Partial<PromptLayerOptions> = { backoffMs: 5, maxBackoffMs: 20, timeoutMs: 2000 };

function setup(options: Partial<PromptLayerOptions> = {}, metadata?: Metadata) {
  const errors: unknown[] = [];
  const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL, ...FAST, ...options });
  const tagalong = createTagalong({
    destinations: [pl],
    metadata,
    logger: silent,
    onError: (e) => errors.push(e),
  });
  return { pl, tagalong, errors };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorMessages(errors: unknown[]): string[] {
  return errors.map((e) => (e instanceof Error ? e.message : String(e)));
}

/** No request, body, error or log line may carry the key anywhere but the X-API-KEY header. */
function expectKeyOnlyInHeader(errors: unknown[] = []): void {
  for (const r of recorder.rec.promptLayer.requests()) {
    expect(r.rawBody).not.toContain(KEY);
    expect(r.url).not.toContain(KEY);
  }
  for (const m of errorMessages(errors)) expect(m).not.toContain(KEY);
}

const FULL: Metadata = {
  user: "u_42",
  session: "s_7",
  trace: "t_1",
  environment: "production",
  organization: "acme",
  tags: ["checkout", "beta"],
  prompt: { name: "weather-answer", version: 3, variables: { city: "Paris" } },
  extra: { team: "growth", attempt: 2, cached: false },
};

describe("promptLayer: what reaches PromptLayer", () => {
  it("logs the call with its tags, metadata and prompt in one valid request", async () => {
    const { tagalong, errors } = setup();
    const prepared = tagalong.prepare(FULL);
    tagalong.record(completedCall({ metadata: prepared.metadata, context: { langchain_run_id: "run-abc" } }));
    await tagalong.flush();

    expect(recorder.rec.violations()).toEqual([]);
    const [log, ...more] = recorder.rec.promptLayer.logs();
    expect(more).toEqual([]);
    expect(log!.headers["x-api-key"]).toBe(KEY);
    expect(log!.body).toEqual({
      provider: "openai",
      model: "gpt-4o-mini",
      input: {
        type: "chat",
        messages: [
          { role: "system", content: [{ type: "text", text: "You are terse." }] },
          { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
          {
            role: "assistant",
            content: [],
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "weather", arguments: '{"city":"Paris"}' },
              },
            ],
          },
          { role: "tool", content: [{ type: "text", text: '{"temp":21}' }], tool_call_id: "call_1" },
        ],
      },
      output: {
        type: "chat",
        messages: [{ role: "assistant", content: [{ type: "text", text: "21 degrees in Paris." }] }],
      },
      request_start_time: "2026-11-22T10:00:00.000Z",
      request_end_time: "2026-11-22T10:00:01.250Z",
      parameters: { reasoning_effort: "low", temperature: 0.2, max_tokens: 64 },
      tags: ["checkout", "beta"],
      metadata: {
        langchain_run_id: "run-abc",
        user_id: "u_42",
        session_id: "s_7",
        trace_id: "t_1",
        environment: "production",
        organization: "acme",
        team: "growth",
        attempt: "2",
        cached: "false",
      },
      prompt_name: "weather-answer",
      prompt_version_number: 3,
      prompt_input_variables: { city: "Paris" },
      input_tokens: 42,
      output_tokens: 7,
      api_type: "chat-completions",
      function_name: "openai.chat.completions.create",
      status: "SUCCESS",
    });
    // With no track-metadata, what the stand-in holds is the log-request's own metadata.
    expect(log!.metadata).toEqual(log!.body.metadata);
    expect(log!.prompt).toEqual({
      request_id: log!.id,
      prompt_name: "weather-answer",
      version: 3,
      prompt_input_variables: { city: "Paris" },
    });
    // One request on the wire: log-request carries everything.
    expect(recorder.rec.promptLayer.requests().map((r) => r.path)).toEqual(["/log-request"]);
    expect(errors).toEqual([]);
    expect(tagalong.stats().promptlayer).toMatchObject({
      queued: 0,
      sent: 1,
      retried: 0,
      failed: 0,
      dropped: 0,
      abandoned: 0,
    });
    expectKeyOnlyInHeader();
  });

  it("a prompt named by label follows in track-prompt (log-request takes no label); nothing else does", async () => {
    const { tagalong } = setup();
    tagalong.record(completedCall({ metadata: { prompt: { name: "greet", label: "prod" } } }));
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    tagalong.record(completedCall({ metadata: {} }));
    await tagalong.flush();

    expect(recorder.rec.violations()).toEqual([]);
    const logs = recorder.rec.promptLayer.logs();
    expect(logs).toHaveLength(3);
    const withPrompt = logs.find((l) => l.prompt)!;
    expect(withPrompt.prompt).toEqual({ request_id: withPrompt.id, prompt_name: "greet", label: "prod" });
    expect("prompt_name" in withPrompt.body).toBe(false);
    expect(withPrompt.trackRequests.map((t) => [t.endpoint, t.seq > withPrompt.seq])).toEqual([
      ["track-prompt", true],
    ]);
    const withUser = logs.find((l) => l.metadata.user_id === "u_1")!;
    expect(withUser.body.metadata).toEqual({ user_id: "u_1" });
    expect(withUser.trackRequests).toEqual([]);
    expect(logs.find((l) => !l.prompt && !l.body.metadata)!.trackRequests).toEqual([]);
    expect(recorder.rec.promptLayer.requests()).toHaveLength(4);
  });

  it("a label too long for PromptLayer takes the whole prompt out of its log (by name alone it would link the latest version); other destinations keep it", async () => {
    const warnings: string[] = [];
    const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL, ...FAST });
    const tagalong = createTagalong({
      destinations: [portkey(), pl],
      logger: { ...silent, warn: (m) => void warnings.push(m) },
    });
    const label = "l".repeat(513);
    for (let i = 0; i < 2; i++) {
      const prepared = tagalong.prepare({
        user: "u_1",
        prompt: { name: "greet", label, variables: { a: "1" } },
      });
      expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)).toEqual({ _user: "u_1", _prompt: "greet" });
      tagalong.record(completedCall({ metadata: prepared.metadata }));
    }
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const logs = recorder.rec.promptLayer.logs();
    expect(logs).toHaveLength(2);
    for (const log of logs) {
      expect(log.prompt).toBeUndefined();
      expect(Object.keys(log.body).filter((k) => k.startsWith("prompt"))).toEqual([]);
      expect(log.body.metadata).toEqual({ user_id: "u_1" });
      expect(log.trackRequests).toEqual([]);
    }
    expect(tagalong.stats().promptlayer!.leftOut).toEqual({ "max-length": 2 });
    expect(tagalong.stats().portkey!.leftOut).toEqual({});
    expect(warnings).toEqual([
      "left out of promptlayer's form: metadata.prompt: its label has 513 chars, PromptLayer allows 512 (the whole prompt: by its name alone PromptLayer would link the call to the prompt's latest version) (said once per field and rule)",
    ]);
  });

  it("logs a streamed call once, with its full output and usage", async () => {
    const { tagalong } = setup();
    tagalong.record(
      completedCall({
        stream: true,
        parameters: { temperature: 1 },
        output: [{ role: "assistant", content: "Hello there, streamed in five chunks." }],
        usage: { inputTokens: 5, outputTokens: 9 },
        metadata: { user: "u_s" },
      }),
    );
    await tagalong.flush();
    const logs = recorder.rec.promptLayer.logs();
    expect(logs).toHaveLength(1);
    expect(logs[0]!.body.output.messages).toEqual([
      { role: "assistant", content: [{ type: "text", text: "Hello there, streamed in five chunks." }] },
    ]);
    expect([logs[0]!.body.input_tokens, logs[0]!.body.output_tokens]).toEqual([5, 9]);
    expect(recorder.rec.violations()).toEqual([]);
  });

  it("logs a failed call as ERROR in PromptLayer's category, its type heading a message cut to 1024 chars", async () => {
    const { tagalong } = setup();
    const long = `Rate limit reached. ${"x".repeat(3000)}`;
    tagalong.record(
      completedCall({
        status: "error",
        output: [],
        usage: undefined,
        error: { type: "RateLimitError", message: long },
      }),
    );
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const body = recorder.rec.promptLayer.logs()[0]!.body;
    expect(body.status).toBe("ERROR");
    expect(body.error_type).toBe("PROVIDER_RATE_LIMIT");
    expect(body.error_message.length).toBeLessThanOrEqual(1024);
    expect(body.error_message.startsWith("RateLimitError: Rate limit reached. xxx")).toBe(true);
    expect(body.output).toEqual({ type: "chat", messages: [] });
    expect("input_tokens" in body).toBe(false);
  });

  it("scrubs credentials from the error_message it forwards (its own key, Bearer tokens, sk- keys)", async () => {
    const { tagalong } = setup();
    const upstream =
      `401 Incorrect API key provided: Bearer sk-proj-AbCdEf0123456789xyz; x-portkey-api-key: pk9Zq8Yw7Xv6Ut5Sr4; ` +
      `promptlayer key ${KEY} rejected`;
    tagalong.record(
      completedCall({
        status: "error",
        output: [],
        error: { type: "AuthenticationError", message: upstream },
      }),
    );
    await tagalong.flush();
    const wire = recorder.rec.promptLayer.requests()[0]!.rawBody;
    expect(wire).not.toContain("sk-proj-AbCdEf0123456789xyz");
    expect(wire).not.toContain("pk9Zq8Yw7Xv6Ut5Sr4");
    expect(wire).not.toContain(KEY);
    expect(recorder.rec.promptLayer.logs()[0]!.body.error_message).toBe(
      "AuthenticationError: 401 Incorrect API key provided: Bearer [redacted]; x-portkey-api-key: [redacted]; promptlayer key [redacted] rejected",
    );
    expect(recorder.rec.promptLayer.logs()[0]!.body.error_type).toBe("PROVIDER_AUTH_ERROR");
    expect(recorder.rec.violations()).toEqual([]);
  });

  it("logs an aborted call as WARNING without an error category, keeping the partial output", async () => {
    const { tagalong } = setup();
    tagalong.record(
      completedCall({
        status: "aborted",
        stream: true,
        output: [{ role: "assistant", content: "Partial ans" }],
        error: { type: "AbortError", message: "This operation was aborted" },
      }),
    );
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const body = recorder.rec.promptLayer.logs()[0]!.body;
    expect([body.status, body.error_type, body.error_message]).toEqual([
      "WARNING",
      undefined,
      "AbortError: This operation was aborted",
    ]);
    expect(body.output.messages[0].content).toEqual([{ type: "text", text: "Partial ans" }]);
  });

  it("leaves an extra key longer than PromptLayer's 1024 characters out of its metadata alone, and logs the call", async () => {
    const { tagalong } = setup();
    const long = "k".repeat(1025);
    const prepared = tagalong.prepare({ user: "u_1", extra: { [long]: "v", plan: "pro" } });
    tagalong.record(completedCall({ metadata: prepared.metadata }));
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    expect(recorder.rec.promptLayer.logs()[0]!.body.metadata).toEqual({ user_id: "u_1", plan: "pro" });
    expect(tagalong.stats().promptlayer!.leftOut).toEqual({ "max-key-length": 1 });
    expect(promptLayer({ apiKey: KEY }).check({ extra: { [long]: "v" } })).toEqual([
      expect.objectContaining({ path: `extra.${long}`, code: "max-key-length" }),
    ]);
  });

  it("gives every failed call one of the error_type categories PromptLayer takes", async () => {
    const { tagalong } = setup();
    const failures: Array<[type: string, message: string, category: string, status?: number]> = [
      ["RateLimitError", "429 You exceeded your current quota (insufficient_quota)", "PROVIDER_QUOTA_LIMIT"],
      ["rate_limit_exceeded", "Too many requests", "PROVIDER_RATE_LIMIT"],
      ["APIConnectionTimeoutError", "Request timed out.", "PROVIDER_TIMEOUT"],
      ["PermissionDeniedError", "403 not allowed", "PROVIDER_AUTH_ERROR"],
      ["BadRequestError", "400 bad", "PROVIDER_ERROR"],
      ["InternalServerError", "500 oops", "PROVIDER_ERROR"],
      ["AI_APICallError", "Bad Gateway", "PROVIDER_ERROR"],
      ["server_error", "The server had an error", "PROVIDER_ERROR"],
      ["AI_APICallError", "You exceeded your current quota", "PROVIDER_QUOTA_LIMIT", 429],
      ["AI_APICallError", "Too Many Requests", "PROVIDER_RATE_LIMIT", 429],
      ["InternalServerError", "504 Gateway Timeout", "PROVIDER_TIMEOUT", 504],
      ["APIError", "408 Request Timeout", "PROVIDER_TIMEOUT", 408],
      ["AI_APICallError", "Unauthorized", "PROVIDER_AUTH_ERROR", 401],
      ["HTTPError", "Not Found", "PROVIDER_ERROR", 404],
      ["APIConnectionError", "Connection error.", "UNKNOWN_ERROR"],
      ["TypeError", "x is not a function", "UNKNOWN_ERROR"],
      ["", "", "UNKNOWN_ERROR"],
    ];
    for (const [type, message, , status] of failures)
      tagalong.record(completedCall({ status: "error", output: [], error: { type, message, status } }));
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const logs = recorder.rec.promptLayer.logs();
    expect(logs.map((log) => log.body.error_type)).toEqual(failures.map(([, , category]) => category));
    expect(logs.at(-1)!.body.error_message).toBe("The call failed");
  });

  it("logs a completion of prompts in the completion form, and one whose prompt had roles as chat", () => {
    const logged = (roles: ChatMessage["role"][]) =>
      promptLayerLogRequest(
        completedCall({
          apiType: "completions",
          input: roles.map((role, i) => ({ role, content: `p${i}` })),
          output: [{ role: "assistant", content: "1" }],
        }),
      );
    const prompts = logged(["user", "user"]);
    const text = (t: string) => ({ type: "text", text: t });
    expect([prompts.input, prompts.output]).toEqual([
      { type: "completion", content: [text("p0"), text("p1")] },
      { type: "completion", content: [text("1")] },
    ]);
    // An AI SDK completion model's prompt: messages the provider folds into one text; the roles show.
    const roles = logged(["system", "user"]);
    expect((roles.input as any).messages.map((m: any) => m.role)).toEqual(["system", "user"]);
    expect((roles.output as any).type).toBe("chat");
  });

  it("maps the Responses API and a message name; never splits a surrogate pair when cutting", () => {
    const body = promptLayerLogRequest(
      completedCall({
        apiType: "responses",
        input: [{ role: "user", content: "hi", name: "zoe" }],
        // 513 and 1025 characters as PromptLayer counts them (code points).
        metadata: { tags: [`${"a".repeat(508)}${"😀".repeat(5)}`] },
        status: "error",
        error: { type: "E", message: `${"b".repeat(1016)}${"😀".repeat(6)}` },
      }),
    );
    expect(body.api_type).toBe("responses");
    expect(body.function_name).toBe("openai.responses.create");
    expect((body.input as any).messages[0]).toEqual({
      role: "user",
      name: "zoe",
      content: [{ type: "text", text: "hi" }],
    });
    const tag = (body.tags as string[])[0]!;
    const message = body.error_message as string;
    for (const s of [tag, message]) {
      expect(s.endsWith("...")).toBe(true);
      expect(LONE_SURROGATE.test(s)).toBe(false);
    }
    // Cut to 512 and 1024 characters, "..." included, emoji whole.
    expect(tag).toBe(`${"a".repeat(508)}😀...`);
    expect(message).toBe(`E: ${"b".repeat(1016)}😀😀...`);
  });
});

describe("promptLayer: bad input is refused where the user gives it", () => {
  it("check() names PromptLayer's rules, so a strict prepare throws before the call", () => {
    const { pl } = setup();
    const tagalong = createTagalong({ destinations: [pl], onInvalid: "throw", logger: silent });
    const longTag = "t".repeat(513);
    expect(() => tagalong.prepare({ tags: ["ok", longTag] })).toThrow(InvalidMetadataError);
    const error = (() => {
      try {
        tagalong.prepare({ tags: ["ok", longTag], extra: { user_id: "x" } });
      } catch (e) {
        return e;
      }
    })();
    expect(InvalidMetadataError.isInstance(error)).toBe(true);
    expect((error as InvalidMetadataError).issues).toEqual([
      {
        path: "tags[1]",
        rule: "513 chars, PromptLayer allows 512",
        destination: "promptlayer",
        code: "max-length",
      },
      {
        path: "extra.user_id",
        rule: 'collides with the key "user_id" that PromptLayer fills from the model in PromptLayer\'s metadata',
        code: "reserved-key",
        destination: "promptlayer",
      },
    ]);
    // check() holds PromptLayer's own rules; the model's (an empty name, a nested value) are the model's.
    const issues = pl.check({
      prompt: { name: "", version: 1, label: "x" },
      extra: { nested: { a: 1 } as unknown as string },
    });
    expect(issues.map((i) => [i.path, i.destination])).toEqual([["prompt.label", "promptlayer"]]);
    expect(recorder.rec.requests).toHaveLength(0);
  });

  it("counts a metadata key's characters as PromptLayer does (code points, not UTF-16 units)", async () => {
    const warnings: string[] = [];
    const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL, ...FAST });
    const tagalong = createTagalong({
      destinations: [pl],
      logger: { ...silent, warn: (m) => void warnings.push(m) },
    });
    // 1024 characters, 2048 UTF-16 units: within PromptLayer's 1024; one more is past it.
    const key = "🔑".repeat(1024);
    const longer = `${key}k`;
    // A call that breaks a rule (every field checked) and a clean one (the fast path) count alike.
    const prepared = tagalong.prepare({ user: "u_1", extra: { [key]: "v", [longer]: "w", plan: "pro" } });
    tagalong.record(completedCall({ metadata: prepared.metadata }));
    const clean = tagalong.prepare({ extra: { [key]: "v" } });
    tagalong.record(completedCall({ metadata: clean.metadata }));
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const logs = recorder.rec.promptLayer.logs();
    expect(logs.map((log) => log.body.metadata)).toEqual([
      { user_id: "u_1", [key]: "v", plan: "pro" },
      { [key]: "v" },
    ]);
    expect(tagalong.stats().promptlayer!.leftOut).toEqual({ "max-key-length": 1 });
    expect(warnings).toEqual([
      `left out of promptlayer's form: metadata.extra.${longer}: key of 1025 chars, PromptLayer allows 1024 (said once per field and rule)`,
    ]);
  });

  it("counts a tag's and a label's characters as PromptLayer does (code points, not UTF-16 units)", async () => {
    const { pl } = setup();
    const tagalong = createTagalong({ destinations: [pl], onInvalid: "throw", logger: silent });
    // 300 characters, 600 UTF-16 units: within PromptLayer's 512.
    const tag = "😀".repeat(300);
    const label = "🏷".repeat(512);
    const metadata = { tags: [tag], prompt: { name: "greet", label } };
    tagalong.record(completedCall({ metadata: tagalong.prepare(metadata).metadata }));
    await tagalong.flush();
    expect(recorder.rec.violations()).toEqual([]);
    const [log] = recorder.rec.promptLayer.logs();
    expect(log!.body.tags).toEqual([tag]);
    expect(log!.prompt).toMatchObject({ label });
    expect(
      pl.check({ tags: [`${tag}${"😀".repeat(213)}`], prompt: { name: "p", label: `${label}x` } }),
    ).toEqual([
      {
        path: "tags[0]",
        rule: "513 chars, PromptLayer allows 512",
        destination: "promptlayer",
        code: "max-length",
      },
      {
        path: "prompt",
        rule: "its label has 513 chars, PromptLayer allows 512 (the whole prompt: by its name alone PromptLayer would link the call to the prompt's latest version)",
        destination: "promptlayer",
        code: "max-length",
      },
    ]);
  });

  it("refuses a missing API key at construction", () => {
    expect(() => promptLayer({ apiKey: "" })).toThrow(TagalongError);
    expect(() => promptLayer(undefined as unknown as PromptLayerOptions)).toThrow(/apiKey/);
  });

  it("refuses a baseURL that is not an http(s) URL at construction, rather than retrying it for maxRetryMs", () => {
    const apiKey = "pl_key_base_url";
    for (const baseURL of [
      "api.promptlayer.com",
      "",
      "ftp://promptlayer.example",
      "https://api promptlayer.com",
    ]) {
      expect(() => promptLayer({ apiKey, baseURL })).toThrow(
        `promptLayer: options.baseURL must be an http or https URL, e.g. "https://api.promptlayer.com", got ${JSON.stringify(baseURL)}`,
      );
    }
    expect(() => promptLayer({ apiKey, baseURL: "http://127.0.0.1:8080/pl/" })).not.toThrow();
  });
});

describe("promptLayer: annotating a request PromptLayer already holds", () => {
  it("trackMetadata and trackPrompt deliver through the queue, after validating at once", async () => {
    const { tagalong, pl, errors } = setup();
    tagalong.record(completedCall());
    await tagalong.flush();
    const id = recorder.rec.promptLayer.logs()[0]!.id;

    pl.trackMetadata(id, { user: "u_9", extra: { plan: "pro" } });
    pl.trackPrompt(String(id), { name: "summarise", label: "staging", variables: { n: "3" } });
    expect(recorder.rec.promptLayer.requests()).toHaveLength(1); // nothing sent yet: both are queued
    await pl.flush();

    const log = recorder.rec.promptLayer.logs()[0]!;
    expect(log.metadata).toEqual({ user_id: "u_9", plan: "pro" });
    expect(log.prompt).toEqual({
      request_id: id,
      prompt_name: "summarise",
      label: "staging",
      prompt_input_variables: { n: "3" },
    });
    expect(recorder.rec.violations()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("throws InvalidMetadataError or TagalongError synchronously and sends nothing", async () => {
    const { pl } = setup();
    expect(() => pl.trackPrompt(1, { name: "p", version: 2, label: "prod" })).toThrow(InvalidMetadataError);
    expect(() => pl.trackPrompt(1, { name: "" })).toThrow(/prompt\.name/);
    expect(() => pl.trackMetadata(1, { tags: ["a"] })).toThrow(/tags only when a request is logged/);
    expect(() => pl.trackMetadata(1, { extra: { x: Number.NaN } })).toThrow(InvalidMetadataError);
    expect(() => pl.trackMetadata("12abc", { user: "u" })).toThrow(TagalongError);
    expect(() => pl.trackMetadata(0, { user: "u" })).toThrow(/positive integer/);
    await pl.flush();
    expect(recorder.rec.requests).toHaveLength(0);
    expect(pl.stats()).toEqual({
      queued: 0,
      sent: 0,
      retried: 0,
      skipped: 0,
      failed: 0,
      dropped: 0,
      abandoned: 0,
    });
  });

  it("refuses a request id beyond what a JSON number carries exactly, rather than sending a neighbour's", async () => {
    const { pl } = setup();
    // 2^53 + 1: as a number it would go out as 9007199254740992, another request's id.
    expect(() => pl.trackMetadata("9007199254740993", { user: "u" })).toThrow(/positive integer/);
    expect(() => pl.trackPrompt("9007199254740993", { name: "p" })).toThrow(/positive integer/);
    pl.trackMetadata("9007199254740991", { user: "u" });
    await pl.flush();
    expect(recorder.rec.requests.map((r) => r.rawBody)).toEqual([
      '{"request_id":9007199254740991,"metadata":{"user_id":"u"}}',
    ]);
  });

  it("sends what was given, even if the caller changes the object afterwards", async () => {
    const { tagalong, pl } = setup();
    tagalong.record(completedCall());
    await tagalong.flush();
    const id = recorder.rec.promptLayer.logs()[0]!.id;
    const metadata = { user: "before", extra: { k: "v1" } as Record<string, string> };
    pl.trackMetadata(id, metadata);
    metadata.user = "after";
    metadata.extra.k = "v2";
    await pl.flush();
    expect(recorder.rec.promptLayer.logs()[0]!.metadata).toEqual({ user_id: "before", k: "v1" });
  });
});

describe("promptLayer: never on the caller's path", () => {
  it("record() returns before any byte is sent, and does not return a promise", async () => {
    const { tagalong, pl } = setup();
    const result = (tagalong.record as (c: CompletedCall) => unknown)(completedCall());
    expect(result).toBeUndefined();
    expect(pl.stats().queued).toBe(1);
    expect(recorder.rec.requests).toHaveLength(0);
    // Not even the microtasks after the call start the delivery: it waits for a macrotask.
    await Promise.resolve();
    await Promise.resolve();
    expect(recorder.rec.requests).toHaveLength(0);
    await tagalong.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
  });

  it("keeps at most `concurrency` deliveries in flight while PromptLayer hangs", async () => {
    const hang = recorder.rec.fail({ path: "/log-request", hang: true });
    const { tagalong, pl } = setup({ concurrency: 2, timeoutMs: 10_000 });
    for (let i = 0; i < 5; i++) tagalong.record(completedCall());
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.rec.promptLayer.requests()).toHaveLength(2);
    expect(pl.stats().queued).toBe(5);
    hang.clear(); // destroys the held sockets: a network error, retried
    await tagalong.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(5);
    expect(pl.stats()).toMatchObject({ queued: 0, sent: 5, failed: 0 });
  });
});

describe("promptLayer: outages", () => {
  it("500s then recovery: everything delivered, each call logged once", async () => {
    const outage = recorder.rec.fail({ kind: "promptlayer", status: 500, times: 4 });
    const { tagalong, errors } = setup();
    tagalong.record(completedCall({ metadata: { user: "u_1", prompt: { name: "p" } } }));
    tagalong.record(completedCall({ metadata: { user: "u_2" } }));
    await tagalong.flush();
    expect(outage.hits).toBe(4);
    const logs = recorder.rec.promptLayer.logs();
    expect(logs.map((l) => l.metadata.user_id).sort()).toEqual(["u_1", "u_2"]);
    expect(recorder.rec.promptLayer.tracks()).toEqual([]);
    expect(logs.find((l) => l.metadata.user_id === "u_1")!.prompt.prompt_name).toBe("p");
    expect(recorder.rec.violations()).toEqual([]);
    expect(errors).toEqual([]);
    expect(tagalong.stats().promptlayer).toMatchObject({
      queued: 0,
      sent: 2,
      retried: 4,
      failed: 0,
      dropped: 0,
      abandoned: 0,
    });
  });

  it("a 500 on track-prompt retries that request alone; the call is logged once", async () => {
    recorder.rec.fail({ path: "/rest/track-prompt", status: 503, times: 2 });
    const { tagalong } = setup();
    tagalong.record(completedCall({ metadata: { user: "u_1", prompt: { name: "p", label: "prod" } } }));
    await tagalong.flush();
    expect(recorder.rec.promptLayer.requests().map((r) => `${r.path} ${r.status}`)).toEqual([
      "/log-request 201",
      "/rest/track-prompt 503",
      "/rest/track-prompt 503",
      "/rest/track-prompt 200",
    ]);
    expect(recorder.rec.promptLayer.logs()[0]!.metadata).toEqual({ user_id: "u_1" });
    expect(recorder.rec.promptLayer.logs()[0]!.prompt).toMatchObject({ prompt_name: "p", label: "prod" });
  });

  it("a refused connection is retried until PromptLayer is back", async () => {
    await recorder.rec.refuse();
    const { tagalong, pl, errors } = setup({ backoffMs: 30, maxBackoffMs: 30, maxAttempts: 20 });
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    await vi.waitFor(() => expect(pl.stats().retried).toBeGreaterThanOrEqual(2), { timeout: 2000 });
    await recorder.rec.resume();
    await tagalong.flush();
    expect(recorder.rec.promptLayer.logs()[0]!.metadata).toEqual({ user_id: "u_1" });
    expect(errors).toEqual([]);
  });

  it("a refused connection that never ends fails for good after maxAttempts, reported once", async () => {
    await recorder.rec.refuse();
    const { tagalong, errors } = setup({ maxAttempts: 3 });
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    await tagalong.flush();
    expect(errors).toHaveLength(1);
    const error = errors[0] as DeliveryError;
    expect(DeliveryError.isInstance(error)).toBe(true);
    expect(error.destination).toBe("promptlayer");
    expect(error.attempts).toBe(3);
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/log-request .*network error.*after 3 attempts/);
    expect(tagalong.stats().promptlayer).toMatchObject({
      queued: 0,
      sent: 0,
      retried: 2,
      failed: 1,
      dropped: 0,
      abandoned: 0,
    });
    expectKeyOnlyInHeader(errors);
  });

  it("a hang longer than the timeout is cut off and retried", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true, times: 1 });
    const { tagalong, pl, errors } = setup({ timeoutMs: 150 });
    const started = Date.now();
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    await tagalong.flush();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const outcomes = recorder.rec.promptLayer.requests().map((r) => `${r.path} ${r.outcome}`);
    expect(outcomes).toEqual(["/log-request hung", "/log-request answered"]);
    expect(pl.stats()).toMatchObject({ sent: 1, retried: 1, failed: 0 });
    expect(errors).toEqual([]);
  });

  it("a hang on every attempt fails for good with 'timed out', reported once", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true });
    const { tagalong, errors } = setup({ timeoutMs: 60, maxAttempts: 2 });
    tagalong.record(completedCall());
    await tagalong.flush();
    expect(errorMessages(errors)).toEqual([
      expect.stringMatching(
        /log-request to http:\/\/127\.0\.0\.1:\d+\/log-request failed with timed out after 60 ms, after 2 attempts/,
      ),
    ]);
  });

  it("401 is reported once and not retried, and nothing is tracked", async () => {
    const { pl, tagalong, errors } = setup({ apiKey: "pl_wrong_key_abcdef" });
    tagalong.record(completedCall({ metadata: { user: "u_1", prompt: { name: "p" } } }));
    await tagalong.flush();
    expect(recorder.rec.promptLayer.requests().map((r) => `${r.path} ${r.status}`)).toEqual([
      "/log-request 401",
    ]);
    expect(errors).toHaveLength(1);
    const error = errors[0] as DeliveryError;
    expect(error.status).toBe(401);
    expect(error.attempts).toBe(1);
    expect(error.message).toMatch(/HTTP 401 .*not retried/);
    expect(error.message).not.toContain("pl_wrong_key_abcdef");
    expect(pl.stats()).toEqual({
      queued: 0,
      sent: 0,
      retried: 0,
      skipped: 0,
      failed: 1,
      dropped: 0,
      abandoned: 0,
    });
  });

  it("a 422 on log-request is not retried and names PromptLayer's complaint", async () => {
    const { tagalong, errors } = setup();
    tagalong.record(completedCall({ model: "" }));
    await tagalong.flush();
    expect(recorder.rec.promptLayer.requests()).toHaveLength(1);
    // PromptLayer's reader gives the `detail` list itself, not the whole answer the generic one would.
    expect(errorMessages(errors)).toEqual([
      expect.stringMatching(/HTTP 422 \(\[\{.*model.*\}\]\), not retried/),
    ]);
  });

  it("scrubs the key from an error even when the server repeats it", async () => {
    recorder.rec.fail({
      path: "/log-request",
      status: 400,
      body: { success: false, message: `bad key ${KEY}` },
    });
    const { tagalong, errors } = setup();
    tagalong.record(completedCall());
    await tagalong.flush();
    expect(errorMessages(errors)).toEqual([expect.stringContaining("bad key [redacted]")]);
    expectKeyOnlyInHeader(errors);
  });

  it("scrubs the key from a refusal answered with success: false, even when PromptLayer repeats it", async () => {
    const echo = { success: false, message: `bad key ${KEY}` };
    recorder.rec.fail({ path: "/rest/track-metadata", status: 200, body: echo });
    recorder.rec.fail({ path: "/rest/track-prompt", status: 200, body: echo });
    const { tagalong, pl, errors } = setup();
    pl.trackMetadata(7, { user: "u_1" });
    pl.trackPrompt(7, { name: "p", label: "prod" });
    await tagalong.flush();
    expect(errorMessages(errors).sort()).toEqual([
      "promptlayer: track-metadata was refused (bad key [redacted])",
      "promptlayer: track-prompt was refused (bad key [redacted])",
    ]);
    expectKeyOnlyInHeader(errors);
  });

  it("429 waits as long as Retry-After says before retrying", async () => {
    recorder.rec.fail({ path: "/log-request", status: 429, retryAfter: 0.4, times: 1 });
    const { tagalong, pl } = setup({ backoffMs: 1 });
    tagalong.record(completedCall());
    await tagalong.flush();
    const [first, second] = recorder.rec.promptLayer.requests();
    expect([first!.status, second!.status]).toEqual([429, 201]);
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(380);
    expect(pl.stats()).toMatchObject({ sent: 1, retried: 1 });
  });

  it("a full queue drops new calls: counted, reported at once, the rest summed up", async () => {
    const hang = recorder.rec.fail({ path: "/log-request", hang: true });
    const { tagalong, pl, errors } = setup({ concurrency: 1, maxQueue: 2, timeoutMs: 10_000 });
    for (let i = 0; i < 6; i++) tagalong.record(completedCall({ metadata: { extra: { i } } }));
    expect(pl.stats()).toMatchObject({ queued: 2, dropped: 4 });
    expect(errorMessages(errors)).toEqual([
      "promptlayer: dropped a delivery: the queue is full (maxQueue 2)",
    ]);
    hang.clear();
    await tagalong.flush();
    expect(errorMessages(errors)).toEqual([
      "promptlayer: dropped a delivery: the queue is full (maxQueue 2)",
      "promptlayer: dropped 3 more deliveries: the queue is full (maxQueue 2)",
    ]);
    expect(recorder.rec.promptLayer.logs().map((l) => l.metadata.i)).toEqual(["0", "1"]);
    expect(pl.stats()).toMatchObject({ queued: 0, sent: 2, dropped: 4 });
  });

  it("a queue kept full by a steady overload warns once when it starts dropping and sums up once it drains", async () => {
    recorder.rec.fail({ path: "/log-request", delayMs: 10 });
    const { tagalong, pl, errors } = setup({ concurrency: 2, maxQueue: 20, lingerMs: 0 });
    // Calls arrive faster than PromptLayer answers: every delivery that ends frees a slot the next
    // call takes, and the one after is dropped.
    for (let i = 0; i < 200; i++) {
      tagalong.record(completedCall());
      await sleep(1);
    }
    await tagalong.flush();
    const { dropped } = pl.stats();
    expect(dropped).toBeGreaterThan(50);
    expect(errorMessages(errors)).toEqual([
      "promptlayer: dropped a delivery: the queue is full (maxQueue 20)",
      `promptlayer: dropped ${dropped! - 1} more deliveries: the queue is full (maxQueue 20)`,
    ]);
  });
});

describe("promptLayer: flush and shutdown", () => {
  it("flush resolves at once when idle, and only after delivery otherwise", async () => {
    const { tagalong } = setup();
    await tagalong.flush();
    recorder.rec.fail({ path: "/log-request", status: 500, times: 2 });
    tagalong.record(completedCall({ metadata: { user: "u_1", prompt: { name: "p", label: "l" } } }));
    await tagalong.flush();
    // Everything recorded before flush() is on the wire when it resolves.
    expect(recorder.rec.promptLayer.logs()[0]!.trackRequests).toHaveLength(1);
  });

  it("flush waits for what was queued before it, not for later records", async () => {
    const { tagalong } = setup();
    tagalong.record(completedCall({ metadata: { user: "first" } }));
    const flushed = tagalong.flush();
    await recorder.rec.waitFor((r) => r.promptLayer.logs().length === 1);
    // Recorded after flush(): it hangs without holding that flush up.
    const hang = recorder.rec.fail({ path: "/log-request", hang: true });
    tagalong.record(completedCall({ metadata: { user: "second" } }));
    const outcome = await Promise.race([flushed.then(() => "flushed"), sleep(1000).then(() => "stuck")]);
    expect(outcome).toBe("flushed");
    expect(recorder.rec.promptLayer.logs()[0]!.metadata).toEqual({ user_id: "first" });
    hang.clear();
    await tagalong.flush();
    expect(recorder.rec.promptLayer.logs().map((l) => l.metadata.user_id)).toEqual(["first", "second"]);
  });

  it("shutdown delivers what is queued, then refuses later records as dropped (reported)", async () => {
    recorder.rec.fail({ path: "/log-request", status: 502, times: 1 });
    const { tagalong, pl, errors } = setup();
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    await tagalong.shutdown();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    tagalong.record(completedCall());
    pl.trackMetadata(1, { user: "late" });
    await tagalong.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(recorder.rec.promptLayer.tracks()).toHaveLength(0);
    expect(pl.stats()).toEqual({
      queued: 0,
      sent: 1,
      retried: 1,
      skipped: 0,
      failed: 0,
      dropped: 2,
      abandoned: 0,
    });
    expect(errorMessages(errors)).toEqual([
      "promptlayer: dropped a delivery: the destination was shut down",
      "promptlayer: dropped a delivery: the destination was shut down",
    ]);
  });

  it("shutdown({ timeoutMs }) against a hanging receiver resolves at its deadline and reports what it abandoned", async () => {
    const hang = recorder.rec.fail({ path: "/log-request", hang: true });
    const { tagalong, pl, errors } = setup({ timeoutMs: 60_000 });
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    tagalong.record(completedCall({ metadata: { user: "u_2" } }));
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length === 2);
    await tagalong.shutdown({ timeoutMs: 200 });
    expect(pl.stats()).toMatchObject({ queued: 0, sent: 0, failed: 0, abandoned: 2 });
    expect(errorMessages(errors)).toEqual([
      expect.stringMatching(
        /^promptlayer: abandoned 2 deliveries still pending when the destination shut down/,
      ),
    ]);
    expect(hang.hits).toBe(2);
    expectKeyOnlyInHeader(errors);
  });

  it("flush({ timeoutMs }) resolves at its deadline and leaves the delivery running", async () => {
    const hang = recorder.rec.fail({ path: "/log-request", hang: true, times: 1 });
    const { tagalong, pl } = setup({ timeoutMs: 300 });
    tagalong.record(completedCall({ metadata: { user: "u_1" } }));
    await tagalong.flush({ timeoutMs: 50 });
    expect(pl.stats()).toMatchObject({ queued: 1, abandoned: 0 });
    await tagalong.flush();
    expect(hang.hits).toBe(1);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(pl.stats()).toMatchObject({ queued: 0, sent: 1, abandoned: 0 });
  });

  it("a throwing onError reaches no one", async () => {
    const pl = promptLayer({ apiKey: "pl_wrong_key_abcdef", baseURL: recorder.rec.promptLayerURL, ...FAST });
    const tagalong = createTagalong({
      destinations: [pl],
      logger: silent,
      onError: () => {
        throw new Error("user's hook is broken");
      },
    });
    tagalong.record(completedCall());
    await tagalong.flush();
    expect(pl.stats().failed).toBe(1);
  });
});

describe("promptLayer: observability", () => {
  it("TAGALONG_LOG_LEVEL=debug logs one line per request, without the key", async () => {
    vi.stubEnv("TAGALONG_LOG_LEVEL", "debug");
    const lines: string[] = [];
    const debug = vi.spyOn(console, "debug").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
    try {
      recorder.rec.fail({ path: "/rest/track-prompt", status: 500, times: 1 });
      // The default logger reads the level when createTagalong makes it.
      const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL, ...FAST });
      const tagalong = createTagalong({ destinations: [pl], onError: () => {} });
      tagalong.record(completedCall({ metadata: { user: "u", prompt: { name: "p", label: "l" } } }));
      await tagalong.flush();
    } finally {
      debug.mockRestore();
      vi.unstubAllEnvs();
    }
    const ours = lines.filter((l) => l.includes("promptlayer: POST"));
    expect(ours).toEqual([
      expect.stringMatching(
        /^\[tagalong\] promptlayer: POST http:\/\/127.0.0.1:\d+\/log-request -> 201 in \d+ ms \(attempt 1\)$/,
      ),
      expect.stringMatching(/\/rest\/track-prompt -> HTTP 500 .* retry 1 in \d+ ms$/),
      expect.stringMatching(/\/rest\/track-prompt -> 200 .*\(attempt 2\)$/),
    ]);
    for (const line of lines) expect(line).not.toContain(KEY);
  });

  it("is quiet by default", async () => {
    const spies = (["debug", "info", "warn", "error", "log"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL, ...FAST });
      const tagalong = createTagalong({ destinations: [pl] });
      tagalong.record(completedCall({ metadata: { user: "u" } }));
      await tagalong.flush();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe("promptLayer: a log-request answered with a request id it cannot be tracked by", () => {
  it("names the id and why, rather than saying there was none", async () => {
    const answers = ['{"id":9007199254740993}', '{"id":"12a"}', '{"id":-4}'];
    const answer = (_req: unknown, res: ServerResponse): void => {
      res.writeHead(201, { "content-type": "application/json" }).end(answers.shift());
    };
    await withLoopbackServer(answer, async (baseURL, seen) => {
      const { tagalong, errors } = setup({ baseURL });
      for (let i = 0; i < 3; i++) {
        tagalong.record(completedCall({ metadata: { prompt: { name: "greet", label: "prod" } } }));
      }
      await tagalong.flush();
      expect(seen).toEqual(["POST /log-request", "POST /log-request", "POST /log-request"]);
      expect(errorMessages(errors)).toEqual([
        'promptlayer: log-request answered with request id 9007199254740992, past what a JSON number carries exactly (2^53); the prompt (label "prod") was not tracked',
        'promptlayer: log-request answered with request id "12a", not a positive integer; the prompt (label "prod") was not tracked',
        'promptlayer: log-request answered with request id -4, not a positive integer; the prompt (label "prod") was not tracked',
      ]);
    });
  });
});

describe("promptLayer: a log-request answered 2xx without JSON (a proxy, a wrong baseURL)", () => {
  it("reports the label's track-prompt it could not send; a log with no follow-up counts as sent", async () => {
    const html = (_req: unknown, res: ServerResponse): void => {
      res.writeHead(200, { "content-type": "text/html" }).end("<html>OK</html>");
    };
    await withLoopbackServer(html, async (baseURL, seen) => {
      const { tagalong, errors } = setup({ baseURL });
      tagalong.record(completedCall({ metadata: { prompt: { name: "greet", label: "prod" } } }));
      tagalong.record(completedCall({ metadata: { user: "u_1" } }));
      await tagalong.flush();
      expect(seen).toEqual(["POST /log-request", "POST /log-request"]);
      expect(errorMessages(errors)).toEqual([
        'promptlayer: log-request answered without a request id; the prompt (label "prod") was not tracked',
      ]);
      expect(errors[0]).toBeInstanceOf(DeliveryError);
      expect(tagalong.stats().promptlayer).toMatchObject({ sent: 1, failed: 1 });
    });
  });
});
