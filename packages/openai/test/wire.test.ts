// What a wrapped client puts on the wire, for every request path and every openai major, at the
// loopback recorder; and that the SDK's own features survive the wrapper. openai 7 needs Node 22.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createTagalong,
  InvalidMetadataError,
  type Metadata,
  portkey,
  requesty,
  TagalongError,
  type TagalongOptions,
  withMetadata,
} from "@tagalong/core";
import { fillSchema, type ModelCall, replyText } from "@tagalong/testing";
import type OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { tagalongOptions, wrapOpenAI } from "../src/index";
import {
  API_KEY,
  deepFreeze,
  MODEL,
  memory,
  REQUEST_PATHS,
  runnableWeather,
  streamText,
  useRecorder,
} from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

const recorder = useRecorder();

const DEFAULTS: Metadata = { environment: "test", tags: ["default"] };

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("wrapOpenAI on the wire", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });

    const rec = () => recorder.rec;
    const bare = (options: ConstructorParameters<ClientClass>[0] = {}) =>
      new OpenAIClass({ apiKey: API_KEY, baseURL: rec().openaiBaseURL, maxRetries: 0, ...options });
    const wrapped = (
      options: ConstructorParameters<ClientClass>[0] = {},
      tagalong?: Partial<TagalongOptions>,
    ) =>
      wrapOpenAI(
        bare(options),
        createTagalong({ destinations: [portkey(), requesty()], metadata: DEFAULTS, ...tagalong }),
      );
    function onlyCall(): ModelCall {
      const calls = rec().calls();
      expect(calls).toHaveLength(1);
      return calls[0]!;
    }

    describe.each(REQUEST_PATHS)("$name", (path) => {
      it("carries scope and per-call metadata to Portkey's header and Requesty's body field", async () => {
        const client = wrapped();
        const answer = await withMetadata({ user: "u_42", session: "s_1", tags: ["scope"] }, () =>
          path.run(
            client,
            "hello there",
            tagalongOptions({ trace: "t_1", tags: ["call"], extra: { team: "core" } }),
          ),
        );
        expect(answer).toEqual(path.expected("hello there"));
        const call = onlyCall();
        expect(call.endpoint).toBe(path.endpoint);
        expect(call.stream).toBe(path.stream);
        expect(call.portkey.metadata).toEqual({
          _environment: "test",
          _user: "u_42",
          session_id: "s_1",
          tags: "default,scope,call",
          team: "core",
        });
        expect(call.portkey.traceId).toBe("t_1");
        expect(call.requesty).toEqual({
          user_id: "u_42",
          trace_id: "t_1",
          tags: ["default", "scope", "call"],
          extra: { session_id: "s_1", environment: "test", team: "core" },
        });
        // Nothing else of ours reached the body.
        const { requesty: _, ...rest } = call.body;
        expect(Object.keys(rest).filter((k) => k.includes("tagalong"))).toEqual([]);
      });

      it("by default, sends the call; a field Portkey cannot carry is left out of Portkey's header only", async () => {
        const warnings: string[] = [];
        const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
        const client = wrapped({}, { logger });
        const long = "u".repeat(200);
        const answer = await path.run(client, "hello", tagalongOptions({ user: long, session: "s_1" }));
        expect(answer).toEqual(path.expected("hello"));
        const call = onlyCall();
        expect(call.portkey.metadata).toEqual({ _environment: "test", session_id: "s_1", tags: "default" });
        expect(call.requesty).toMatchObject({ user_id: long });
        expect(warnings).toEqual([
          "left out of portkey's form: metadata.user: 200 chars, Portkey allows 128 (said once per field and rule)",
        ]);
      });

      it("with onInvalid throw, rejects invalid metadata with InvalidMetadataError before anything is sent", async () => {
        const client = wrapped({ maxRetries: 2 }, { onInvalid: "throw" });
        const rejection = await path.run(client, "hello", tagalongOptions({ user: "u".repeat(200) })).then(
          () => undefined,
          (e: unknown) => e,
        );
        const error = path.helperWrapsErrors ? (rejection as Error).cause : rejection;
        if (path.helperWrapsErrors) expect(rejection).toBeInstanceOf(OpenAIClass.OpenAIError);
        expect(error).toBeInstanceOf(InvalidMetadataError);
        expect(InvalidMetadataError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain("metadata.user: 200 chars, Portkey allows 128");
        expect(rec().requests).toHaveLength(0);
      });
    });

    it("chat.completions.runTools(): every call of the run carries the metadata", async () => {
      const client = wrapped();
      const runner = client.chat.completions.runTools(
        {
          model: MODEL,
          messages: [{ role: "user", content: "Weather in Paris?" }],
          tools: [runnableWeather],
        },
        tagalongOptions({ user: "u_tools" }),
      );
      expect(await runner.finalContent()).toBe(replyText("Weather in Paris?"));
      const calls = rec().calls();
      expect(calls).toHaveLength(2);
      // The recorder calls the tool with arguments filled from its schema.
      const city = fillSchema({ type: "string" });
      expect(calls[1]!.body.messages.at(-1)).toMatchObject({ role: "tool", content: `sunny in ${city}` });
      for (const call of calls) {
        expect(call.portkey.metadata?._user).toBe("u_tools");
        expect(call.requesty?.user_id).toBe("u_tools");
      }
    });

    it("merges defaults < outer scope < inner scope < per-call", async () => {
      const client = wrapped();
      await withMetadata(
        { user: "outer", session: "s_outer", tags: ["a"], extra: { k1: "outer", k2: 1 } },
        () =>
          withMetadata({ session: "s_inner", tags: ["b", "a"], extra: { k2: 2 } }, () =>
            client.chat.completions.create(
              { model: MODEL, messages: [{ role: "user", content: "hi" }] },
              tagalongOptions({ user: "per-call", tags: ["c"], extra: { k3: true } }),
            ),
          ),
      );
      expect(onlyCall().portkey.metadata).toEqual({
        _environment: "test",
        _user: "per-call",
        session_id: "s_inner",
        tags: "default,a,b,c",
        k1: "outer",
        k2: "2",
        k3: "true",
      });
    });

    it("by default, a per-call value the model refuses is left out, not replaced by the scope's", async () => {
      const client = wrapped({}, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
      await withMetadata(
        { user: "someone-else", prompt: { name: "other-template" }, extra: { k: "scope" } },
        () =>
          client.chat.completions.create(
            { model: MODEL, messages: [{ role: "user", content: "hi" }] },
            tagalongOptions({ user: 42, prompt: { name: "refund", version: 0 }, extra: { k: [] } } as never),
          ),
      );
      const call = onlyCall();
      expect(call.portkey.metadata).toEqual({ _environment: "test", tags: "default" });
      expect(call.requesty).toEqual({ tags: ["default"], extra: { environment: "test" } });
    });

    it("with onInvalid throw, a destination's rule broken by the scope rejects the call, unsent", async () => {
      const client = wrapped({}, { onInvalid: "throw" });
      const call = withMetadata({ extra: { _user: "collides" } }, () =>
        client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
      );
      await expect(call).rejects.toThrow(
        /metadata\.extra\._user: collides with the key "_user" that Portkey fills/,
      );
      await expect(call).rejects.toBeInstanceOf(InvalidMetadataError);
      expect(rec().requests).toHaveLength(0);
    });

    it("a header the caller sets (per call or in defaultHeaders) wins over ours", async () => {
      const client = wrapped({ defaultHeaders: { "X-Portkey-Trace-Id": "from-defaults" } });
      await client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        {
          ...tagalongOptions({ user: "u_1", trace: "t_ours" }),
          headers: { "X-Portkey-Metadata": JSON.stringify({ _user: "mine" }) },
        },
      );
      const call = onlyCall();
      expect(call.portkey.rawHeader).toBe('{"_user":"mine"}');
      expect(call.portkey.traceId).toBe("from-defaults");
      expect(call.requesty).toMatchObject({ user_id: "u_1", trace_id: "t_ours" });
    });

    it("a Portkey header the caller sets through OPENAI_CUSTOM_HEADERS wins over ours (openai 6, 7)", async () => {
      process.env.OPENAI_CUSTOM_HEADERS =
        'x-portkey-metadata: {"_user":"mine"}\nx-portkey-trace-id: my-trace';
      try {
        const tagalong = { metadata: { user: "ours", trace: "our-trace" } };
        await bare().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
        await wrapped({}, tagalong).chat.completions.create({
          model: MODEL,
          messages: [{ role: "user", content: "hi" }],
        });
      } finally {
        delete process.env.OPENAI_CUSTOM_HEADERS;
      }
      const [viaBare, viaWrapped] = rec().requests;
      // openai 5 does not read OPENAI_CUSTOM_HEADERS.
      if (viaBare!.headers["x-portkey-metadata"] === undefined) return;
      expect(viaWrapped!.headers["x-portkey-metadata"]).toBe(viaBare!.headers["x-portkey-metadata"]);
      expect(viaWrapped!.headers["x-portkey-trace-id"]).toBe(viaBare!.headers["x-portkey-trace-id"]);
    });

    it("a header the caller removes with null stays removed; an undefined one does not block ours", async () => {
      const client = wrapped();
      await client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        {
          headers: { "x-portkey-metadata": null, "x-portkey-trace-id": undefined },
          ...tagalongOptions({ trace: "t" }),
        },
      );
      const call = onlyCall();
      expect(call.headers["x-portkey-metadata"]).toBeUndefined();
      expect(call.portkey.traceId).toBe("t");
    });

    it("a `requesty` field the caller sets is merged with ours, the caller's keys winning", async () => {
      const client = wrapped();
      const params = {
        model: MODEL,
        messages: [{ role: "user" as const, content: "hi" }],
        requesty: { auto_cache: true, user_id: "theirs" },
      };
      await withMetadata({ user: "ours", trace: "t" }, () => client.chat.completions.create(params));
      expect(onlyCall().requesty).toEqual({
        auto_cache: true,
        user_id: "theirs",
        trace_id: "t",
        tags: ["default"],
        extra: { environment: "test" },
      });
    });

    it("does not change the client it was given, which keeps sending untagged requests", async () => {
      const original = bare({ defaultHeaders: { "x-app": "demo" } });
      const before = Reflect.ownKeys(original).map((k) => [k, (original as any)[k]]);
      const proto = Object.getPrototypeOf(original);
      const client = wrapOpenAI(
        original,
        createTagalong({ destinations: [portkey(), requesty()], metadata: DEFAULTS }),
      );
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "wrapped" }],
      });
      await original.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "original" }],
      });
      expect(Reflect.ownKeys(original).map((k) => [k, (original as any)[k]])).toEqual(before);
      expect(Object.getPrototypeOf(original)).toBe(proto);
      const [viaWrapped, viaOriginal] = rec().calls();
      expect(viaWrapped!.portkey.metadata).toEqual({ _environment: "test", tags: "default" });
      expect(viaOriginal!.headers["x-portkey-metadata"]).toBeUndefined();
      expect(viaOriginal!.requesty).toBeUndefined();
      expect(viaOriginal!.headers["x-app"]).toBe("demo");
    });

    it("does not change the caller's params or options (deep-frozen), on any path", async () => {
      const client = wrapped();
      const options = deepFreeze({ ...tagalongOptions({ user: "u_1" }), headers: { "x-app": "demo" } });
      const messages = deepFreeze([{ role: "user" as const, content: "frozen" }]);
      const chat = deepFreeze({ model: MODEL, messages });
      const chatStream = deepFreeze({ model: MODEL, messages, stream: true as const });
      const responses = deepFreeze({ model: MODEL, input: "frozen" });
      const snapshot = JSON.stringify([options, chat, chatStream, responses]);
      await client.chat.completions.create(chat, options);
      await streamText(await client.chat.completions.create(chatStream, options));
      await client.chat.completions.stream(chat, options).finalChatCompletion();
      await client.responses.create(responses, options);
      await streamText(await client.responses.create({ ...responses, stream: true }, options));
      expect(JSON.stringify([options, chat, chatStream, responses])).toBe(snapshot);
      const calls = rec().calls();
      expect(calls).toHaveLength(5);
      for (const call of calls) {
        expect(call.portkey.metadata?._user).toBe("u_1");
        expect(call.headers["x-app"]).toBe("demo");
      }
    });

    it("is an instance of the caller's class and keeps the client's options", async () => {
      const fetched: string[] = [];
      const fetch = (url: RequestInfo | URL, init?: RequestInit) => {
        fetched.push(String(url));
        return globalThis.fetch(url, init);
      };
      const original = bare({ defaultHeaders: { "x-app": "demo" }, fetch, timeout: 12_345, maxRetries: 1 });
      const client = wrapOpenAI(original, createTagalong({ destinations: [portkey()] }));
      expect(client).toBeInstanceOf(OpenAIClass);
      expect(client).not.toBe(original);
      expect(client.constructor.name).toBe(OpenAIClass.name);
      expect(client.baseURL).toBe(original.baseURL);
      expect(client.apiKey).toBe(API_KEY);
      expect(client.timeout).toBe(12_345);
      expect(client.maxRetries).toBe(1);
      await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      expect(fetched).toEqual([`${rec().openaiBaseURL}/chat/completions`]);
      const call = onlyCall();
      expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(call.headers["x-app"]).toBe("demo");
    });

    it("wraps an AzureOpenAI client, keeping its API version and deployment", async () => {
      const AzureOpenAI = await major.loadAzure();
      const azure = new AzureOpenAI({
        apiKey: API_KEY,
        endpoint: rec().url,
        apiVersion: "2024-10-21",
        deployment: "my-deployment",
        maxRetries: 0,
      });
      const client = wrapOpenAI(azure, createTagalong({ destinations: [portkey(), requesty()] }));
      expect(client).toBeInstanceOf(AzureOpenAI);
      // The recorder does not serve Azure's routes (404): what matters is what was sent.
      const sent = () =>
        client.chat.completions.create(
          { model: MODEL, messages: [{ role: "user", content: "hi" }] },
          tagalongOptions({ user: "u_azure" }),
        );
      await expect(sent()).rejects.toBeInstanceOf(OpenAIClass.NotFoundError);
      await expect(
        client.withOptions({ timeout: 5_000 }).chat.completions.create({ model: MODEL, messages: [] }),
      ).rejects.toBeInstanceOf(OpenAIClass.NotFoundError);
      const [first, second] = rec().requests;
      for (const request of [first!, second!]) {
        expect(request.url).toBe("/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21");
        expect(request.headers["api-key"]).toBe(API_KEY);
      }
      expect(JSON.parse(first!.headers["x-portkey-metadata"]!)).toEqual({ _user: "u_azure" });
      expect((first!.body as any).requesty).toEqual({ user_id: "u_azure" });
    });

    it("non-model endpoints (a file upload, binary speech, images) are sent and answered as by the bare client, headers only", async () => {
      // The recorder serves model endpoints only: a server of its own answers these.
      const seen: Array<{ headers: Record<string, unknown>; body: string }> = [];
      const server = createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on("data", (c: Buffer) => parts.push(c));
        req.on("end", () => {
          seen.push({ headers: req.headers, body: Buffer.concat(parts).toString("latin1") });
          if (req.url!.startsWith("/v1/audio/speech")) {
            res.writeHead(200, { "content-type": "audio/mpeg" });
            res.end(Buffer.from([1, 2, 3, 255]));
            return;
          }
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify(
              req.url!.startsWith("/v1/files")
                ? {
                    id: "file-1",
                    object: "file",
                    bytes: 3,
                    created_at: 1,
                    filename: "a.jsonl",
                    purpose: "batch",
                  }
                : { created: 1, data: [{ url: "u" }] },
            ),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const toFile = await major.loadToFile();
      const recorded = memory();
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), recorded],
        metadata: { user: "u_files" },
      });
      const plain = new OpenAIClass({ apiKey: API_KEY, baseURL, maxRetries: 0 });
      const results = [];
      try {
        for (const client of [plain, wrapOpenAI(plain, tagalong)]) {
          const file = await client.files.create({
            file: await toFile(Buffer.from("{}\n"), "a.jsonl"),
            purpose: "batch",
          });
          const speech = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi" });
          const bytes = [...new Uint8Array(await speech.arrayBuffer())];
          const image = await client.images.generate({ model: "dall-e-3", prompt: "cat" });
          results.push({ file, bytes, image: image.data });
        }
      } finally {
        server.close();
      }
      expect(results[1]).toEqual(results[0]);
      // Multipart boundaries differ per request: compared with them taken out.
      const unbounded = (body: string) => body.replace(/-----*[A-Za-z0-9-]+/g, "B");
      const mediaType = (headers: Record<string, unknown>) => String(headers["content-type"]).split(";")[0];
      for (let i = 0; i < 3; i++) {
        const [b, w] = [seen[i]!, seen[i + 3]!];
        expect(w.headers["x-portkey-metadata"]).toContain("u_files");
        expect(mediaType(w.headers)).toBe(mediaType(b.headers));
        expect(unbounded(w.body)).toBe(unbounded(b.body));
      }
      await tagalong.flush();
      expect(recorded.calls).toEqual([]);
    });

    it("withOptions() returns a client that is still wrapped, with the new options", async () => {
      const client = wrapped({ defaultHeaders: { "x-app": "demo" } });
      const copy = client.withOptions({ defaultHeaders: { "x-copy": "yes" } });
      expect(copy).toBeInstanceOf(OpenAIClass);
      expect(() => wrapOpenAI(copy, createTagalong({ destinations: [] }))).toThrow(TagalongError);
      await withMetadata({ user: "u_copy" }, () =>
        copy.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
      );
      const call = onlyCall();
      expect(call.portkey.metadata?._user).toBe("u_copy");
      expect(call.headers["x-copy"]).toBe("yes");
    });

    it("withOptions() given tagalongOptions() warns once that their metadata is not carried", async () => {
      const warnings: string[] = [];
      const logger = { warn: (m: string) => warnings.push(m), error() {}, info() {}, debug() {} };
      const client = wrapped({}, { logger });
      const copy = client.withOptions(tagalongOptions({ user: "u_client" }));
      client.withOptions({ ...tagalongOptions({ user: "u_other" }), timeout: 5_000 });
      await copy.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] });
      expect(onlyCall().portkey.metadata?._user).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/withOptions\(\).*tagalongOptions\(\).*withMetadata\(\)/);
      client.withOptions({ timeout: 5_000 });
      expect(warnings).toHaveLength(1);
    });

    it("refuses to wrap a wrapped client, or something that is not a client", () => {
      const client = wrapped();
      const tagalong = createTagalong({ destinations: [] });
      expect(() => wrapOpenAI(client, tagalong)).toThrow(/already wrapped/);
      expect(
        TagalongError.isInstance(
          (() => {
            try {
              wrapOpenAI(client, tagalong);
            } catch (e) {
              return e;
            }
          })(),
        ),
      ).toBe(true);
      expect(() => wrapOpenAI({} as OpenAI, tagalong)).toThrow(TagalongError);
      expect(() => wrapOpenAI(bare(), {} as never)).toThrow(TagalongError);
    });

    describe("the SDK's own features", () => {
      const params = { model: MODEL, messages: [{ role: "user" as const, content: "features" }] };

      it(".withResponse(), .asResponse() and _request_id", async () => {
        const client = wrapped();
        const { data, response, request_id } = await client.chat.completions.create(params).withResponse();
        const first = rec().calls()[0]!;
        expect(data.id).toBe(first.responseId);
        expect(request_id).toBe(first.requestId);
        expect(response.headers.get("x-request-id")).toBe(first.requestId);

        const raw = await client.chat.completions.create(params).asResponse();
        const second = rec().calls()[1]!;
        expect(raw.status).toBe(200);
        expect((await raw.json()).id).toBe(second.responseId);
        expect(second.portkey.metadata).toEqual({ _environment: "test", tags: "default" });

        const direct = await client.chat.completions.create(params);
        expect(direct._request_id).toBe(rec().calls()[2]!.requestId);
      });

      it("a Stream's tee(), toReadableStream() and double-iteration rule", async () => {
        const client = wrapped();
        const streamed = { ...params, stream: true as const };
        const [left, right] = (await client.chat.completions.create(streamed)).tee();
        expect(await Promise.all([streamText(left), streamText(right)])).toEqual([
          replyText("features"),
          replyText("features"),
        ]);

        const readable = (await client.chat.completions.create(streamed)).toReadableStream();
        const text = await new Response(readable).text();
        const chunks = text
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line));
        expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe(replyText("features"));

        const once = await client.chat.completions.create(streamed);
        await streamText(once);
        await expect(streamText(once)).rejects.toThrow(/consumed/);
        expect(rec().calls()).toHaveLength(3);
      });

      it("a Stream's controller aborts it as on the bare client", async () => {
        const streamed = { ...params, stream: true as const };
        const chunksAfterAbort = async (client: OpenAI, abortAt: number) => {
          const stream = await client.chat.completions.create(streamed);
          expect(stream.controller).toBeInstanceOf(AbortController);
          if (abortAt === 0) stream.controller.abort();
          let chunks = 0;
          for await (const _ of stream) if (++chunks === abortAt) stream.controller.abort();
          expect(stream.controller.signal.aborted).toBe(true);
          return chunks;
        };
        const client = wrapped();
        expect(await chunksAfterAbort(client, 0)).toBe(0);
        // After the first chunk: what was already received may still come out, as the SDK decides.
        expect(await chunksAfterAbort(client, 1)).toBe(await chunksAfterAbort(bare(), 1));
      });

      it("aborting with a signal rejects with the SDK's APIUserAbortError", async () => {
        const client = wrapped();
        const hang = rec().fail({ path: "/v1/chat/completions", hang: true });
        const abort = new AbortController();
        const call = withMetadata({ user: "u_abort" }, () =>
          client.chat.completions.create(params, { signal: abort.signal }),
        );
        await rec().waitFor((r) => r.requests.length === 1);
        abort.abort();
        await expect(call).rejects.toBeInstanceOf(OpenAIClass.APIUserAbortError);
        expect(rec().requests[0]!.headers["x-portkey-metadata"]).toContain("u_abort");
        hang.clear();
      });

      it("retries send identical metadata on every attempt", async () => {
        const client = wrapped({ maxRetries: 2 });
        rec().fail({ path: "/v1/chat/completions", status: 500, times: 2, retryAfter: 0.001 });
        const completion = await withMetadata({ user: "u_retry" }, () =>
          client.chat.completions.create(params, tagalongOptions({ session: "s_retry" })),
        );
        expect(completion.choices[0]!.message.content).toBe(replyText("features"));
        const attempts = rec().requests;
        expect(attempts.map((r) => r.status)).toEqual([500, 500, 200]);
        expect(attempts.map((r) => r.headers["x-stainless-retry-count"])).toEqual(["0", "1", "2"]);
        const metadata = attempts.map((r) => r.headers["x-portkey-metadata"]);
        expect(new Set(metadata).size).toBe(1);
        expect(JSON.parse(metadata[0]!)).toMatchObject({ _user: "u_retry", session_id: "s_retry" });
        expect(new Set(attempts.map((r) => JSON.stringify((r.body as any).requesty))).size).toBe(1);
        // Each header once, not once per attempt.
        expect(attempts[2]!.rawHeaders.filter((h) => h.toLowerCase() === "x-portkey-metadata")).toHaveLength(
          1,
        );
      });
    });

    it("1,000 concurrent calls with distinct users each arrive with their own metadata", async () => {
      const client = wrapped({ maxRetries: 0 });
      const n = 1000;
      await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const user = `user_${i}`;
          const params = { model: MODEL, messages: [{ role: "user" as const, content: `from ${user}` }] };
          // Half through a scope, half per call; both through the one wrapped client.
          return i % 2 === 0
            ? withMetadata({ user }, async () => {
                await new Promise((r) => setTimeout(r, i % 7));
                return client.chat.completions.create(params);
              })
            : client.chat.completions.create(params, tagalongOptions({ user }));
        }),
      );
      const calls = rec().calls();
      expect(calls).toHaveLength(n);
      let mismatches = 0;
      for (const call of calls) {
        const user = String(call.body.messages[0].content).replace("from ", "");
        if (call.portkey.metadata?._user !== user || call.requesty?.user_id !== user) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(new Set(calls.map((c) => c.portkey.metadata?._user)).size).toBe(n);
    }, 60_000);
  });
});
