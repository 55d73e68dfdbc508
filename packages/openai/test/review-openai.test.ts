// Review repros (rev-openai): each `it` states what the README promises; a failure is a defect.
import { createTagalong, type Destination, portkey, requesty } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { wrapOpenAI } from "../src/index";
import { API_KEY, MODEL, memory, useRecorder } from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

const recorder = useRecorder();

/** A fetch whose plain (JSON) answer sends its first half, then stalls until the request's signal aborts. */
function stallPlainBody(): typeof fetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const signal = init?.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, bytes.length >> 1));
        const fail = () =>
          controller.error(signal?.reason ?? new DOMException("This operation was aborted", "AbortError"));
        if (signal?.aborted) fail();
        else signal?.addEventListener("abort", fail, { once: true });
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/** As in recording.test.ts: a streamed answer's first event, then nothing until the request is aborted. */
function stallAfterFirstEvent(): typeof fetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.headers.get("content-type")?.includes("event-stream")) return response;
    const reader = response.body!.getReader();
    const signal = init?.signal;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const decoder = new TextDecoder();
        let text = "";
        while (!text.includes("\n\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
        controller.enqueue(new TextEncoder().encode(text.slice(0, text.indexOf("\n\n") + 2)));
        const fail = () => {
          controller.error(signal?.reason ?? new DOMException("This operation was aborted", "AbortError"));
          reader.cancel().catch(() => {});
        };
        if (signal?.aborted) fail();
        else signal?.addEventListener("abort", fail, { once: true });
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("review", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });
    const rec = () => recorder.rec;
    function setup(options: { client?: ConstructorParameters<ClientClass>[0]; destinations?: Destination[] } = {}) {
      const recorded = memory();
      const errors: unknown[] = [];
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), recorded, ...(options.destinations ?? [])],
        metadata: { environment: "test" },
        onError: (e) => errors.push(e),
      });
      const client = wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0, ...options.client }),
        tagalong,
      );
      return { client, recorded, errors, tagalong };
    }
    async function onlyRecord(recorded: { calls: CompletedCall[] }): Promise<CompletedCall> {
      await vi.waitFor(() => expect(recorded.calls.length).toBeGreaterThan(0));
      await new Promise((r) => setTimeout(r, 20));
      expect(recorded.calls).toHaveLength(1);
      return recorded.calls[0]!;
    }

    it("R1 a plain call whose body a signal's timeout cuts short is recorded as failed by the timeout", async () => {
      const { client, recorded } = setup({ client: { fetch: stallPlainBody() } });
      const call = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        { signal: AbortSignal.timeout(300) },
      );
      const err = await call.catch((e) => e);
      console.log("caller got:", err?.constructor?.name, err?.name, err?.message);
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      expect(r).toMatchObject({ status: "error", error: { type: "TimeoutError" } });
    });

    it("R2 a plain call whose body the SDK's timeout cuts short (no retries) is recorded as an error, not an abort", async () => {
      const { client, recorded } = setup({ client: { fetch: stallPlainBody(), timeout: 400 } });
      const call = client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      const err = await Promise.race([
        call.catch((e) => e),
        new Promise((r) => setTimeout(() => r("still pending after 3s"), 3000)),
      ]);
      console.log("caller got:", (err as any)?.constructor?.name, (err as any)?.message ?? err);
      if (err === "still pending after 3s") return; // v5/6: no body timeout at all (the SDK's own)
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      expect(r.status).toBe("error");
    });

    it("R3 a tee()'d stream whose both branches stop early is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const stream = await client.chat.completions.create({
        model: MODEL, messages: [{ role: "user", content: "a long answer please" }], stream: true,
      });
      const [left, right] = stream.tee();
      for await (const _ of left) break;
      for await (const _ of right) break;
      await new Promise((r) => setTimeout(r, 300));
      console.log("records:", recorded.calls.map((c) => c.status));
      expect(recorded.calls.map((c) => c.status)).toEqual(["aborted"]);
    });

    it("R4 chat.completions.stream(): breaking out of the helper's iteration is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const runner = client.chat.completions.stream({
        model: MODEL, messages: [{ role: "user", content: "a long answer please" }],
      });
      for await (const _ of runner) break;
      await new Promise((r) => setTimeout(r, 300));
      console.log("records:", recorded.calls.map((c) => [c.status, c.error]));
      expect(recorded.calls.map((c) => c.status)).toEqual(["aborted"]);
    });

    it("R5 responses.stream(): abort() mid-way is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const runner = client.responses.stream({ model: MODEL, input: "a long answer please" });
      const thrown = await (async () => { for await (const _ of runner) runner.abort(); })().catch((e) => e);
      console.log("caller got:", thrown?.constructor?.name, thrown?.message);
      await new Promise((r) => setTimeout(r, 300));
      console.log("records:", recorded.calls.map((c) => [c.status, c.error]));
      expect(recorded.calls.map((c) => c.status)).toEqual(["aborted"]);
    });

    it("R6 toReadableStream() cancelled after the first chunk is recorded once, as aborted", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const stream = await client.chat.completions.create({
        model: MODEL, messages: [{ role: "user", content: "a long answer please" }], stream: true,
      });
      const reader = stream.toReadableStream().getReader();
      await reader.read();
      await reader.cancel();
      await new Promise((r) => setTimeout(r, 300));
      console.log("records:", recorded.calls.map((c) => [c.status, c.error]));
      expect(recorded.calls.map((c) => c.status)).toEqual(["aborted"]);
    });

    it("R7 a chat stream the caller leaves right after its finish_reason chunk (all the answer arrived) is a success", async () => {
      const { client, recorded } = setup();
      const stream = await client.chat.completions.create({
        model: MODEL, messages: [{ role: "user", content: "finish" }], stream: true,
      });
      let text = "";
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.choices[0]?.finish_reason) break;
      }
      const r = await onlyRecord(recorded);
      console.log("records:", r.status, r.finishReason, JSON.stringify(r.output));
      expect(r.output[0]?.content).toBe(text);
      expect(r).toMatchObject({ status: "success", finishReason: "stop" });
    });

    it("R8 a Responses stream the caller leaves at response.completed is a success", async () => {
      const { client, recorded } = setup();
      const stream = await client.responses.create({ model: MODEL, input: "finish", stream: true });
      for await (const event of stream) if (event.type === "response.completed") break;
      const r = await onlyRecord(recorded);
      console.log("records:", r.status, r.finishReason);
      expect(r).toMatchObject({ status: "success" });
    });

    it("R9 a plain call the caller aborts while its body arrives is recorded once, as aborted", async () => {
      // The second half of the body comes 600 ms later, unless the request's signal aborts first.
      const slowBody: typeof fetch = async (url, init) => {
        const response = await fetch(url, init);
        const bytes = new Uint8Array(await response.arrayBuffer());
        const signal = init?.signal;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.subarray(0, bytes.length >> 1));
            const timer = setTimeout(() => {
              controller.enqueue(bytes.subarray(bytes.length >> 1));
              controller.close();
            }, 600);
            signal?.addEventListener("abort", () => {
              clearTimeout(timer);
              controller.error(signal.reason ?? new DOMException("This operation was aborted", "AbortError"));
            }, { once: true });
          },
        });
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const { client, recorded } = setup({ client: { fetch: slowBody } });
      const abort = new AbortController();
      const call = client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        { signal: abort.signal },
      );
      setTimeout(() => abort.abort(), 200);
      const err = await call.then(() => "resolved", (e) => e);
      console.log("caller got:", err?.constructor?.name ?? err);
      await new Promise((r) => setTimeout(r, 800));
      console.log("records:", recorded.calls.map((c) => [c.status, c.error]));
      expect(recorded.calls.map((c) => c.status)).toEqual(["aborted"]);
    });

    it("R10 chat.completions.stream() stopped mid-way by the caller's AbortSignal.timeout is recorded as failed by the timeout", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const runner = client.chat.completions.stream(
        { model: MODEL, messages: [{ role: "user", content: "a long answer please" }] },
        { signal: AbortSignal.timeout(300) },
      );
      const thrown = await runner.finalChatCompletion().catch((e) => e);
      console.log("caller got:", thrown?.constructor?.name, thrown?.message);
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      expect(r).toMatchObject({ status: "error", error: { type: "TimeoutError" } });
    });

    it("R11 responses.stream() stopped mid-way by the caller's AbortSignal.timeout is recorded as failed by the timeout", async () => {
      const { client, recorded } = setup({ client: { fetch: stallAfterFirstEvent() } });
      const runner = client.responses.stream(
        { model: MODEL, input: "a long answer please" },
        { signal: AbortSignal.timeout(300) },
      );
      const thrown = await runner.finalResponse().catch((e) => e);
      console.log("caller got:", thrown?.constructor?.name, thrown?.message);
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      expect(r).toMatchObject({ status: "error", error: { type: "TimeoutError" } });
    });

    it("R12 runTools() whose call the caller's AbortSignal.timeout stops before the answer is recorded as failed by the timeout", async () => {
      const { client, recorded } = setup();
      const hang = rec().fail({ path: "/v1/chat/completions", hang: true });
      const runner = client.chat.completions.runTools(
        {
          model: MODEL,
          messages: [{ role: "user", content: "Weather in Paris?" }],
          tools: [{ type: "function", function: { name: "w", parameters: { type: "object", properties: {} }, function: () => "sunny", parse: JSON.parse } }],
        },
        { signal: AbortSignal.timeout(300) },
      );
      const thrown = await runner.finalContent().catch((e) => e);
      console.log("caller got:", thrown?.constructor?.name, thrown?.message);
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      hang.clear();
      expect(r).toMatchObject({ status: "error", error: { type: "TimeoutError" } });
    });

    it("R13 an AzureOpenAI client with azureADTokenProvider: wrapped, sends its token, and a refused call's record has it scrubbed", async () => {
      const AzureOpenAI = await major.loadAzure();
      const TOKEN = "azure-ad-token-value-1234";
      const recorded = memory();
      const tagalong = createTagalong({ destinations: [portkey(), requesty(), recorded] });
      const client = wrapOpenAI(
        new AzureOpenAI({ azureADTokenProvider: async () => TOKEN, endpoint: rec().url, apiVersion: "2024-10-21", maxRetries: 0 }),
        tagalong,
      );
      rec().fail({ status: 401, body: { error: { message: `token ${TOKEN} is not valid`, type: "invalid_request_error" } } });
      const err = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
      console.log("caller got:", err?.constructor?.name, err?.status, String(err?.message).slice(0, 80));
      expect(rec().requests[0]!.headers["authorization"]).toBe(`Bearer ${TOKEN}`);
      const r = await onlyRecord(recorded);
      console.log("recorded:", r.status, r.error);
      expect(r.error?.message).not.toContain(TOKEN);
    });

    it("R14 a Portkey header the caller sets through OPENAI_CUSTOM_HEADERS wins over ours", async () => {
      const mine = '{"_user":"mine"}';
      process.env.OPENAI_CUSTOM_HEADERS = `x-portkey-metadata: ${mine}\nx-portkey-trace-id: my-trace`;
      try {
        const bare = new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 });
        const client = wrapOpenAI(bare, createTagalong({ destinations: [portkey()], metadata: { user: "ours", trace: "our-trace" } }));
        await bare.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
        await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      } finally {
        delete process.env.OPENAI_CUSTOM_HEADERS;
      }
      const [viaBare, viaWrapped] = rec().requests;
      if (viaBare!.headers["x-portkey-metadata"] === undefined) return; // openai 5 does not read OPENAI_CUSTOM_HEADERS
      console.log("bare:", viaBare!.headers["x-portkey-metadata"], "wrapped:", viaWrapped!.headers["x-portkey-metadata"], viaWrapped!.headers["x-portkey-trace-id"]);
      expect(viaWrapped!.headers["x-portkey-metadata"]).toBe(viaBare!.headers["x-portkey-metadata"]);
      expect(viaWrapped!.headers["x-portkey-trace-id"]).toBe(viaBare!.headers["x-portkey-trace-id"]);
    });

    it("R15 non-model endpoints (file upload, binary speech, images) are sent and answered as by the bare client, headers only", async () => {
      const http = await import("node:http");
      const seen: Array<{ url: string; headers: Record<string, unknown>; body: string }> = [];
      const server = http.createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on("data", (c) => parts.push(c));
        req.on("end", () => {
          const body = Buffer.concat(parts).toString("latin1");
          seen.push({ url: req.url!, headers: req.headers, body });
          if (req.url!.startsWith("/v1/files")) {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ id: "file-1", object: "file", bytes: 3, created_at: 1, filename: "a.jsonl", purpose: "batch" }));
          } else if (req.url!.startsWith("/v1/audio/speech")) {
            res.writeHead(200, { "content-type": "audio/mpeg" });
            res.end(Buffer.from([1, 2, 3, 255]));
          } else {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ created: 1, data: [{ url: "u" }] }));
          }
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      const baseURL = `http://127.0.0.1:${(server.address() as any).port}/v1`;
      const { toFile } = await import(major.name === "openai 5" ? "openai-v5" : major.name === "openai 6" ? "openai" : "openai-v7") as any;
      const recorded = memory();
      const tagalong = createTagalong({ destinations: [portkey(), requesty(), recorded], metadata: { user: "u_files" } });
      const bare = new OpenAIClass({ apiKey: API_KEY, baseURL, maxRetries: 0 });
      const results = [];
      try {
        for (const client of [bare, wrapOpenAI(bare, tagalong)]) {
          const file = await client.files.create({ file: await toFile(Buffer.from("{}\n"), "a.jsonl"), purpose: "batch" });
          const speech = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi" });
          const bytes = [...new Uint8Array(await speech.arrayBuffer())];
          const image = await client.images.generate({ model: "dall-e-3", prompt: "cat" });
          results.push({ file, bytes, image: image.data });
        }
      } finally {
        server.close();
      }
      expect(results[1]).toEqual(results[0]);
      const [b, w] = [seen.slice(0, 3), seen.slice(3)];
      for (let i = 0; i < 3; i++) {
        expect(w[i]!.headers["x-portkey-metadata"]).toContain("u_files");
        expect(w[i]!.headers["content-type"]?.toString().split(";")[0]).toBe(b[i]!.headers["content-type"]?.toString().split(";")[0]);
        // multipart boundaries differ per request: compare with them taken out
        const strip = (s: string) => s.replace(/-----*[A-Za-z0-9-]+/g, "B");
        expect(strip(w[i]!.body)).toBe(strip(b[i]!.body));
      }
      await tagalong.flush();
      expect(recorded.calls).toEqual([]);
    });
  });
});
