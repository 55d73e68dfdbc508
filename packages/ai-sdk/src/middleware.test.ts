// The recording paths the loopback recorder cannot produce on demand (a stream that breaks or is
// cancelled midway, a destination that throws), driven through the middleware's own hooks.
import { createTagalong, type Destination, portkey, requesty, TagalongError } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { describe, expect, it } from "vitest";
import { tagalongFetch } from "./fetch-channel";
import { tagalongMiddleware } from "./middleware";

const model = { provider: "openai.chat", modelId: "gpt-test" };

function setup(record?: (call: CompletedCall) => void) {
  const calls: CompletedCall[] = [];
  const errors: unknown[] = [];
  const memory: Destination = { name: "memory", record: record ?? ((call) => void calls.push(call)) };
  const tagalong = createTagalong({
    destinations: [memory],
    metadata: { user: "u_1" },
    onError: (e) => void errors.push(e),
  });
  return { middleware: tagalongMiddleware(tagalong), calls, errors };
}

/** A stream that yields `parts`, then either ends, errors with `error`, or waits for a cancel. */
function partsStream(parts: object[], then: { error?: Error; hang?: boolean } = {}) {
  const cancelled: unknown[] = [];
  let i = 0;
  const stream = new ReadableStream<{ type: string }>({
    pull(controller) {
      if (i < parts.length) controller.enqueue(parts[i++] as { type: string });
      else if (then.error) controller.error(then.error);
      else if (!then.hang) controller.close();
      else return new Promise(() => {});
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return { stream, cancelled };
}

const text = (delta: string) => ({ type: "text-delta", id: "0", delta });

async function streamCall(middleware: ReturnType<typeof tagalongMiddleware>, stream: ReadableStream) {
  const params = await middleware.transformParams({ type: "stream", params: { prompt: [] }, model });
  return middleware.wrapStream!({ doStream: async () => ({ stream }), params, model });
}

describe("stream recording", () => {
  it("a stream that errors midway is recorded once, with what arrived, and the reader gets the same error", async () => {
    const { middleware, calls } = setup();
    const boom = new Error("socket hang up");
    const { stream } = partsStream([{ type: "response-metadata", id: "r_1" }, text("par"), text("tial")], {
      error: boom,
    });
    const result = await streamCall(middleware, stream);
    const reader = result.stream.getReader();
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          seen.push(value);
        }
      })(),
    ).rejects.toBe(boom);
    expect(seen).toHaveLength(3);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      status: "error",
      stream: true,
      responseId: "r_1",
      output: [{ role: "assistant", content: "partial" }],
      error: { type: "Error", message: "socket hang up" },
    });
  });

  it("a stream the reader cancels is recorded once as aborted and the cancel reaches the provider", async () => {
    const { middleware, calls } = setup();
    const { stream, cancelled } = partsStream([text("a"), text("b")], { hang: true });
    const result = await streamCall(middleware, stream);
    const reader = result.stream.getReader();
    await reader.read();
    await reader.cancel("user left");
    expect(cancelled).toEqual(["user left"]);
    expect(calls.map((c) => [c.status, c.output[0]!.content])).toEqual([["aborted", "a"]]);
  });

  it("an error part in a stream that then finishes makes the call an error", async () => {
    const { middleware, calls } = setup();
    const failure = { name: "AI_APICallError", message: "overloaded" };
    const { stream } = partsStream([
      text("x"),
      { type: "error", error: failure },
      {
        type: "finish",
        finishReason: { unified: "error", raw: undefined },
        usage: { inputTokens: { total: 5 }, outputTokens: { total: 1 } },
      },
    ]);
    const result = await streamCall(middleware, stream);
    await result.stream.pipeTo(new WritableStream());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      status: "error",
      finishReason: "error",
      usage: { inputTokens: 5, outputTokens: 1 },
      error: { type: "AI_APICallError", message: "overloaded" },
    });
  });

  it("a stream cancelled after an error part is recorded as that error, final at once but for a V4 model's (ai 7 retries such a stream)", async () => {
    const { middleware, calls } = setup();
    const failure = { name: "AI_APICallError", message: "overloaded" };
    for (const specificationVersion of ["v3", "v4"]) {
      const info = { ...model, specificationVersion };
      const { stream } = partsStream([text("x"), { type: "error", error: failure }], { hang: true });
      const params = await middleware.transformParams({
        type: "stream",
        params: { prompt: [] },
        model: info,
      });
      const result = await middleware.wrapStream({ doStream: async () => ({ stream }), params, model: info });
      const reader = result.stream.getReader();
      await reader.read();
      await reader.read();
      await reader.cancel(failure);
    }
    expect(calls.map((c) => [c.status, c.output[0]!.content, c.error])).toEqual([
      ["error", "x", { type: "AI_APICallError", message: "overloaded" }],
      ["error", "x", { type: "AI_APICallError", message: "overloaded" }],
    ]);
    expect(calls[0]!.final).toBeUndefined();
    expect(calls[1]!.final).toBeDefined();
  });

  it("a file the model streams (a generated image) is recorded as its placeholder, as when generated", async () => {
    const { middleware, calls } = setup();
    const image = { type: "file", mediaType: "image/png", data: "iVBORw0KGgo=" };
    const params = await middleware.transformParams({ type: "generate", params: { prompt: [] }, model });
    const content = [{ type: "text", text: "Here it is" }, image, { type: "text", text: "A cat." }];
    const generated = { content, finishReason: "stop", usage: {} };
    await middleware.wrapGenerate({ doGenerate: async () => generated, params, model });
    const { stream } = partsStream([text("Here "), text("it is"), image, text("A cat.")]);
    await (await streamCall(middleware, stream)).stream.pipeTo(new WritableStream());
    expect(calls.map((c) => c.output[0]!.content)).toEqual([
      "Here it is\n[image]\nA cat.",
      "Here it is\n[image]\nA cat.",
    ]);
  });

  it("parts pass through as the very same objects, in order", async () => {
    const { middleware } = setup();
    const parts = [text("a"), { type: "raw", rawValue: {} }, text("b")];
    const result = await streamCall(middleware, partsStream(parts).stream);
    const seen: unknown[] = [];
    await result.stream.pipeTo(new WritableStream({ write: (part) => void seen.push(part) }));
    expect(seen).toHaveLength(3);
    for (const [i, part] of seen.entries()) expect(part).toBe(parts[i]);
  });
});

describe("never breaking the host call", () => {
  it("a destination that throws while recording reaches onError, not the caller", async () => {
    const { middleware, errors } = setup(() => {
      throw new Error("destination bug");
    });
    const params = await middleware.transformParams({ type: "generate", params: { prompt: [] }, model });
    const answer = {
      content: [{ type: "text", text: "ok" }],
      finishReason: "stop",
      usage: { inputTokens: 1, outputTokens: 1 },
    };
    await expect(middleware.wrapGenerate!({ doGenerate: async () => answer, params, model })).resolves.toBe(
      answer,
    );
    expect(errors.map(String)).toEqual(["Error: destination bug"]);
  });

  it("the model's own error is rethrown as the very same object", async () => {
    const { middleware, calls } = setup();
    const params = await middleware.transformParams({ type: "generate", params: { prompt: [] }, model });
    const own = Object.assign(new Error("rate limited"), { statusCode: 429 });
    await expect(
      middleware.wrapGenerate!({
        doGenerate: async () => {
          throw own;
        },
        params,
        model,
      }),
    ).rejects.toBe(own);
    expect(calls.map((c) => c.status)).toEqual(["error"]);
  });

  it("without an after-the-call destination the wrap hooks hand back the model's own result", async () => {
    const middleware = tagalongMiddleware(createTagalong({ destinations: [portkey()] }));
    const params = await middleware.transformParams({ type: "generate", params: { prompt: [] }, model });
    const answer = { content: [], finishReason: "stop", usage: {} };
    await expect(middleware.wrapGenerate({ doGenerate: async () => answer, params, model })).resolves.toBe(
      answer,
    );
    const streamed = { stream: new ReadableStream<{ type: string }>() };
    await expect(middleware.wrapStream({ doStream: async () => streamed, params, model })).resolves.toBe(
      streamed,
    );
  });
});

describe("misconfiguration at setup", () => {
  it("a middleware or fetch given the wrong thing throws a TagalongError naming it", () => {
    expect(() => tagalongMiddleware(portkey() as never)).toThrow(/tagalongMiddleware: expected a Tagalong/);
    expect(() => tagalongMiddleware(undefined as never)).toThrow(TagalongError);
    expect(() => tagalongFetch({ fetch } as never)).toThrow(
      /tagalongFetch: the argument must be a fetch function/,
    );
  });
});

describe("transformParams", () => {
  it("takes providerOptions.tagalong out into new params and leaves the caller's objects as they were", async () => {
    const middleware = tagalongMiddleware(createTagalong({ destinations: [portkey(), requesty()] }));
    const params = Object.freeze({
      prompt: [],
      headers: Object.freeze({ "x-mine": "1" }),
      providerOptions: Object.freeze({
        tagalong: Object.freeze({ user: "u_1" }),
        other: Object.freeze({ a: 1 }),
      }),
    });
    const out = await middleware.transformParams({
      type: "generate",
      params,
      model: { provider: "gw.chat", modelId: "m" },
    });
    expect(out).not.toBe(params);
    expect(out.providerOptions).toEqual({ other: { a: 1 }, gw: { requesty: { user_id: "u_1" } } });
    expect(out.headers).toEqual({ "x-mine": "1", "x-portkey-metadata": '{"_user":"u_1"}' });
    expect(params.providerOptions).toEqual({ tagalong: { user: "u_1" }, other: { a: 1 } });
    expect(params.headers).toEqual({ "x-mine": "1" });
  });
});
