// @tagalong/openai's calls through the real Portkey gateway: the upstream sees our metadata verbatim.
import { createTagalong, portkey, withMetadata } from "@tagalong/core";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { METADATA, PORTKEY_METADATA, useGatewayStack } from "./stack";

describe("@tagalong/openai through the Portkey gateway", () => {
  const stack = useGatewayStack();
  let openai: OpenAI;
  beforeAll(() => {
    const client = new OpenAI({
      baseURL: stack.gateway.baseURL,
      apiKey: "sk-test",
      defaultHeaders: stack.route,
    });
    openai = wrapOpenAI(client, tagalong);
  });

  const tagalong = createTagalong({ destinations: [portkey({ forwardMetadata: true })] });
  const sent = tagalong.prepare(METADATA).headers["x-portkey-metadata"];
  const messages = [{ role: "user" as const, content: "Say hi" }];

  it("chat completions, plain and streamed, carry the metadata to the upstream verbatim", async () => {
    await withMetadata(METADATA, async () => {
      const { data, response } = await openai.chat.completions
        .create({ model: "gpt-4o-mini", messages })
        .withResponse();
      expect(data.choices[0]?.message.content).not.toBe("");
      expect(response.headers.get("x-portkey-provider")).toBe("openai");
      let streamed = "";
      const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
      expect(streamed).not.toBe("");
      const helper = openai.chat.completions.stream({ model: "gpt-4o-mini", messages });
      expect((await helper.finalChatCompletion()).choices[0]?.message.content).not.toBe("");
    });
    const calls = stack.upstream.calls();
    expect(calls.map((c) => [c.endpoint, c.stream])).toEqual([
      ["chat.completions", false],
      ["chat.completions", true],
      ["chat.completions", true],
    ]);
    for (const call of calls) {
      expect(call.portkey.rawHeader).toBe(sent);
      expect(call.portkey.metadata).toEqual(PORTKEY_METADATA);
    }
    expect(stack.upstream.violations()).toEqual([]);
  });

  it("responses, plain and streamed, carry the metadata to the upstream verbatim", async () => {
    await withMetadata(METADATA, async () => {
      const response = await openai.responses.create({ model: "gpt-4o-mini", input: "Say hi" });
      expect(response.output_text).not.toBe("");
      const stream = await openai.responses.create({ model: "gpt-4o-mini", input: "Say hi", stream: true });
      const types = new Set<string>();
      for await (const event of stream) types.add(event.type);
      expect(types).toContain("response.completed");
    });
    const calls = stack.upstream.calls();
    expect(calls.map((c) => [c.endpoint, c.stream, c.portkey.metadata])).toEqual([
      ["responses", false, PORTKEY_METADATA],
      ["responses", true, PORTKEY_METADATA],
    ]);
  });

  it("per-call metadata (tagalongOptions) reaches the upstream, streamed and not", async () => {
    await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages },
      tagalongOptions({ user: "Zoë 😀" }),
    );
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages, stream: true },
      tagalongOptions({ user: "ana", tags: ["b"] }),
    );
    for await (const _ of stream);
    expect(stack.upstream.calls().map((c) => [c.stream, c.portkey.metadata])).toEqual([
      [false, { _user: "Zoë 😀" }],
      [true, { _user: "ana", tags: "b" }],
    ]);
  });
});
