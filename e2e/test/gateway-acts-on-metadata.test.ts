// The gateway acts on the metadata we send: conditional routing on `metadata._user` and the
// `default.requiredMetadataKeys` guardrail. Config goes per request in `x-portkey-config`.
import { createOpenAI } from "@ai-sdk/openai";
import { tagalongMiddleware } from "@tagalong/ai-sdk";
import { createTagalong, portkey, withMetadata } from "@tagalong/core";
import { headerJson } from "@tagalong/core/destination";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { APICallError, generateText, streamText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useGatewayStack } from "./stack";

const ZOE = "Zoë 😀";

describe("the Portkey gateway acts on Tagalong metadata", () => {
  const stack = useGatewayStack();
  // A second upstream, for the conditional route's other target.
  let other: Recorder;
  beforeAll(async () => {
    other = await createRecorder();
  });
  afterAll(() => other?.close());
  beforeEach(() => other.reset());

  const tagalong = createTagalong({
    destinations: [portkey({ forwardMetadata: true })],
    metadata: { environment: "test" },
  });
  // The gateway's own route headers are left out: the config names the provider and host.
  const model = () =>
    wrapLanguageModel({
      model: createOpenAI({ baseURL: stack.gateway.baseURL, apiKey: "sk-test" }).chat("gpt-4o-mini"),
      middleware: tagalongMiddleware(tagalong),
    });
  const config = (value: unknown) => ({ "x-portkey-config": headerJson(value) });

  describe("conditional routing on metadata._user", () => {
    const routing = () =>
      config({
        strategy: {
          mode: "conditional",
          // biome-ignore lint/suspicious/noThenProperty: the key is Portkey's config schema
          conditions: [{ query: { "metadata._user": { $eq: ZOE } }, then: "zoe" }],
          default: "everyone-else",
        },
        targets: [
          { name: "zoe", provider: "openai", custom_host: stack.upstream.openaiBaseURL, api_key: "sk-zoe" },
          {
            name: "everyone-else",
            provider: "openai",
            custom_host: other.openaiBaseURL,
            api_key: "sk-other",
          },
        ],
      });

    it("sends each user's calls to the expected target, streamed and not, concurrently", async () => {
      const headers = routing();
      const call = (user: string, stream: boolean) =>
        withMetadata({ user }, async () => {
          if (!stream)
            return (await generateText({ model: model(), prompt: "hi", headers })).response.headers;
          const result = streamText({ model: model(), prompt: "hi", headers });
          await result.consumeStream();
          return (await result.response).headers;
        });
      const answers = await Promise.all([
        call(ZOE, false),
        call("bob", false),
        call(ZOE, true),
        call("bob", true),
      ]);
      expect(answers.map((h) => h?.["x-portkey-last-used-option-index"])).toEqual([
        "config.targets[0]",
        "config.targets[1]",
        "config.targets[0]",
        "config.targets[1]",
      ]);

      const seen = (rec: Recorder) =>
        rec
          .calls()
          .map(
            (c) => `${c.portkey.metadata?._user} ${c.stream ? "stream" : "plain"} ${c.headers.authorization}`,
          )
          .sort();
      expect(seen(stack.upstream)).toEqual([`${ZOE} plain Bearer sk-zoe`, `${ZOE} stream Bearer sk-zoe`]);
      expect(seen(other)).toEqual(["bob plain Bearer sk-other", "bob stream Bearer sk-other"]);
    });
  });

  describe("the default.requiredMetadataKeys guardrail", () => {
    const guarded = () =>
      config({
        provider: "openai",
        custom_host: stack.upstream.openaiBaseURL,
        before_request_hooks: [
          {
            type: "guardrail",
            id: "needs-user",
            deny: true,
            checks: [
              {
                id: "default.requiredMetadataKeys",
                parameters: { metadataKeys: ["_user", "_environment"], operator: "all" },
              },
            ],
          },
        ],
      });

    it("passes calls that carry the required keys, streamed and not", async () => {
      const headers = guarded();
      await withMetadata({ user: ZOE }, async () => {
        const generated = await generateText({ model: model(), prompt: "hi", headers });
        expect(generated.response.headers?.["x-portkey-last-used-option-index"]).toBe("config");
        const result = streamText({ model: model(), prompt: "hi", headers });
        expect(await result.text).not.toBe("");
      });
      expect(stack.upstream.calls().map((c) => [c.stream, c.portkey.metadata])).toEqual([
        [false, { _user: ZOE, _environment: "test" }],
        [true, { _user: ZOE, _environment: "test" }],
      ]);
    });

    it("answers 446 when a required key is missing, and nothing reaches the upstream", async () => {
      const headers = guarded();
      // No user in scope: only _environment is sent.
      const plain = await generateText({ model: model(), prompt: "hi", headers, maxRetries: 0 }).catch(
        (e: unknown) => e,
      );
      expect(APICallError.isInstance(plain) && plain.statusCode).toBe(446);

      const errors: unknown[] = [];
      const result = streamText({
        model: model(),
        prompt: "hi",
        headers,
        maxRetries: 0,
        onError: ({ error }) => void errors.push(error),
      });
      await result.consumeStream();
      expect(errors.map((e) => APICallError.isInstance(e) && e.statusCode)).toEqual([446]);
      expect(stack.upstream.calls()).toEqual([]);
    });

    it("works the same from the OpenAI client, with the config as a per-request header", async () => {
      const openai = wrapOpenAI(
        new OpenAI({ baseURL: stack.gateway.baseURL, apiKey: "sk-test", maxRetries: 0 }),
        tagalong,
      );
      const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };
      const headers = guarded();
      const denied = await openai.chat.completions.create(body, { headers }).catch((e: unknown) => e);
      expect(denied instanceof OpenAI.APIError && denied.status).toBe(446);
      const deniedStream = await openai.chat.completions
        .create({ ...body, stream: true }, { headers })
        .catch((e: unknown) => e);
      expect(deniedStream instanceof OpenAI.APIError && deniedStream.status).toBe(446);
      expect(stack.upstream.calls()).toEqual([]);

      const allowed = await openai.chat.completions.create(body, {
        headers,
        ...tagalongOptions({ user: ZOE }),
      });
      expect(allowed.choices[0]?.message.content).not.toBe("");
      const stream = await openai.chat.completions.create(
        { ...body, stream: true },
        { headers, ...tagalongOptions({ user: ZOE }) },
      );
      for await (const _ of stream);
      expect(stack.upstream.calls().map((c) => [c.stream, c.portkey.metadata?._user])).toEqual([
        [false, ZOE],
        [true, ZOE],
      ]);
    });
  });
});
