// Review repro (rev-aisdk): the same answer recorded through generate and through stream.
import { createTagalong, type Destination } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { expect, it } from "vitest";
import { tagalongMiddleware } from "./middleware";

const model = { provider: "openai.responses", modelId: "gpt-test" };

it("two text blocks are recorded the same generated or streamed", async () => {
  const calls: CompletedCall[] = [];
  const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
  const middleware = tagalongMiddleware(createTagalong({ destinations: [memory] }));
  const usage = { inputTokens: { total: 1 }, outputTokens: { total: 2 } };
  const finishReason = { unified: "stop", raw: "stop" };
  // generate: the content a responses call with two message items has
  const gp = await middleware.transformParams({ type: "generate", params: { prompt: [] }, model });
  await middleware.wrapGenerate({
    doGenerate: async () => ({
      content: [
        { type: "text", text: "first" },
        { type: "reasoning", text: "thinking" },
        { type: "text", text: "second" },
      ],
      finishReason, usage, warnings: [],
    }),
    params: gp, model,
  });
  // stream: the same answer as parts
  const parts = [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "m1" }, { type: "text-delta", id: "m1", delta: "first" }, { type: "text-end", id: "m1" },
    { type: "reasoning-start", id: "r1" }, { type: "reasoning-delta", id: "r1", delta: "thinking" }, { type: "reasoning-end", id: "r1" },
    { type: "text-start", id: "m2" }, { type: "text-delta", id: "m2", delta: "second" }, { type: "text-end", id: "m2" },
    { type: "finish", finishReason, usage },
  ];
  const sp = await middleware.transformParams({ type: "stream", params: { prompt: [] }, model });
  const { stream } = await middleware.wrapStream({
    doStream: async () => ({ stream: new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } }) }),
    params: sp, model,
  });
  for await (const _ of stream as unknown as AsyncIterable<unknown>);
  expect(calls.map((c) => c.output[0]!.content)).toEqual(["first\nsecond", "first\nsecond"]);
});

it.each([["a string", "u_42"], ["null", null], ["an array", ["u"]], ["a number", 42]])(
  "providerOptions.tagalong as %s does not break the call by default",
  async (_, value) => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (w: string) => void warnings.push(w) };
    const middleware = tagalongMiddleware(createTagalong({ destinations: [], logger }));
    const out = await middleware.transformParams({
      type: "generate",
      params: { prompt: [], providerOptions: { tagalong: value as never } },
      model: { provider: "gw.chat", modelId: "m" },
    });
    expect(out.providerOptions?.tagalong).toBeUndefined();
    console.log("BADOPT", _, JSON.stringify(warnings));
  },
);
