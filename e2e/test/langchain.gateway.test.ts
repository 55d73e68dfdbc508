// @tagalong/langchain's calls through the real Portkey gateway: the upstream sees our metadata verbatim.
import { ChatOpenAI } from "@langchain/openai";
import { createTagalong, portkey, withMetadata } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { describe, expect, it } from "vitest";
import { METADATA, PORTKEY_METADATA, useGatewayStack } from "./stack";

describe("@tagalong/langchain through the Portkey gateway", () => {
  const stack = useGatewayStack();

  const tagalong = createTagalong({ destinations: [portkey({ forwardMetadata: true })] });
  const sent = tagalong.prepare(METADATA).headers["x-portkey-metadata"];
  const TaggedChatOpenAI = withTagalong(ChatOpenAI);
  const chat = () =>
    new TaggedChatOpenAI({
      model: "gpt-4o-mini",
      apiKey: "sk-test",
      configuration: { baseURL: stack.gateway.baseURL, defaultHeaders: stack.route },
      callbacks: [new TagalongCallbackHandler(tagalong)],
    });
  const config = { metadata: { tagalong: METADATA } };

  // (`streaming: true` on invoke needs tiktoken data from the network; @tagalong/langchain's own suite
  // covers that path with the download answered locally.)
  it("invoke and stream carry RunnableConfig metadata to the upstream verbatim", async () => {
    expect((await chat().invoke("Say hi", config)).content).not.toBe("");
    let streamed = "";
    for await (const chunk of await chat().stream("Say hi", config)) streamed += chunk.content;
    expect(streamed).not.toBe("");
    const events = chat().streamEvents("Say hi", { ...config, version: "v2" });
    for await (const _ of events);

    const calls = stack.upstream.calls();
    expect(calls.map((c) => c.stream)).toEqual([false, true, true]);
    for (const call of calls) {
      expect(call.portkey.rawHeader).toBe(sent);
      expect(call.portkey.metadata).toEqual(PORTKEY_METADATA);
    }
    expect(stack.upstream.violations()).toEqual([]);
  });

  it("a withMetadata scope reaches the upstream too, streamed and not", async () => {
    await withMetadata({ user: "Zoë 😀" }, async () => {
      await chat().invoke("hi");
      for await (const _ of await chat().stream("hi"));
    });
    expect(stack.upstream.calls().map((c) => [c.stream, c.portkey.metadata])).toEqual([
      [false, { _user: "Zoë 😀" }],
      [true, { _user: "Zoë 😀" }],
    ]);
  });
});
