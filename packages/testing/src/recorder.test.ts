import { connect } from "node:net";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRecorder } from "./recorder";
import type { Recorder } from "./types";

/** Resolves with the connect error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
  });
}

const messages = [{ role: "user" as const, content: "hi" }];

describe("failure modes", () => {
  let rec: Recorder;
  let client: OpenAI;
  beforeAll(async () => {
    rec = await createRecorder();
    client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
  });
  afterEach(() => rec.reset());
  afterAll(() => rec.close());

  it("fails a given number of times, then answers (the SDK's retry sees both)", async () => {
    const rule = rec.fail({ path: "/v1/chat/completions", status: 500, times: 1 });
    const retrying = client.withOptions({ maxRetries: 1 });
    const completion = await retrying.chat.completions.create({ model: "m", messages });
    expect(completion.choices[0]!.message.content).toBe("echo: hi");
    expect(rule.hits).toBe(1);
    expect(rec.calls().map((c) => [c.status, c.outcome])).toEqual([
      [500, "failed"],
      [200, "answered"],
    ]);
  });

  it("answers 429 with retry-after and OpenAI's error body", async () => {
    rec.fail({ kind: "openai", status: 429, retryAfter: 7 });
    const res = await fetch(`${rec.openaiBaseURL}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("retry-after-ms")).toBe("7000");
    expect(((await res.json()) as any).error.type).toBe("rate_limit_exceeded");
  });

  it("fails only the matching destination, with its error shape", async () => {
    rec.fail({ path: /^\/(log-request|rest\/)/, status: 401 });
    const pl = await fetch(`${rec.promptLayerURL}/log-request`, { method: "POST", body: "{}" });
    expect(pl.status).toBe(401);
    expect(await pl.json()).toEqual({ success: false, message: "recorder: injected 401" });
    const completion = await client.chat.completions.create({ model: "m", messages });
    expect(completion.id).toBe("chatcmpl-rec-1");
  });

  it("surfaces 401 on model calls as the SDK's AuthenticationError", async () => {
    rec.fail({ path: "/v1", status: 401 });
    await expect(client.chat.completions.create({ model: "m", messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it("hangs until the client gives up, and records the request as hung", async () => {
    rec.fail({ path: "/log-request", hang: true });
    const started = Date.now();
    const error = await fetch(`${rec.promptLayerURL}/log-request`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(150),
    }).catch((e) => e);
    expect(error.name).toBe("TimeoutError");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(rec.requests[0]!.outcome).toBe("hung");
    expect(rec.requests[0]!.status).toBeUndefined();
  });

  it("resets the connection (a network error for the client)", async () => {
    rec.fail({ kind: "promptlayer", reset: true, times: 1 });
    const error = await fetch(`${rec.promptLayerURL}/log-request`, { method: "POST", body: "{}" }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(rec.requests[0]!.outcome).toBe("reset");
  });

  it("refuses connections until resume(), on the same port", async () => {
    await rec.refuse();
    expect(await tryConnect(rec.port)).toBe("ECONNREFUSED");
    const error = await client.chat.completions.create({ model: "m", messages }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    await rec.resume();
    expect((await client.chat.completions.create({ model: "m", messages })).id).toBe("chatcmpl-rec-1");
  });

  it("clear() stops a rule and reset() forgets everything", async () => {
    const rule = rec.fail({ status: 503 });
    expect((await fetch(`${rec.url}/log-request`, { method: "POST" })).status).toBe(503);
    rule.clear();
    expect((await fetch(`${rec.url}/log-request`, { method: "POST" })).status).toBe(401);
    rec.fail({ status: 503 });
    await rec.reset();
    expect(rec.requests).toHaveLength(0);
    expect((await client.chat.completions.create({ model: "m", messages })).id).toBe("chatcmpl-rec-1");
  });
});

describe("slow PromptLayer answers and duplicates", () => {
  const KEY = "pl_slow_key_0123";
  const log = (n: number) => ({
    provider: "openai",
    model: "m",
    input: { type: "chat", messages: [{ role: "user", content: [{ type: "text", text: `call ${n}` }] }] },
    output: { type: "chat", messages: [] },
    request_start_time: "2026-11-20T10:00:00.000Z",
    request_end_time: "2026-11-20T10:00:01.000Z",
  });
  const send = (rec: Recorder, body: unknown, signal?: AbortSignal) =>
    fetch(`${rec.promptLayerURL}/log-request`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": KEY },
      body: JSON.stringify(body),
      signal,
    });

  it("a slow-answer rule stores the log at once and answers later; a retry of it counts as a duplicate", async () => {
    const rec = await createRecorder({ promptLayerApiKey: KEY });
    try {
      const rule = rec.fail({ path: "/log-request", delayMs: 300, times: 1 });
      const gaveUp = new AbortController();
      const first = send(rec, log(1), gaveUp.signal).catch((e: Error) => e.name);
      // Stored before it is answered.
      await rec.waitFor((r) => r.promptLayer.logs().length === 1);
      gaveUp.abort();
      expect(await first).toBe("AbortError");
      // The client retries the same body: stored again, counted as a duplicate.
      expect((await send(rec, log(1))).status).toBe(201);
      expect((await send(rec, log(2))).status).toBe(201);
      expect(rule.hits).toBe(1);
      expect(rec.promptLayer.logs()).toHaveLength(3);
      expect(rec.promptLayer.duplicates()).toBe(1);
      await rec.reset();
      expect(rec.promptLayer.duplicates()).toBe(0);
    } finally {
      await rec.close();
    }
  });

  it("promptLayerLatencyMs answers PromptLayer requests after storing them, and model calls at once", async () => {
    const rec = await createRecorder({ promptLayerLatencyMs: 400 });
    try {
      const answered = send(rec, log(1)).then((r) => r.status);
      await rec.waitFor((r) => r.promptLayer.logs().length === 1);
      const early = await Promise.race([answered, new Promise((r) => setTimeout(() => r("pending"), 50))]);
      expect(early).toBe("pending");
      expect(await answered).toBe(201);
      const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
      await client.chat.completions.create({ model: "m", messages });
      expect(rec.calls()).toHaveLength(1);
    } finally {
      await rec.close();
    }
  });
});

describe("lifecycle", () => {
  it("close() leaves nothing listening, drops keep-alive and hung sockets, and is idempotent", async () => {
    const rec = await createRecorder();
    const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
    await client.chat.completions.create({ model: "m", messages }); // leaves a keep-alive socket
    rec.fail({ hang: true });
    const hung = fetch(`${rec.url}/log-request`, { method: "POST", body: "{}" }).catch((e) => e);
    await rec.waitFor((r) => r.requests.length === 2);
    const started = Date.now();
    await rec.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await hung).toBeInstanceOf(TypeError);
    expect(await tryConnect(rec.port)).toBe("ECONNREFUSED");
    await rec.close();
    await rec.resume();
    expect(await tryConnect(rec.port)).toBe("ECONNREFUSED");
  });

  it("closes while refused", async () => {
    const rec = await createRecorder();
    await rec.refuse();
    await rec.close();
    expect(await tryConnect(rec.port)).toBe("ECONNREFUSED");
  });

  it("binds 127.0.0.1 only", async () => {
    const rec = await createRecorder();
    expect(rec.url).toBe(`http://127.0.0.1:${rec.port}`);
    expect(rec.openaiBaseURL).toBe(`${rec.url}/v1`);
    expect(rec.promptLayerURL).toBe(rec.url);
    await rec.close();
  });

  it("delays model answers by latencyMs", async () => {
    const rec = await createRecorder({ latencyMs: 120 });
    const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
    const started = Date.now();
    await client.chat.completions.create({ model: "m", messages });
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    await rec.close();
  });

  it("waitFor() resolves with the predicate's value, or rejects with a summary", async () => {
    const rec = await createRecorder();
    const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL, maxRetries: 0 });
    const waiting = rec.waitFor((r) => r.calls()[0]);
    setTimeout(() => void client.chat.completions.create({ model: "m", messages }), 30);
    expect((await waiting).model).toBe("m");
    expect(await rec.waitFor((r) => r.calls()[0]!.body.model)).toBe("m");
    await expect(rec.waitFor((r) => r.calls()[1]!.model, { timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms \(last error: TypeError: .*\)\n#1 chat/,
    );
    await expect(rec.waitFor((r) => r.calls()[1], { timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms\n#1 chat.completions model=m → 200/,
    );
    await rec.close();
  });
});
