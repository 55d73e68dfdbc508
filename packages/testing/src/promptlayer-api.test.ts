import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRecorder } from "./recorder";
import type { Recorder } from "./types";

const KEY = "pl_test_key_123";
let rec: Recorder;

beforeAll(async () => {
  rec = await createRecorder({ promptLayerApiKey: KEY });
});
afterAll(() => rec.close());
beforeEach(() => rec.reset());

async function post(path: string, body: unknown, headers: Record<string, string> = { "X-API-KEY": KEY }) {
  const res = await fetch(`${rec.promptLayerURL}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

const validLog = () => ({
  provider: "openai",
  model: "gpt-test",
  input: { type: "chat", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] },
  output: {
    type: "chat",
    messages: [
      {
        role: "assistant",
        content: [],
        tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
    ],
  },
  request_start_time: "2026-11-20T10:00:00.000Z",
  request_end_time: "2026-11-20T10:00:01.250Z",
  api_type: "chat-completions",
  status: "SUCCESS",
  tags: ["a", "b"],
  metadata: { user_id: "u_42" },
  input_tokens: 3,
  output_tokens: 5,
});

describe("log-request", () => {
  it("answers 201 with increasing ids for valid bodies", async () => {
    const first = await post("/log-request", validLog());
    const second = await post("/log-request", validLog());
    expect(first.status).toBe(201);
    expect(first.json.id).toBe(1);
    expect(second.json.id).toBe(2);
    const logs = rec.promptLayer.logs();
    expect(logs.map((l) => l.id)).toEqual([1, 2]);
    expect(logs[0]!.metadata).toEqual({ user_id: "u_42" });
    expect(rec.violations()).toEqual([]);
  });

  it("answers 401 without or with a wrong X-API-KEY", async () => {
    expect((await post("/log-request", validLog(), {})).json).toMatchObject({ success: false });
    expect((await post("/log-request", validLog(), {})).status).toBe(401);
    expect((await post("/log-request", validLog(), { "X-API-KEY": "nope-nope" })).status).toBe(401);
    expect(rec.promptLayer.logs()).toEqual([]);
    expect(rec.violations().join("\n")).toContain("missing X-API-KEY");
  });

  it.each([
    ["a missing model", (b: any) => delete b.model, "model"],
    ["string content", (b: any) => (b.input.messages[0].content = "hi"), "input.messages.0.content"],
    ["a non-ISO timestamp", (b: any) => (b.request_start_time = "yesterday"), "request_start_time"],
    ["epoch seconds as time", (b: any) => (b.request_end_time = 1763600000), "request_end_time"],
    ["a 513-char tag", (b: any) => (b.tags = ["x".repeat(513)]), "tags.0"],
    ["a non-string metadata value", (b: any) => (b.metadata = { n: 1 }), "metadata.n"],
    ["an unknown status", (b: any) => (b.status = "FAILED"), "status"],
    ["an unknown api_type", (b: any) => (b.api_type = "chat"), "api_type"],
    ["a 1025-char error_message", (b: any) => (b.error_message = "e".repeat(1025)), "error_message"],
    [
      "a content block of no type the schema has",
      (b: any) => (b.input.messages[0].content = [{ type: "input_text", text: "hi" }]),
      "input.messages.0.content.0.type",
    ],
    [
      "a completion template whose content is a string",
      (b: any) => (b.input = { type: "completion", content: "hi" }),
      "input.content",
    ],
    [
      "a malformed tool call",
      (b: any) => (b.output.messages[0].tool_calls[0].function.arguments = {}),
      "output.messages.0.tool_calls.0",
    ],
  ])("answers 422 {detail} for %s", async (_name, mutate, where) => {
    const body = validLog();
    mutate(body);
    const { status, json } = await post("/log-request", body);
    expect(status).toBe(422);
    expect(Array.isArray(json.detail)).toBe(true);
    expect(json.detail.map((d: any) => d.loc.slice(1).join("."))).toContain(where);
    expect(rec.promptLayer.logs()).toEqual([]);
    expect(rec.promptLayer.violations().some((v) => v.includes(where))).toBe(true);
  });

  it("takes a completion template (type completion, content as blocks) for input and output", async () => {
    const completion = (text: string) => ({ type: "completion", content: [{ type: "text", text }] });
    const body = { ...validLog(), input: completion("Say hi"), output: completion("hi") };
    delete (body as { api_type?: string }).api_type;
    expect((await post("/log-request", body)).status).toBe(201);
    expect(rec.violations()).toEqual([]);
  });

  it("counts length limits in code points, as PromptLayer (Python) does", async () => {
    const emoji = "😀".repeat(512); // 1024 UTF-16 units, 512 characters
    const ok = await post("/log-request", { ...validLog(), tags: [emoji] });
    const bad = await post("/log-request", { ...validLog(), tags: [`${emoji}a`] });
    expect([ok.status, bad.status]).toEqual([201, 422]);
    expect(bad.json.detail[0].msg).toBe("String should have at most 512 characters (has 513)");
  });

  it("refuses an error_type outside PromptLayer's categories, or with a status it does not go with", async () => {
    const log = (status: string, error_type: string) => ({
      ...validLog(),
      status,
      error_type,
      error_message: "x",
    });
    const answers = await Promise.all([
      post("/log-request", log("ERROR", "PROVIDER_RATE_LIMIT")),
      post("/log-request", log("WARNING", "UNKNOWN_ERROR")),
      post("/log-request", log("ERROR", "RateLimitError")),
      post("/log-request", log("WARNING", "PROVIDER_TIMEOUT")),
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 201, 422, 422]);
    expect(answers[3]!.json.detail[0].msg).toBe("PROVIDER_TIMEOUT is not allowed with status WARNING");
  });

  it("accepts but flags softer rule breaks", async () => {
    const body = { ...validLog(), status: "ERROR", request_end_time: "2026-11-20T09:00:00Z", surprise: 1 };
    expect((await post("/log-request", body)).status).toBe(201);
    const [log] = rec.promptLayer.logs();
    expect(log!.violations).toEqual([
      "promptlayer: log-request request_end_time is before request_start_time",
      "promptlayer: log-request status ERROR without error_type and error_message",
      'promptlayer: log-request unknown field "surprise"',
    ]);
  });

  it("flags the API key in a body", async () => {
    await post("/log-request", { ...validLog(), metadata: { leaked: KEY } });
    expect(rec.promptLayer.logs()[0]!.violations).toContain(
      "secret: the PromptLayer API key appears in the body",
    );
  });
});

describe("track-metadata and track-prompt", () => {
  it("merge into the log they name, in order", async () => {
    const { json } = await post("/log-request", validLog());
    const id = json.id;
    const m1 = await post("/rest/track-metadata", {
      request_id: id,
      metadata: { session_id: "s1", user_id: "u_1" },
    });
    const m2 = await post("/rest/track-metadata", { request_id: id, metadata: { session_id: "s2" } });
    const p = await post("/rest/track-prompt", {
      request_id: id,
      prompt_name: "greet",
      version: 2,
      prompt_input_variables: { name: "Zoë" },
    });
    expect([m1.status, m2.status, p.status]).toEqual([200, 200, 200]);
    expect(m1.json).toEqual({ success: true, message: expect.any(String) });
    const [log] = rec.promptLayer.logs();
    expect(log!.metadata).toEqual({ user_id: "u_1", session_id: "s2" });
    expect(log!.prompt).toMatchObject({ prompt_name: "greet", version: 2 });
    expect(log!.trackRequests.map((t) => t.endpoint)).toEqual([
      "track-metadata",
      "track-metadata",
      "track-prompt",
    ]);
    expect(log!.violations).toEqual([]);
    expect(rec.summary()).toContain("greet v2");
  });

  it.each([
    ["a string request_id", "/rest/track-metadata", { request_id: "1", metadata: {} }],
    ["a non-string metadata value", "/rest/track-metadata", { request_id: 1, metadata: { n: 1 } }],
    ["no metadata", "/rest/track-metadata", { request_id: 1 }],
    ["an empty prompt name", "/rest/track-prompt", { request_id: 1, prompt_name: "" }],
    [
      "version and label together",
      "/rest/track-prompt",
      { request_id: 1, prompt_name: "p", version: 1, label: "prod" },
    ],
    ["a 513-char label", "/rest/track-prompt", { request_id: 1, prompt_name: "p", label: "l".repeat(513) }],
    ["a non-integer version", "/rest/track-prompt", { request_id: 1, prompt_name: "p", version: 1.5 }],
    [
      "a non-string variable",
      "/rest/track-prompt",
      { request_id: 1, prompt_name: "p", prompt_input_variables: { a: 1 } },
    ],
  ])("answer 400 for %s", async (_name, path, body) => {
    await post("/log-request", validLog());
    const { status, json } = await post(path, body);
    expect(status).toBe(400);
    expect(json.success).toBe(false);
    expect(rec.promptLayer.logs()[0]!.metadata).toEqual({ user_id: "u_42" });
    expect(rec.promptLayer.violations()).not.toEqual([]);
  });

  it("answer 400 and flag a request id no log-request returned (out of order)", async () => {
    const early = await post("/rest/track-metadata", { request_id: 1, metadata: { a: "b" } });
    expect(early.status).toBe(400);
    await post("/log-request", validLog());
    const [log] = rec.promptLayer.logs();
    expect(log!.metadata).toEqual({ user_id: "u_42" });
    expect(log!.violations).toEqual(["promptlayer: track-metadata #1 arrived before its log-request"]);
    expect(rec.promptLayer.tracks()[0]!.violations[0]).toContain("out of order or unknown");
  });
});
