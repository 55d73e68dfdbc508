// Which span a Tagalong span is a child of, through the real OpenTelemetry SDK (its AsyncLocalStorage
// context manager registered, as an application sets it up): the span active where the call was made,
// also when LangChain runs a background handler's callbacks in its queue, behind a slow handler.

import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatOpenAI } from "@langchain/openai";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { createTagalong, openTelemetry, withMetadata } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loopbackOnly } from "./stack";

loopbackOnly();
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let rec: Recorder;

beforeAll(async () => {
  provider.register();
  rec = await createRecorder();
});
afterAll(async () => {
  await provider.shutdown();
  await rec?.close();
});
beforeEach(async () => {
  await rec.reset();
  exporter.reset();
});

/** Runs `fn` inside a request span of its own; its trace and span ids. */
async function inSpan(
  name: string,
  fn: () => Promise<unknown>,
): Promise<{ traceId: string; spanId: string }> {
  return trace.getTracer("app").startActiveSpan(name, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
    return span.spanContext();
  });
}

/** Each Tagalong span: its user, and whether its parent and trace are the request span's (`-` outside any). */
function tagalongSpans(requests: Record<string, { traceId: string; spanId: string } | undefined>) {
  return exporter
    .getFinishedSpans()
    .filter((s) => s.instrumentationScope.name === "@tagalong/core")
    .map((s) => {
      const user = String(s.attributes["user.id"]);
      const request = requests[user];
      const parent = s.parentSpanContext?.spanId;
      if (request === undefined) return [user, parent === undefined ? "no parent" : "a parent"];
      return [
        user,
        parent === request.spanId ? "its request's span" : "another span",
        s.spanContext().traceId === request.traceId ? "its trace" : "another trace",
      ];
    });
}

describe("a LangChain handler's span is a child of the span active where the call was made", () => {
  for (const [name, subclass, awaitHandlers] of [
    ["awaited handler", false, true],
    ["background handler", false, false],
    ["background handler with withTagalong", true, false],
  ] as const) {
    it(`${name}, LangChain's queue behind a slow handler`, async () => {
      const tagalong = createTagalong({ destinations: [openTelemetry({ trace })] });
      const Model = subclass ? withTagalong(ChatOpenAI) : ChatOpenAI;
      const model = new Model({
        model: "gpt-4o-mini",
        apiKey: "sk-otel",
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [new TagalongCallbackHandler(tagalong, { awaitHandlers })],
      });
      // A slow handler's end, queued ahead of ours, holds LangChain's queue back until released:
      // every request span below has ended before the queue hands a background handler its runs.
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = { name: "slow", awaitHandlers: false, handleLLMEnd: () => held };
      const requests = {
        u_ahead: await inSpan("ahead", () =>
          withMetadata({ user: "u_ahead" }, () => model.invoke("ahead", { callbacks: [slow] })),
        ),
        u_a: await inSpan("a", () => withMetadata({ user: "u_a" }, () => model.invoke("behind a"))),
        u_b: await inSpan("b", () => withMetadata({ user: "u_b" }, () => model.invoke("behind b"))),
        u_none: undefined,
      };
      await withMetadata({ user: "u_none" }, () => model.invoke("behind, outside any span"));
      release();
      await awaitAllCallbacks();
      await tagalong.flush();
      expect(tagalongSpans(requests)).toEqual([
        ["u_ahead", "its request's span", "its trace"],
        ["u_a", "its request's span", "its trace"],
        ["u_b", "its request's span", "its trace"],
        ["u_none", "no parent"],
      ]);
      // And each request span got its own call's metadata when the call started.
      const annotated = exporter
        .getFinishedSpans()
        .filter((s) => s.instrumentationScope.name === "app")
        .map((s) => [s.name, s.attributes["user.id"]]);
      expect(annotated).toEqual([
        ["ahead", "u_ahead"],
        ["a", "u_a"],
        ["b", "u_b"],
      ]);
      await tagalong.shutdown();
    });
  }
});

describe("a LangChain run aborted through its signal from another span: the Tagalong span is a child of the caller's", () => {
  for (const [name, bound] of [
    ["awaited handler", false],
    ["withTagalong(ChatOpenAI, tagalong)", true],
  ] as const) {
    it(`${name}: a request aborted while it waits, a stream aborted between two parts`, async () => {
      const tagalong = createTagalong({ destinations: [openTelemetry({ trace })] });
      const fields = {
        model: "gpt-4o-mini",
        apiKey: "sk-otel",
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
      };
      const model = bound
        ? new (withTagalong(ChatOpenAI, tagalong))(fields)
        : new ChatOpenAI({ ...fields, callbacks: [new TagalongCallbackHandler(tagalong)] });
      // The abort comes from another request's span and scope (a shutdown, a client gone): a promise
      // reaction made there runs there.
      const aborter = (stop: AbortController) => {
        let release = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const abortFrom = inSpan("aborter", () =>
          withMetadata({ user: "u_aborter" }, () => gate.then(() => stop.abort())),
        );
        return { release, abortFrom };
      };
      const waiting = new AbortController();
      const fromWaiting = aborter(waiting);
      const slow = rec.fail({ kind: "openai", delayMs: 1000 });
      const invoked = inSpan("invoked", () =>
        withMetadata({ user: "u_invoked" }, async () => {
          const call = model.invoke("waits", { signal: waiting.signal });
          setTimeout(fromWaiting.release, 50);
          await expect(call).rejects.toThrow(/abort/i);
        }),
      );
      const requests: Record<string, { traceId: string; spanId: string }> = {
        u_invoked: await invoked,
        u_aborter: await fromWaiting.abortFrom,
      };
      slow.clear();
      const midway = new AbortController();
      const fromMidway = aborter(midway);
      requests.u_streamed = await inSpan("streamed", () =>
        withMetadata({ user: "u_streamed" }, async () => {
          const streamed = model.stream("parts", { signal: midway.signal }).then(async (stream) => {
            let parts = 0;
            for await (const _ of stream) {
              if (++parts === 2) {
                fromMidway.release();
                await fromMidway.abortFrom;
              }
            }
          });
          await expect(streamed).rejects.toThrow(/abort/i);
        }),
      );
      await awaitAllCallbacks();
      await tagalong.flush();
      const spans = exporter
        .getFinishedSpans()
        .filter((s) => s.instrumentationScope.name === "@tagalong/core");
      expect(spans.map((s) => [s.attributes["user.id"], s.status.code])).toEqual([
        ["u_invoked", 2],
        ["u_streamed", 2],
      ]);
      expect(tagalongSpans(requests)).toEqual([
        ["u_invoked", "its request's span", "its trace"],
        ["u_streamed", "its request's span", "its trace"],
      ]);
      await tagalong.shutdown();
    });
  }
});
