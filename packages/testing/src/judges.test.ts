import { request } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRecorder } from "./recorder";
import type { Recorder } from "./types";

let rec: Recorder;

beforeAll(async () => {
  rec = await createRecorder();
});
afterAll(() => rec.close());
beforeEach(() => rec.reset());

const chatBody = { model: "m", messages: [{ role: "user", content: "hi" }] };

/** A raw request, so tests can send bytes no well-behaved client would (latin1 header values). */
function rawPost(path: string, headers: Record<string, string>, body: unknown = chatBody): Promise<number> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      `${rec.url}${path}`,
      { method: "POST", headers: { "content-type": "application/json", ...headers } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

function client(headers: Record<string, string> = {}) {
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: rec.openaiBaseURL,
    maxRetries: 0,
    defaultHeaders: headers,
  });
}

describe("Portkey", () => {
  it("parses metadata and trace id from a valid request and finds nothing wrong", async () => {
    // What a correct encoder sends: non-ASCII escaped as \uXXXX inside the JSON.
    const raw = '{"_user":"Zo\\u00eb \\ud83d\\ude00","_environment":"prod","tags":"a,b"}';
    await client({
      "x-portkey-metadata": raw,
      "x-portkey-trace-id": "trace-1",
    }).chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const [call] = rec.calls();
    expect(call!.portkey.metadata).toEqual({ _user: "Zoë 😀", _environment: "prod", tags: "a,b" });
    expect(call!.portkey.traceId).toBe("trace-1");
    expect(call!.portkey.rawHeader).toContain("\\u00eb");
    expect(call!.violations).toEqual([]);
    expect(rec.violations()).toEqual([]);
  });

  it("flags a non-ASCII (latin1) header value", async () => {
    await rawPost("/v1/chat/completions", { "x-portkey-metadata": '{"_user":"Zoë"}' });
    const [call] = rec.calls();
    expect(call!.violations).toHaveLength(1);
    expect(call!.violations[0]).toMatch(
      /^wire: header x-portkey-metadata is not ASCII \(byte 0x[0-9a-f]{2}\)/,
    );
  });

  it("flags a 129-char value but not a 128-char one", async () => {
    await rawPost("/v1/chat/completions", { "x-portkey-metadata": JSON.stringify({ a: "x".repeat(128) }) });
    await rawPost("/v1/chat/completions", { "x-portkey-metadata": JSON.stringify({ a: "x".repeat(129) }) });
    const [ok, bad] = rec.calls();
    expect(ok!.violations).toEqual([]);
    expect(bad!.violations).toEqual(['portkey: x-portkey-metadata value "a" has 129 chars (max 128)']);
  });

  it.each([
    ["a number value", JSON.stringify({ n: 1 }), 'value "n" must be a string (got number)'],
    ["a nested object", JSON.stringify({ o: { a: "b" } }), 'value "o" must be a string (got object)'],
    ["an array", JSON.stringify(["a"]), "must be a JSON object (got array)"],
    ["bad JSON", "{_user: alice}", "is not valid JSON (the gateway silently treats it as {})"],
  ])("flags %s", async (_name, header, expected) => {
    await rawPost("/v1/chat/completions", { "x-portkey-metadata": header });
    expect(rec.calls()[0]!.violations).toEqual([`portkey: x-portkey-metadata ${expected}`]);
  });

  it("judges the legacy x-portkey-meta header by the same rules", async () => {
    await rawPost("/v1/chat/completions", { "x-portkey-meta": JSON.stringify({ n: true }) });
    const [call] = rec.calls();
    expect(call!.portkey.legacyRawHeader).toBe('{"n":true}');
    expect(call!.violations).toEqual(['portkey: x-portkey-meta value "n" must be a string (got boolean)']);
  });

  it("flags a non-printable trace id", async () => {
    await rawPost("/v1/chat/completions", { "x-portkey-trace-id": "tr\tace" });
    expect(rec.calls()[0]!.violations).toEqual([
      "portkey: x-portkey-trace-id is not non-empty printable ASCII",
    ]);
  });

  it("answers 431 and flags headers over 16 KB", async () => {
    const status = await rawPost("/v1/chat/completions", {
      "x-portkey-metadata": JSON.stringify({ a: "x".repeat(17_000) }),
    });
    expect(status).toBe(431);
    const violations = rec.calls()[0]!.violations;
    expect(violations.some((v) => /^wire: headers total \d+ bytes, over the 16384-byte limit$/.test(v))).toBe(
      true,
    );
  });
});

describe("Requesty", () => {
  it("exposes a valid requesty object without violations", async () => {
    const requesty = { tags: ["a"], user_id: "u", trace_id: "t", extra: { k: 1 }, auto_cache: true };
    await client().chat.completions.create({ ...chatBody, requesty } as any);
    expect(rec.calls()[0]!.requesty).toEqual(requesty);
    expect(rec.calls()[0]!.violations).toEqual([]);
  });

  it.each([
    [
      "an unknown key",
      { user: "u" },
      'requesty: unknown key "user" (allowed: tags, user_id, trace_id, extra, auto_cache)',
    ],
    [
      "a doubled object",
      { requesty: { user_id: "u" } },
      'requesty: unknown key "requesty" (allowed: tags, user_id, trace_id, extra, auto_cache)',
    ],
    ["string tags", { tags: "a,b" }, "requesty: tags must be an array of strings"],
    ["a numeric user_id", { user_id: 42 }, "requesty: user_id must be a string"],
    ["an array extra", { extra: [] }, "requesty: extra must be an object"],
    ["a string auto_cache", { auto_cache: "yes" }, "requesty: auto_cache must be a boolean"],
  ])("flags %s", async (_name, requesty, expected) => {
    await rawPost("/v1/chat/completions", {}, { ...chatBody, requesty });
    expect(rec.calls()[0]!.violations).toEqual([expected]);
  });

  it("collects the X-Requesty-* analytics headers", async () => {
    await rawPost("/v1/chat/completions", { "X-Requesty-Team": "core", "X-Title": "app" });
    expect(rec.calls()[0]!.requestyHeaders).toEqual({ "x-requesty-team": "core", "x-title": "app" });
  });
});

describe("private fields and secrets", () => {
  it("flags x-tagalong-* headers and tagalong body fields", async () => {
    await rawPost(
      "/v1/chat/completions",
      { "X-Tagalong-Scope": "1" },
      { ...chatBody, tagalong: { user: "u" }, providerOptions: { tagalong: {} } },
    );
    expect(rec.calls()[0]!.violations).toEqual([
      "wire: private header x-tagalong-scope reached the wire",
      'wire: private body field "tagalong" reached the provider',
      "wire: providerOptions.tagalong reached the provider",
    ]);
  });

  it("flags a PromptLayer key seen at PromptLayer that also reached a model call", async () => {
    const key = "pl_secret_abcdef";
    await rawPost("/v1/chat/completions", { "x-leak": `Bearer ${key}` });
    await rawPost("/log-request", { "X-API-KEY": key }, {});
    expect(rec.calls()[0]!.violations).toEqual(["secret: the PromptLayer API key appears in header x-leak"]);
    expect(rec.violations()).toContain(
      "#1 /v1/chat/completions: secret: the PromptLayer API key appears in header x-leak",
    );
  });
  it("flags the model's API key copied into a PromptLayer body", async () => {
    await rawPost("/v1/chat/completions", { authorization: "Bearer sk-model-secret" });
    await rawPost(
      "/log-request",
      { "X-API-KEY": "pl_other_key" },
      { parameters: { apiKey: "sk-model-secret" } },
    );
    expect(rec.calls()[0]!.violations).toEqual([]);
    expect(rec.promptLayer.violations()).toContain(
      "#2 /log-request: secret: the model API key appears in the body",
    );
  });
});

describe("text integrity", () => {
  it("flags a lone surrogate anywhere in a body", async () => {
    await rawPost(
      "/v1/chat/completions",
      {},
      { ...chatBody, user: "ok \ud83d\ude00", extra: ["cut \ud83d"] },
    );
    expect(rec.calls()[0]!.violations).toEqual([
      "wire: body extra[0] holds a lone surrogate (text cut inside a character)",
    ]);
  });
});

describe("summary", () => {
  it("shows each destination's view and the violations", async () => {
    await rawPost(
      "/v1/chat/completions",
      { "x-portkey-metadata": JSON.stringify({ _user: "u_42", n: 1 }), "x-portkey-trace-id": "t1" },
      { ...chatBody, requesty: { user_id: "u_42" } },
    );
    const summary = rec.summary();
    expect(summary).toContain("#1 chat.completions model=m → 200 chatcmpl-rec-1");
    expect(summary).toContain("portkey     _user=u_42 n=1 trace-id=t1");
    expect(summary).toContain("requesty    user_id=u_42");
    expect(summary).toContain(
      'VIOLATIONS: portkey: x-portkey-metadata value "n" must be a string (got number)',
    );
  });
});
