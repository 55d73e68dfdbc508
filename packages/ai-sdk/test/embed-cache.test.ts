// Two call shapes beside the language model's own: embedding models (ai 6 and 7's wrapEmbeddingModel)
// and a caching middleware placed inside ours. What arrives on the wire at the loopback recorder, what
// is recorded, what is warned about.
import {
  createTagalong,
  type Destination,
  type Logger,
  portkey,
  requesty,
  withMetadata,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tagalongFetch, tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor } from "./matrix";

const apiKey = "sk-test-not-a-real-key";

let rec: Recorder;
beforeAll(async () => {
  rec = await createRecorder({});
});
afterEach(async () => {
  const violations = rec.violations();
  await rec.reset();
  expect(violations).toEqual([]);
});
afterAll(async () => {
  await rec.close();
});

function setup() {
  const calls: CompletedCall[] = [];
  const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  const tagalong = createTagalong({
    destinations: [portkey(), requesty(), memory],
    metadata: { environment: "test" },
    logger,
  });
  return { tagalong, calls, warnings };
}

/** Settles the background queue that hands calls to the destinations. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(MAJORS.filter((major) => major.name !== "ai 5"))("$name: embedding models", (major) => {
  let m: any;
  beforeAll(async () => {
    if (nodeMajor < major.minNode) return;
    const ai = major.name === "ai 6" ? await import("ai") : await import("ai-v7");
    m = { ...(await major.load()), ai };
  });

  it.skipIf(nodeMajor < major.minNode)(
    "embed through wrapEmbeddingModel carries the metadata on the wire and is recorded as an embeddings call",
    async () => {
      const { tagalong, calls, warnings } = setup();
      const provider = m.createOpenAI({ baseURL: rec.openaiBaseURL, apiKey, fetch: tagalongFetch() });
      const model = m.ai.wrapEmbeddingModel({
        model: provider.embedding("emb-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      const result = await withMetadata({ session: "s_1" }, () =>
        m.ai.embed({ model, value: "hello", providerOptions: { tagalong: { user: "u_42" } } }),
      );
      expect(result.embedding.length).toBeGreaterThan(0);
      const [call, ...more] = rec.calls();
      expect(more).toEqual([]);
      expect(call!.endpoint).toBe("embeddings");
      expect(call!.portkey.metadata).toEqual({ _user: "u_42", session_id: "s_1", _environment: "test" });
      expect(call!.requesty).toEqual({ user_id: "u_42", extra: { session_id: "s_1", environment: "test" } });
      await settle();
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        provider: "openai",
        model: "emb-test",
        apiType: "embeddings",
        input: [{ role: "user", content: "hello" }],
        output: [],
        status: "success",
        stream: false,
        metadata: { user: "u_42", session: "s_1", environment: "test" },
      });
      expect(calls[0]!.usage?.inputTokens).toBeGreaterThan(0);
      expect(warnings).toEqual([]);
    },
  );

  it.skipIf(nodeMajor < major.minNode)(
    "embedMany to a provider without tagalongFetch: the headers go out, the body field is named in one warning",
    async () => {
      const { tagalong, calls, warnings } = setup();
      const provider = m.createOpenAICompatible({ name: "gw", baseURL: rec.openaiBaseURL, apiKey });
      const model = m.ai.wrapEmbeddingModel({
        model: provider.embeddingModel("emb-test"),
        middleware: tagalongMiddleware(tagalong),
      });
      for (let i = 0; i < 2; i++) {
        await m.ai.embedMany({ model, values: ["a", "b"], providerOptions: { tagalong: { user: "u_42" } } });
      }
      const sent = rec.calls();
      expect(sent).toHaveLength(2);
      for (const call of sent) {
        expect(call.portkey.metadata).toEqual({ _user: "u_42", _environment: "test" });
        expect(call.requesty).toBeUndefined();
        expect(call.body.gw).toBeUndefined();
      }
      expect(warnings).toEqual([
        "@tagalong/ai-sdk: gw.embedding drops unknown body fields and this provider was created without tagalongFetch, so requesty cannot reach its wire; create it with { fetch: tagalongFetch() }",
      ]);
      await settle();
      const input = [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ];
      expect(calls.map((c) => [c.provider, c.apiType, c.input])).toEqual([
        ["gw", "embeddings", input],
        ["gw", "embeddings", input],
      ]);
    },
  );
});
