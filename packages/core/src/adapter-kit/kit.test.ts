import { describe, expect, it } from "vitest";
import { errorInfo, failedStatus, isAbortError, timeoutOf } from "./call-errors";
import { callFetch } from "./call-fetch";
import { joinParts, mediaKind, mediaPlaceholder, openAIApiType, openAIParameters } from "./convention";
import { callCredentials } from "./credentials";
import { mergeHeaders } from "./headers";
import { hasKeys, isObject, isPlainObject } from "./objects";
import { observeStream, type StreamEnd } from "./observe-stream";
import { realmSingleton } from "./realm";

function entries(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

const ours = { "x-portkey-metadata": '{"_user":"u"}', "x-portkey-trace-id": "t" };

describe("mergeHeaders", () => {
  it("keeps the caller's header in every shape, names compared case-insensitively", () => {
    const record = { "X-Portkey-Metadata": "mine" };
    expect(mergeHeaders(record, ours)).toEqual({ "X-Portkey-Metadata": "mine", "x-portkey-trace-id": "t" });
    const headers = mergeHeaders(new Headers({ "X-PORTKEY-METADATA": "mine" }), ours);
    expect(entries(headers)).toEqual({ "x-portkey-metadata": "mine", "x-portkey-trace-id": "t" });
    expect(mergeHeaders([["x-portkey-metadata", null]], ours)).toEqual([
      ["x-portkey-trace-id", "t"],
      ["x-portkey-metadata", null],
    ]);
  });

  it("an undefined value is not set; a taken name is left out; nothing added returns the caller's object", () => {
    expect(mergeHeaders({ "x-portkey-metadata": undefined }, ours)).toEqual(ours);
    expect(mergeHeaders(undefined, ours, new Set(["x-portkey-trace-id"]))).toEqual({
      "x-portkey-metadata": '{"_user":"u"}',
    });
    const all = { "x-portkey-metadata": "a", "X-Portkey-Trace-Id": "b" };
    expect(mergeHeaders(all, ours)).toBe(all);
    expect(mergeHeaders(undefined, ours)).toBe(ours);
  });
});

describe("errors", () => {
  class APIUserAbortError extends Error {}
  class RateLimitError extends Error {}
  it("an abort is told by name or class, across copies of an SDK", () => {
    expect(isAbortError(new DOMException("x", "AbortError"))).toBe(true);
    // A timeout fails the call, whoever set it: AbortSignal.timeout, or LangChain's rename of openai's
    // APIConnectionTimeoutError.
    expect(isAbortError(new DOMException("x", "TimeoutError"))).toBe(false);
    expect(isAbortError(Object.assign(new Error("Request timed out."), { name: "TimeoutError" }))).toBe(
      false,
    );
    expect(isAbortError(new APIUserAbortError("x"))).toBe(true);
    expect(isAbortError({ name: "AbortError" })).toBe(true);
    expect(isAbortError(new RateLimitError("x"))).toBe(false);
    expect(isAbortError("AbortError")).toBe(false);
    expect(failedStatus(new Error("x"))).toBe("error");
  });

  it("timeoutOf names the timeout that aborted a signal, and nothing for any other stop", async () => {
    const timed = AbortSignal.timeout(1);
    await new Promise((resolve) => timed.addEventListener("abort", resolve, { once: true }));
    expect(timeoutOf(timed)).toBe(timed.reason);
    expect((timeoutOf(timed) as DOMException).name).toBe("TimeoutError");
    const controller = new AbortController();
    expect(timeoutOf(controller.signal)).toBeUndefined();
    controller.abort();
    expect(timeoutOf(controller.signal)).toBeUndefined();
    expect(timeoutOf(AbortSignal.abort(new DOMException("late", "TimeoutError")))).toBeDefined();
    expect(timeoutOf(undefined)).toBeUndefined();
    expect(timeoutOf(null)).toBeUndefined();
  });

  it("errorInfo names the error by its name, else its class", () => {
    expect(errorInfo(new RateLimitError("slow down"))).toEqual({
      type: "RateLimitError",
      message: "slow down",
    });
    expect(errorInfo(Object.assign(new Error("m"), { name: "AI_APICallError" }))).toEqual({
      type: "AI_APICallError",
      message: "m",
    });
    expect(errorInfo(new Error("m"))).toEqual({ type: "Error", message: "m" });
    expect(errorInfo("boom")).toEqual({ type: "Error", message: "boom" });
  });

  it("errorInfo scrubs the call's own credentials, whatever their shape, and credential shapes", () => {
    const secrets = callCredentials(
      "local-7f3a9c",
      new Headers({ "X-Portkey-Api-Key": "pk-gw-1", "X-Portkey-Virtual-Key": "vk-9", "x-trace": "t-1" }),
    );
    const error = new Error(
      "401 Incorrect API key provided: local-7f3a9c (x-portkey-api-key pk-gw-1, vk-9); also sk-proj-abcdefgh12345678; trace t-1",
    );
    expect(errorInfo(error, secrets).message).toBe(
      "401 Incorrect API key provided: [redacted] (x-portkey-api-key [redacted], [redacted]); also [redacted]; trace t-1",
    );
    expect(errorInfo("key local-7f3a9c", secrets).message).toBe("key [redacted]");
  });

  it("callCredentials takes credential-named headers of every form, with and without their scheme", () => {
    expect(
      callCredentials({
        Authorization: "Bearer local-abc123",
        "api-key": "az-1",
        Cookie: "s=1",
        "x-user": "u",
      }),
    ).toEqual(["Bearer local-abc123", "local-abc123", "az-1", "s=1"]);
    expect(
      callCredentials([
        ["PROXY-AUTHORIZATION", "Basic dXNlcjpwdw=="],
        ["x-custom-token", "tok-1"],
        ["content-type", "application/json"],
      ]),
    ).toEqual(["Basic dXNlcjpwdw==", "dXNlcjpwdw==", "tok-1"]);
    expect(callCredentials(new Headers({ "helicone-auth": "Bearer h-1" }), undefined, null, "")).toEqual([
      "Bearer h-1",
      "h-1",
    ]);
  });
});

describe("objects", () => {
  it("tells plain objects from class instances, arrays and null", () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    for (const v of [new Map(), new Date(), [], null, "x", new (class {})()])
      expect(isPlainObject(v)).toBe(false);
    expect(isObject(new Date())).toBe(true);
    expect(isObject([])).toBe(false);
    expect(hasKeys({})).toBe(false);
    expect(hasKeys({ a: undefined })).toBe(true);
  });
});

describe("realmSingleton", () => {
  it("creates once per key and shares it through globalThis", () => {
    const key = `tagalong.test.${Math.random()}`;
    const a = realmSingleton(key, () => ({ n: 1 }));
    expect(realmSingleton(key, () => ({ n: 2 }))).toBe(a);
    expect((globalThis as unknown as Record<symbol, unknown>)[Symbol.for(key)]).toBe(a);
  });
});

function source(chunks: string[], fail?: Error): ReadableStream<string> {
  let i = 0;
  return new ReadableStream<string>(
    {
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]!);
        else if (fail) controller.error(fail);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

async function readAll(stream: ReadableStream<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<string>) out.push(chunk);
  return out;
}

describe("observeStream", () => {
  const watch = (stream: ReadableStream<string>) => {
    const seen: string[] = [];
    const ends: StreamEnd["how"][] = [];
    const failures: unknown[] = [];
    const out = observeStream(stream, {
      chunk: (c) => seen.push(c),
      end: (e) => ends.push(e.how),
      fail: (e) => failures.push(e),
    });
    return { out, seen, ends, failures };
  };

  it("passes every chunk through and reports the end once, before the reader sees it", async () => {
    const w = watch(source(["a", "b"]));
    expect(await readAll(w.out)).toEqual(["a", "b"]);
    expect(w.seen).toEqual(["a", "b"]);
    expect(w.ends).toEqual(["done"]);
  });

  it("reports an upstream error as an error and a reader's cancel as a cancel", async () => {
    const failing = watch(source(["a"], new Error("reset")));
    await expect(readAll(failing.out)).rejects.toThrow("reset");
    expect(failing.ends).toEqual(["error"]);
    const cancelled = watch(source(["a", "b", "c"]));
    for await (const _ of cancelled.out as unknown as AsyncIterable<string>) break;
    expect(cancelled.seen).toEqual(["a"]);
    expect(cancelled.ends).toEqual(["cancel"]);
  });

  it("a source another reader holds fails the read, reported as an error", async () => {
    const locked = source(["a"]);
    locked.getReader();
    const w = watch(locked);
    await expect(readAll(w.out)).rejects.toThrow(TypeError);
    expect(w.ends).toEqual(["error"]);
  });

  it("an observer that throws is reported and the reader still gets every chunk", async () => {
    const failures: unknown[] = [];
    const out = observeStream(source(["a", "b"]), {
      chunk: () => {
        throw new Error("ours");
      },
      end: () => {},
      fail: (e) => failures.push(e),
    });
    expect(await readAll(out)).toEqual(["a", "b"]);
    expect(failures).toHaveLength(2);
  });
});

describe("callFetch", () => {
  it("adds headers (the request's win) and body fields to what `find` picks, and passes the rest through", async () => {
    const sent: Array<{ headers: Headers; body: unknown }> = [];
    const base = async (_input: unknown, init?: { headers?: HeadersInit; body?: unknown }) => {
      sent.push({ headers: new Headers(init?.headers), body: init?.body });
      return new Response("{}");
    };
    const fetch = callFetch("test", base, (_input, init) =>
      init?.tagged ? { headers: ours, body: { requesty: { user_id: "u" } } } : undefined,
    );
    expect(callFetch("test", fetch, () => undefined)).toBe(fetch);
    await fetch("http://x", {
      tagged: true,
      headers: { "x-portkey-trace-id": "mine", "content-length": "2" },
      body: "{}",
    });
    await fetch("http://x", { body: "{}" });
    expect(entries(sent[0]!.headers)).toEqual({
      "x-portkey-metadata": '{"_user":"u"}',
      "x-portkey-trace-id": "mine",
    });
    expect(JSON.parse(sent[0]!.body as string)).toEqual({ requesty: { user_id: "u" } });
    expect(sent[1]!.body).toBe("{}");
  });

  it("keeps the shape of the request's headers: a record stays a record, Headers and pairs become Headers", async () => {
    const seen: unknown[] = [];
    const base = async (_input: unknown, init?: { headers?: unknown }) => {
      seen.push(init?.headers);
      return new Response("{}");
    };
    const fetch = callFetch("test", base, () => ({ headers: ours, body: { requesty: { user_id: "u" } } }));
    const theirs = { "Content-Length": "2", "x-portkey-trace-id": "mine" };
    await fetch("http://x", { headers: theirs, body: "{}" });
    await fetch("http://x", { headers: new Headers(theirs), body: "{}" });
    await fetch("http://x", { headers: Object.entries(theirs), body: "{}" });
    await fetch(new Request("http://x", { method: "POST", headers: theirs }), { body: "{}" });
    expect(seen[0]).toEqual({ "x-portkey-trace-id": "mine", "x-portkey-metadata": '{"_user":"u"}' });
    expect(theirs).toEqual({ "Content-Length": "2", "x-portkey-trace-id": "mine" });
    for (const headers of seen.slice(1)) {
      expect(headers).toBeInstanceOf(Headers);
      expect(entries(headers as Headers)).toEqual({
        "x-portkey-metadata": '{"_user":"u"}',
        "x-portkey-trace-id": "mine",
      });
    }
  });
  it("adds to the request's own Headers in place when told the SDK made it for this request, else to a copy", async () => {
    const seen: unknown[] = [];
    const base = async (_input: unknown, init?: { headers?: unknown }) => {
      seen.push(init?.headers);
      return new Response("{}");
    };
    const find = () => ({ headers: ours });
    const theirs = () => new Headers({ "x-portkey-trace-id": "mine", accept: "application/json" });
    const expected = {
      accept: "application/json",
      "x-portkey-metadata": '{"_user":"u"}',
      "x-portkey-trace-id": "mine",
    };
    const inPlace = theirs();
    await callFetch("test", base, find, undefined, true)("http://x", { headers: inPlace });
    const copied = theirs();
    await callFetch("test", base, find)("http://x", { headers: copied });
    expect(seen[0]).toBe(inPlace);
    expect(entries(inPlace)).toEqual(expected);
    expect(seen[1]).not.toBe(copied);
    expect(entries(seen[1] as Headers)).toEqual(expected);
    expect(entries(copied)).toEqual({ accept: "application/json", "x-portkey-trace-id": "mine" });
  });
});

describe("callFetch with a channel", () => {
  it("finds the call by the init's channel key, which is taken out of what is sent, with or without additions", async () => {
    const CHANNEL = Symbol("test.channel");
    const sent: Array<Record<PropertyKey, unknown> | undefined> = [];
    const base = async (_input: unknown, init?: Record<PropertyKey, unknown>) => {
      sent.push(init);
      return new Response("{}");
    };
    const seen: unknown[] = [];
    const fetch = callFetch(
      "test",
      base,
      (_input, init) => {
        seen.push(init?.[CHANNEL]);
        return init?.[CHANNEL] === "add" ? { headers: ours } : undefined;
      },
      CHANNEL,
    );
    const plain = { body: "{}" };
    await fetch("http://x", { [CHANNEL]: "add", body: "{}" });
    await fetch("http://x", { [CHANNEL]: "none", body: "{}" });
    await fetch("http://x", plain);
    expect(seen).toEqual(["add", "none", undefined]);
    expect(sent.map((init) => init !== undefined && CHANNEL in init)).toEqual([false, false, false]);
    expect(entries(new Headers(sent[0]!.headers as HeadersInit))).toEqual(ours);
    expect(sent[1]).toEqual({ body: "{}" });
    // An init without the channel's key is passed on as it is.
    expect(sent[2]).toBe(plain);
  });
});

describe("the CompletedCall convention's pieces", () => {
  it("media placeholders name the kind and, when given, the file", () => {
    expect(mediaPlaceholder(mediaKind("image/png"), "cat.png")).toBe("[image: cat.png]");
    expect(mediaPlaceholder(mediaKind("image"))).toBe("[image]");
    expect(mediaPlaceholder(mediaKind("audio/wav"))).toBe("[audio]");
    expect(mediaPlaceholder(mediaKind("application/pdf"), "")).toBe("[file]");
    expect(joinParts(["a", "", "[image]", "b"])).toBe("a\n[image]\nb");
  });

  it("OpenAI's settings under neutral names, the rest under other, input and transport left out", () => {
    expect(
      openAIParameters({
        model: "m",
        messages: [],
        stream: true,
        stream_options: { include_usage: true },
        temperature: 0.5,
        max_completion_tokens: 20,
        stop: "END",
        tools: [{ type: "function", function: { name: "f" } }, { type: "web_search" }],
        tool_choice: "auto",
        response_format: { type: "json_object" },
        reasoning_effort: "low",
        user: undefined,
      }),
    ).toEqual({
      temperature: 0.5,
      maxTokens: 20,
      stop: ["END"],
      tools: ["f", "web_search"],
      responseFormat: "json",
      other: { reasoning_effort: "low" },
    });
    expect(
      openAIParameters({
        tools: [{ type: "function", name: "g" }],
        tool_choice: { type: "function", name: "g" },
      }),
    ).toEqual({
      tools: ["g"],
      toolChoice: "g",
    });
    expect(openAIParameters({ model: "m", tool_choice: "required" })).toBeUndefined();
  });

  it("the API type from a request path or URL", () => {
    expect(openAIApiType("/chat/completions")).toBe("chat-completions");
    expect(openAIApiType("http://127.0.0.1:1/v1/responses?x=1")).toBe("responses");
    expect(openAIApiType("/v1/completions")).toBe("completions");
    expect(openAIApiType("/embeddings")).toBe("embeddings");
    expect(openAIApiType("/responses/resp_1/cancel")).toBeUndefined();
  });
});
