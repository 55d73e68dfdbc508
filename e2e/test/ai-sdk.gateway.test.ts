// @tagalong/ai-sdk's calls through the real Portkey gateway: the upstream sees our metadata verbatim.
import { createOpenAI } from "@ai-sdk/openai";
import { tagalongMiddleware, tagalongOptions } from "@tagalong/ai-sdk";
import { createTagalong, portkey, withMetadata } from "@tagalong/core";
import { generateText, streamText, wrapLanguageModel } from "ai";
import { describe, expect, it } from "vitest";
import { METADATA, PORTKEY_METADATA, useGatewayStack } from "./stack";

describe("@tagalong/ai-sdk through the Portkey gateway", () => {
  const stack = useGatewayStack();

  const tagalong = createTagalong({ destinations: [portkey({ forwardMetadata: true })] });
  const sent = tagalong.prepare(METADATA).headers["x-portkey-metadata"];
  const provider = () =>
    createOpenAI({ baseURL: stack.gateway.baseURL, apiKey: "sk-test", headers: stack.route });
  const middleware = tagalongMiddleware(tagalong);

  const cases = [
    { api: "chat completions", endpoint: "chat.completions", model: () => provider().chat("gpt-4o-mini") },
    { api: "responses", endpoint: "responses", model: () => provider().responses("gpt-4o-mini") },
  ] as const;

  for (const { api, endpoint, model: baseModel } of cases) {
    it(`${api}: generateText and streamText carry the metadata to the upstream verbatim`, async () => {
      const model = wrapLanguageModel({ model: baseModel(), middleware });
      const { upstream } = stack;
      const generated = await withMetadata(METADATA, () => generateText({ model, prompt: "Say hi" }));
      expect(generated.text).not.toBe("");
      let streamed = "";
      await withMetadata(METADATA, async () => {
        const result = streamText({ model, prompt: "Say hi" });
        for await (const part of result.textStream) streamed += part;
      });
      expect(streamed).not.toBe("");

      const calls = upstream.calls();
      expect(calls.map((c) => [c.endpoint, c.stream])).toEqual([
        [endpoint, false],
        [endpoint, true],
      ]);
      for (const call of calls) {
        expect(call.portkey.rawHeader).toBe(sent);
        expect(call.portkey.metadata).toEqual(PORTKEY_METADATA);
      }
      expect(upstream.violations()).toEqual([]);
    });
  }

  it("per-call metadata (providerOptions.tagalong) reaches the upstream, streamed and not", async () => {
    const model = wrapLanguageModel({ model: provider().chat("gpt-4o-mini"), middleware });
    await generateText({ model, prompt: "hi", providerOptions: tagalongOptions({ user: "Zoë 😀" }) });
    const result = streamText({ model, prompt: "hi", providerOptions: tagalongOptions({ user: "ana" }) });
    await result.consumeStream();
    expect(stack.upstream.calls().map((c) => [c.stream, c.portkey.metadata])).toEqual([
      [false, { _user: "Zoë 😀" }],
      [true, { _user: "ana" }],
    ]);
  });
});
