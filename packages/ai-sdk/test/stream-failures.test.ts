// Streams that fail or stop part-way, against a loopback server that answers each request with a
// scripted OpenAI chat stream (what the recorder does not script: an error event mid-stream, a stream
// that stalls after its first chunk), and PromptLayer logs at the loopback recorder.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTagalong, type Destination, promptLayer } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tagalongMiddleware } from "../src/index";
import { MAJORS, nodeMajor } from "./matrix";

const PL_KEY = "pl_test_key_ai_sdk_0123456789";

/** Answers the n-th request (1-based) of a test. */
type Script = (res: ServerResponse, n: number) => void;
let script: Script = () => {};
const requests: { headers: Record<string, unknown>; body: any }[] = [];
const server = createServer((req, res) => {
  let text = "";
  req.on("data", (piece) => (text += piece));
  req.on("end", () => {
    requests.push({ headers: req.headers, body: JSON.parse(text) });
    // No keep-alive: a socket kept for the next test could be closed under its first request.
    res.writeHead(200, { "content-type": "text/event-stream", connection: "close" });
    script(res, requests.length);
  });
});

let baseURL: string;
let rec: Recorder;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  rec = await createRecorder({ promptLayerApiKey: PL_KEY });
});
afterEach(async () => {
  requests.length = 0;
  const violations = rec.violations();
  await rec.reset();
  expect(violations).toEqual([]);
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rec.close();
});

const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const textChunk = (content: string, finish: string | null = null) =>
  event({
    id: "chatcmpl-loop",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt-test",
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  });

describe.each(MAJORS)("$name", (major) => {
  let m: Awaited<ReturnType<typeof major.load>>;
  beforeAll(async () => {
    if (nodeMajor >= major.minNode) m = await major.load();
  });
  const run = it.skipIf(nodeMajor < major.minNode);

  function model(tagalong: ReturnType<typeof createTagalong>, outer: object[] = []) {
    const provider = m.createOpenAI({ baseURL, apiKey: "sk-test-not-a-real-key" });
    return m.ai.wrapLanguageModel({
      model: provider.chat("gpt-test"),
      middleware: [...outer, tagalongMiddleware(tagalong)],
    });
  }

  /** The AI SDK docs' logging middleware: the stream piped through a TransformStream that sees each part. */
  const logging = {
    specificationVersion: "v3",
    wrapStream: async ({ doStream }: { doStream: () => Promise<{ stream: ReadableStream }> }) => {
      const { stream, ...rest } = await doStream();
      return { stream: stream.pipeThrough(new TransformStream()), ...rest };
    },
  };

  run("a stream aborted after its first chunk is recorded as aborted, with what arrived", async () => {
    script = (res) => void res.write(textChunk("Hel")); // then nothing more
    const calls: CompletedCall[] = [];
    const memory: Destination = { name: "memory", record: (call) => void calls.push(call) };
    const tagalong = createTagalong({ destinations: [memory] });
    const controller = new AbortController();
    const streamed = m.ai.streamText({
      model: model(tagalong),
      prompt: "hello",
      abortSignal: controller.signal,
      providerOptions: { tagalong: { user: "u_abort" } },
      onError: () => {},
    });
    try {
      for await (const part of streamed.fullStream) if (part.type === "text-delta") controller.abort();
    } catch {
      // ai 5 rethrows the abort from the stream
    }
    await expect.poll(() => calls.length).toBe(1);
    expect(calls[0]).toMatchObject({
      status: "aborted",
      stream: true,
      output: [{ role: "assistant", content: "Hel" }],
      metadata: { user: "u_abort" },
    });
    expect(requests).toHaveLength(1);
  });

  // Behind enough middleware that pipe the stream, ai 7's cancel of the failed attempt reaches ours
  // after its next attempt has started (30 do, in ai 7.0): the failure is held from its error part on.
  it.skipIf(nodeMajor < major.minNode || major.name !== "ai 7").each([0, 30])(
    "streamRetries: an attempt that failed mid-stream and that ai 7 retried is logged once, as the call's outcome (behind %i logging middleware)",
    async (loggers) => {
      script = (res, n) => {
        res.write(textChunk("Hel"));
        if (n === 1) res.write(event({ error: { message: "overloaded", type: "server_error" } }));
        else res.write(textChunk("lo", "stop"));
        res.end("data: [DONE]\n\n");
      };
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
      });
      const streamed = m.ai.streamText({
        model: model(tagalong, Array(loggers).fill(logging)),
        prompt: "hello",
        streamRetries: 1,
        providerOptions: { tagalong: { user: "u_retry" } },
        onError: () => {},
      });
      expect(await streamed.text).toBe("Hello");
      expect(requests).toHaveLength(2);
      await tagalong.flush();
      const logs = rec.promptLayer.logs();
      expect(logs.map((l) => [l.body.status, l.body.metadata.user_id])).toEqual([["SUCCESS", "u_retry"]]);
      expect(logs[0]!.body.output.messages[0].content).toEqual([{ type: "text", text: "Hello" }]);
      await tagalong.shutdown();
    },
  );

  it.skipIf(nodeMajor < major.minNode || major.name !== "ai 7")(
    "streamRetries: an attempt that failed mid-stream, retried and failed again, is logged once as an error",
    async () => {
      script = (res) => {
        res.write(textChunk("Hel"));
        res.write(event({ error: { message: "overloaded", type: "server_error" } }));
        res.end("data: [DONE]\n\n");
      };
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: PL_KEY, baseURL: rec.promptLayerURL })],
      });
      const errors: unknown[] = [];
      const streamed = m.ai.streamText({
        model: model(tagalong),
        prompt: "hello",
        streamRetries: 1,
        onError: ({ error }: { error: unknown }) => void errors.push(error),
      });
      await streamed.consumeStream();
      expect(requests).toHaveLength(2);
      expect(errors.length).toBeGreaterThan(0);
      await tagalong.flush();
      expect(rec.promptLayer.logs().map((l) => l.body.status)).toEqual(["ERROR"]);
      await tagalong.shutdown();
    },
  );
});
