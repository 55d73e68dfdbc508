// The SDK's request options and helpers over a wrapped client, for every openai major: retries (every
// attempt carries the same metadata, the call is recorded once, with how its last attempt ended),
// withOptions() copies, the caller's own headers, idempotency keys, Responses streams stopped part-way
// and the chat helpers' requests; checked at the loopback recorder (the wire) and at a recording
// destination (what is recorded). openai 7 needs Node 22.
import { portkey, requesty, withMetadata } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { type RecordedRequest, replyText } from "@tagalong/testing";
import type OpenAI from "openai";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { tagalongOptions } from "../src/index";
import {
  API_KEY,
  MODEL,
  recordingClient,
  runnableWeather,
  stallAfterEvents,
  streamText,
  useRecorder,
} from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

const recorder = useRecorder();

/** Every attempt carried the same Portkey headers and `requesty` body field, each header once. */
function expectAttemptsAlike(attempts: readonly RecordedRequest[]): void {
  expect(attempts.length).toBeGreaterThan(1);
  const first = attempts[0]!;
  expect(first.headers["x-portkey-metadata"]).toBeDefined();
  for (const attempt of attempts) {
    expect(attempt.headers["x-portkey-metadata"]).toBe(first.headers["x-portkey-metadata"]);
    expect(attempt.headers["x-portkey-trace-id"]).toBe(first.headers["x-portkey-trace-id"]);
    expect((attempt.body as any)?.requesty).toEqual((first.body as any)?.requesty);
    expect(attempt.rawHeaders.filter((h) => h.toLowerCase() === "x-portkey-metadata")).toHaveLength(1);
  }
}

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("the SDK's options and helpers over a wrapped client", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });

    const rec = () => recorder.rec;
    /** A wrapped client (no retries unless given) whose Tagalong sends Portkey's and Requesty's forms and records every call. */
    const setup = (options: { client?: ConstructorParameters<ClientClass>[0]; Class?: ClientClass } = {}) =>
      recordingClient(options.Class ?? OpenAIClass, rec().openaiBaseURL, {
        destinations: [portkey(), requesty()],
        client: options.client,
      });
    /** Waits for `n` recorded calls, and checks no more follow. */
    async function records(recorded: { calls: CompletedCall[] }, n: number): Promise<CompletedCall[]> {
      await vi.waitFor(() => expect(recorded.calls.length).toBeGreaterThanOrEqual(n));
      await new Promise((r) => setTimeout(r, 20));
      expect(recorded.calls).toHaveLength(n);
      return recorded.calls;
    }
    const onlyRecord = async (recorded: { calls: CompletedCall[] }) => (await records(recorded, 1))[0]!;
    const messages = (text: string) => [{ role: "user" as const, content: text }];
    const scoped = { user: "u_retry" };
    const perCall = () => tagalongOptions({ session: "s_retry", trace: "t_retry" });
    const expectedMetadata = { user: "u_retry", session: "s_retry", trace: "t_retry" };

    describe("retries", () => {
      it("a streamed call answered 500, 500, then 200: every attempt alike, recorded once, as a success", async () => {
        const { client, recorded, errors } = setup({ client: { maxRetries: 2 } });
        rec().fail({ path: "/v1/chat/completions", status: 500, times: 2, retryAfter: 0.001 });
        const text = await withMetadata(scoped, async () =>
          streamText(
            await client.chat.completions.create(
              { model: MODEL, messages: messages("again"), stream: true },
              perCall(),
            ),
          ),
        );
        expect(text).toBe(replyText("again"));
        expect(rec().requests.map((r) => r.status)).toEqual([500, 500, 200]);
        expectAttemptsAlike(rec().requests);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          stream: true,
          output: [{ role: "assistant", content: text }],
          metadata: expectedMetadata,
        });

        recorded.calls.length = 0;
        await rec().reset();
        rec().fail({ path: "/v1/responses", status: 500, times: 2, retryAfter: 0.001 });
        const response = await withMetadata(scoped, async () =>
          client.responses.stream({ model: MODEL, input: "again" }, perCall()).finalResponse(),
        );
        expect(response.status).toBe("completed");
        expect(rec().requests.map((r) => r.status)).toEqual([500, 500, 200]);
        expectAttemptsAlike(rec().requests);
        expect(await onlyRecord(recorded)).toMatchObject({
          apiType: "responses",
          status: "success",
          stream: true,
          output: [{ role: "assistant", content: replyText("again") }],
          metadata: expectedMetadata,
        });
        expect(errors).toEqual([]);
      });

      it("a 429 with retry-after, then an answer: both attempts alike, recorded once, as a success", async () => {
        const { client, recorded } = setup({ client: { maxRetries: 1 } });
        rec().fail({ path: "/v1/responses", status: 429, times: 1, retryAfter: 0.001 });
        const response = await withMetadata(scoped, () =>
          client.responses.create({ model: MODEL, input: "limited" }, perCall()),
        );
        expect(response.output_text).toBe(replyText("limited"));
        expect(rec().requests.map((r) => r.status)).toEqual([429, 200]);
        expectAttemptsAlike(rec().requests);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          responseId: response.id,
          metadata: expectedMetadata,
        });
      });

      it("retries that all fail: every attempt alike, recorded once, with the last attempt's status", async () => {
        const { client, recorded } = setup({ client: { maxRetries: 2 } });
        for (const stream of [false, true]) {
          recorded.calls.length = 0;
          await rec().reset();
          rec().fail({ path: "/v1/chat/completions", status: 500, times: 1, retryAfter: 0.001 });
          rec().fail({ path: "/v1/chat/completions", status: 429, times: 1, retryAfter: 0.001 });
          rec().fail({ path: "/v1/chat/completions", status: 503, times: 1 });
          const call = withMetadata(scoped, () =>
            client.chat.completions.create({ model: MODEL, messages: messages("down"), stream }, perCall()),
          );
          await expect(call).rejects.toBeInstanceOf(OpenAIClass.InternalServerError);
          await expect(call).rejects.toMatchObject({ status: 503 });
          expect(rec().requests.map((r) => r.status)).toEqual([500, 429, 503]);
          expectAttemptsAlike(rec().requests);
          expect(await onlyRecord(recorded)).toMatchObject({
            status: "error",
            stream,
            error: {
              type: "InternalServerError",
              status: 503,
              message: expect.stringContaining("recorder: injected 503"),
            },
            output: [],
            metadata: expectedMetadata,
          });
        }
      });

      it("a connection reset, then an answer: both attempts alike, recorded once, as a success", async () => {
        const { client, recorded } = setup({ client: { maxRetries: 1 } });
        rec().fail({ path: "/v1/chat/completions", reset: true, times: 1 });
        const completion = await withMetadata(scoped, () =>
          client.chat.completions.create({ model: MODEL, messages: messages("reset") }, perCall()),
        );
        expect(completion.choices[0]!.message.content).toBe(replyText("reset"));
        expect(rec().requests).toHaveLength(2);
        expectAttemptsAlike(rec().requests);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          responseId: completion.id,
          metadata: expectedMetadata,
        });
      });

      it("a call the caller aborts while the SDK waits out a 429's retry-after is recorded once, as aborted", async () => {
        const { client, recorded } = setup({ client: { maxRetries: 2 } });
        rec().fail({ path: "/v1/chat/completions", status: 429, times: 1, retryAfter: 1 });
        const abort = new AbortController();
        const call = withMetadata(scoped, () =>
          client.chat.completions.create(
            { model: MODEL, messages: messages("wait"), stream: true },
            { ...perCall(), signal: abort.signal },
          ),
        );
        await rec().waitFor((r) => r.requests[0]?.status === 429);
        abort.abort();
        await expect(call).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "aborted",
          stream: true,
          output: [],
          metadata: expectedMetadata,
        });
        expect(rec().requests).toHaveLength(1);
      });

      it("attempts the SDK's timeout cuts short: every attempt alike, recorded once, as the SDK's timeout error", async () => {
        const { client, recorded } = setup({ client: { maxRetries: 1, timeout: 300 } });
        const hang = rec().fail({ path: "/v1/responses", hang: true });
        const call = withMetadata(scoped, () =>
          client.responses.create({ model: MODEL, input: "slow" }, perCall()),
        );
        await expect(call).rejects.toBeInstanceOf(OpenAIClass.APIConnectionTimeoutError);
        expect(rec().requests).toHaveLength(2);
        expectAttemptsAlike(rec().requests);
        expect(await onlyRecord(recorded)).toMatchObject({
          apiType: "responses",
          status: "error",
          error: { type: "APIConnectionTimeoutError" },
          metadata: expectedMetadata,
        });
        hang.clear();
      });

      it("a per-call maxRetries retries a call of a client that has none, every attempt alike", async () => {
        const { client, recorded } = setup();
        rec().fail({ path: "/v1/embeddings", status: 500, times: 1, retryAfter: 0.001 });
        await withMetadata(scoped, () =>
          client.embeddings.create(
            { model: MODEL, input: "vectors" },
            { ...perCall(), maxRetries: 1, headers: { "x-app": "demo" } },
          ),
        );
        expect(rec().requests.map((r) => r.status)).toEqual([500, 200]);
        expectAttemptsAlike(rec().requests);
        expect(rec().requests.map((r) => r.headers["x-app"])).toEqual(["demo", "demo"]);
        expect(await onlyRecord(recorded)).toMatchObject({ status: "success", apiType: "embeddings" });
      });
    });

    it("an idempotency key (the caller's, or the SDK's own) is the same on every attempt, beside our metadata", async () => {
      // OpenAI sends no idempotency header; a subclass (a gateway's client) may turn it on.
      class WithIdempotency extends OpenAIClass {
        protected override idempotencyHeader = "Idempotency-Key";
      }
      const { client, recorded } = setup({ Class: WithIdempotency, client: { maxRetries: 2 } });
      expect(client).toBeInstanceOf(WithIdempotency);
      const ask = (options: OpenAI.RequestOptions) =>
        withMetadata(scoped, () =>
          client.chat.completions.create(
            { model: MODEL, messages: messages("once") },
            { ...perCall(), ...options },
          ),
        );

      rec().fail({ path: "/v1/chat/completions", status: 500, times: 2, retryAfter: 0.001 });
      await ask({ idempotencyKey: "idem_caller_1" });
      expect(rec().requests.map((r) => r.headers["idempotency-key"])).toEqual([
        "idem_caller_1",
        "idem_caller_1",
        "idem_caller_1",
      ]);
      expectAttemptsAlike(rec().requests);

      await rec().reset();
      rec().fail({ path: "/v1/chat/completions", status: 500, times: 2, retryAfter: 0.001 });
      await ask({});
      const keys = rec().requests.map((r) => r.headers["idempotency-key"]);
      expect(keys).toHaveLength(3);
      expect(keys[0]).toMatch(/^stainless-node-retry-/);
      expect(new Set(keys).size).toBe(1);
      expectAttemptsAlike(rec().requests);
      await records(recorded, 2);
      expect(recorded.calls.map((c) => c.status)).toEqual(["success", "success"]);
    });

    describe("withOptions()", () => {
      it("a copy, and a copy of the copy, carry and record each call's metadata; the copy's retries send it alike", async () => {
        const { client, recorded, tagalong } = setup();
        const copy = client.withOptions({ maxRetries: 2 }).withOptions({ timeout: 20_000 });
        expect(copy).toBeInstanceOf(OpenAIClass);
        rec().fail({ path: "/v1/chat/completions", status: 500, times: 2, retryAfter: 0.001 });
        const completion = await withMetadata(scoped, () =>
          copy.chat.completions.create({ model: MODEL, messages: messages("copy") }, perCall()),
        );
        expect(completion.choices[0]!.message.content).toBe(replyText("copy"));
        expect(rec().requests.map((r) => r.status)).toEqual([500, 500, 200]);
        expectAttemptsAlike(rec().requests);
        expect(JSON.parse(rec().requests[0]!.headers["x-portkey-metadata"]!)).toMatchObject({
          _user: "u_retry",
          session_id: "s_retry",
        });
        expect(rec().requests[0]!.headers["x-portkey-trace-id"]).toBe("t_retry");
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          responseId: completion.id,
          metadata: expectedMetadata,
        });

        // The original keeps its own options (no retries) and its Tagalong.
        recorded.calls.length = 0;
        await rec().reset();
        rec().fail({ path: "/v1/chat/completions", status: 500, times: 1 });
        await expect(
          client.chat.completions.create({ model: MODEL, messages: messages("orig") }, perCall()),
        ).rejects.toBeInstanceOf(OpenAIClass.InternalServerError);
        expect(rec().requests).toHaveLength(1);
        expect((await onlyRecord(recorded)).status).toBe("error");
        await tagalong.flush();
      });

      it("a copy's defaultHeaders win over ours whatever their case, sent once; the original keeps ours", async () => {
        const { client } = setup();
        const copy = client.withOptions({
          defaultHeaders: { "X-PORTKEY-METADATA": '{"_user":"mine"}', "X-Portkey-Trace-ID": "my-trace" },
        });
        await withMetadata(scoped, () =>
          copy.chat.completions.create({ model: MODEL, messages: messages("hi") }, perCall()),
        );
        await withMetadata(scoped, () =>
          client.chat.completions.create({ model: MODEL, messages: messages("hi") }, perCall()),
        );
        const [viaCopy, viaOriginal] = rec().calls();
        expect(viaCopy!.portkey.rawHeader).toBe('{"_user":"mine"}');
        expect(viaCopy!.portkey.traceId).toBe("my-trace");
        expect(rec().requests[0]!.rawHeaders.filter((h) => /^x-portkey-/i.test(h))).toHaveLength(2);
        expect(viaCopy!.requesty).toMatchObject({ user_id: "u_retry", trace_id: "t_retry" });
        expect(viaOriginal!.portkey.metadata).toMatchObject({ _user: "u_retry" });
        expect(viaOriginal!.portkey.traceId).toBe("t_retry");
      });
    });

    it("the caller's own headers, in any shape and case, win over ours on every attempt, each sent once", async () => {
      const { client } = setup({ client: { maxRetries: 1 } });
      const shapes: Array<[string, OpenAI.RequestOptions["headers"]]> = [
        ["a record", { "X-Portkey-Metadata": '{"_user":"mine"}', "X-PORTKEY-TRACE-ID": "my-trace" }],
        [
          "a Headers",
          new Headers({ "X-Portkey-Metadata": '{"_user":"mine"}', "X-PORTKEY-TRACE-ID": "my-trace" }),
        ],
        [
          "[name, value] pairs",
          [
            ["X-Portkey-Metadata", '{"_user":"mine"}'],
            ["X-PORTKEY-TRACE-ID", "my-trace"],
          ],
        ],
      ];
      for (const [shape, headers] of shapes) {
        await rec().reset();
        rec().fail({ path: "/v1/chat/completions", status: 500, times: 1, retryAfter: 0.001 });
        await withMetadata(scoped, () =>
          client.chat.completions.create(
            { model: MODEL, messages: messages(shape) },
            { ...perCall(), headers },
          ),
        );
        const attempts = rec().requests;
        expect(
          attempts.map((r) => r.status),
          shape,
        ).toEqual([500, 200]);
        for (const attempt of attempts) {
          expect(attempt.headers["x-portkey-metadata"], shape).toBe('{"_user":"mine"}');
          expect(attempt.headers["x-portkey-trace-id"], shape).toBe("my-trace");
          expect(
            attempt.rawHeaders.filter((h) => /^x-portkey-/i.test(h)),
            shape,
          ).toHaveLength(2);
          expect((attempt.body as any).requesty, shape).toMatchObject({ user_id: "u_retry" });
        }
      }
    });

    describe("a Responses stream read part-way", () => {
      // Four events before the first text delta (created, in_progress, output_item.added, content_part.added).
      const untilFirstDelta = 5;

      it("then stopped by its controller (through .withResponse()) is recorded once, as aborted, with what had arrived", async () => {
        const { client, recorded, errors } = setup({ client: { fetch: stallAfterEvents(untilFirstDelta) } });
        const { data: stream, response } = await withMetadata(scoped, () =>
          client.responses
            .create({ model: MODEL, input: "a long answer please", stream: true }, perCall())
            .withResponse(),
        );
        expect(response.headers.get("content-type")).toContain("event-stream");
        let text = "";
        for await (const event of stream) {
          if (event.type === "response.output_text.delta") {
            text += event.delta;
            stream.controller.abort();
          }
        }
        expect(text).not.toBe("");
        expect(text).not.toBe(replyText("a long answer please"));
        expect(await onlyRecord(recorded)).toMatchObject({
          apiType: "responses",
          status: "aborted",
          stream: true,
          output: [{ role: "assistant", content: text }],
          metadata: expectedMetadata,
        });
        expect(rec().calls()[0]!.portkey.metadata).toMatchObject({ _user: "u_retry" });
        expect(errors).toEqual([]);
      });

      it("then stopped by the caller's AbortController is recorded once, as aborted, with what had arrived", async () => {
        const { client, recorded, errors } = setup({ client: { fetch: stallAfterEvents(untilFirstDelta) } });
        const abort = new AbortController();
        const stream = await client.responses.create(
          { model: MODEL, input: "a long answer please", stream: true },
          { ...perCall(), signal: abort.signal },
        );
        let text = "";
        const read = (async () => {
          for await (const event of stream) {
            if (event.type === "response.output_text.delta") {
              text += event.delta;
              abort.abort();
            }
          }
        })();
        // The SDK ends the loop quietly, or rejects with its abort error, as on the bare client.
        await read.catch((error: unknown) => expect(error).toBeInstanceOf(OpenAIClass.APIUserAbortError));
        expect(text).not.toBe("");
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "aborted",
          stream: true,
          output: [{ role: "assistant", content: text }],
        });
        expect(errors).toEqual([]);
      });
    });

    describe("the chat helpers", () => {
      it("chat.completions.stream(): its request carries the metadata and the SDK's helper header, recorded once", async () => {
        const { client, recorded } = setup();
        const bare = new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 });
        await bare.chat.completions
          .stream({ model: MODEL, messages: messages("helper") })
          .finalChatCompletion();
        const runner = withMetadata(scoped, () =>
          client.chat.completions.stream({ model: MODEL, messages: messages("helper") }, perCall()),
        );
        const completion = await runner.finalChatCompletion();
        const [viaBare, viaWrapped] = rec().calls();
        expect(viaWrapped!.headers["x-stainless-helper-method"]).toBe(
          viaBare!.headers["x-stainless-helper-method"],
        );
        expect(viaWrapped!.portkey.metadata).toMatchObject({ _user: "u_retry", session_id: "s_retry" });
        expect(viaWrapped!.requesty).toMatchObject({ user_id: "u_retry", trace_id: "t_retry" });
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "success",
          stream: true,
          responseId: completion.id,
          output: [{ role: "assistant", content: replyText("helper") }],
          metadata: expectedMetadata,
        });
      });

      it("chat.completions.stream() the caller aborts with its signal mid-way is recorded once, as aborted, with what had arrived", async () => {
        const { client, recorded, errors } = setup({ client: { fetch: stallAfterEvents(1) } });
        const abort = new AbortController();
        const runner = withMetadata(scoped, () =>
          client.chat.completions.stream(
            { model: MODEL, messages: messages("a long answer please") },
            { ...perCall(), signal: abort.signal },
          ),
        );
        let text = "";
        runner.on("chunk", (chunk) => {
          text += chunk.choices[0]?.delta?.content ?? "";
          abort.abort();
        });
        await expect(runner.done()).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
        expect(await onlyRecord(recorded)).toMatchObject({
          status: "aborted",
          stream: true,
          output: [{ role: "assistant", content: text }],
          metadata: expectedMetadata,
        });
        expect(errors).toEqual([]);
      });

      it("runTools() the caller aborts during its second request: the first recorded as a success, the second as aborted", async () => {
        // The second request (the tool's answer) gets no answer until it is aborted.
        let sent = 0;
        const holdSecond: typeof fetch = (url, init) => {
          if (++sent !== 2) return fetch(url, init);
          return new Promise((_, reject) => {
            const signal = init!.signal!;
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        };
        const { client, recorded, errors } = setup({ client: { fetch: holdSecond } });
        const abort = new AbortController();
        const runner = withMetadata(scoped, () =>
          client.chat.completions.runTools(
            { model: MODEL, messages: messages("Weather in Paris?"), tools: [runnableWeather] },
            { ...perCall(), signal: abort.signal },
          ),
        );
        await vi.waitFor(() => expect(sent).toBe(2));
        abort.abort();
        await expect(runner.finalContent()).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
        const [first, second] = await records(recorded, 2);
        expect(first).toMatchObject({ status: "success", metadata: expectedMetadata });
        expect(second).toMatchObject({ status: "aborted", metadata: expectedMetadata, output: [] });
        expect(second!.input.at(-1)).toMatchObject({ role: "tool" });
        expect(errors).toEqual([]);
      });

      for (const stream of [false, true]) {
        it(`runTools(${stream ? "{ stream: true }" : ""}): every request it makes carries the metadata and is recorded, each once`, async () => {
          const { client, recorded, errors } = setup();
          const bare = new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0 });
          const params = {
            model: MODEL,
            messages: messages("Weather in Paris?"),
            tools: [runnableWeather],
            stream,
          };
          await (bare.chat.completions.runTools as any)(params).finalContent();
          const bareHelper = rec().requests.map((r) => r.headers["x-stainless-helper-method"]);
          await rec().reset();
          const runner = withMetadata(scoped, () =>
            (client.chat.completions.runTools as any)(params, perCall()),
          );
          expect(await runner.finalContent()).toBe(replyText("Weather in Paris?"));
          const calls = rec().calls();
          expect(calls).toHaveLength(2);
          expect(calls.map((c) => c.headers["x-stainless-helper-method"])).toEqual(bareHelper);
          for (const call of calls) {
            expect(call.stream).toBe(stream);
            expect(call.portkey.metadata).toMatchObject({ _user: "u_retry", session_id: "s_retry" });
            expect(call.portkey.traceId).toBe("t_retry");
            expect(call.requesty).toMatchObject({ user_id: "u_retry", trace_id: "t_retry" });
          }
          const [first, second] = await records(recorded, 2);
          expect(first).toMatchObject({ status: "success", stream, metadata: expectedMetadata });
          expect(first!.output[0]!.toolCalls).toEqual([
            expect.objectContaining({ name: "get_weather", id: expect.any(String) }),
          ]);
          expect(second).toMatchObject({
            status: "success",
            stream,
            metadata: expectedMetadata,
            output: [{ role: "assistant", content: replyText("Weather in Paris?") }],
          });
          expect(second!.input.at(-1)).toMatchObject({ role: "tool" });
          expect(errors).toEqual([]);
        });
      }
    });
  });
});
