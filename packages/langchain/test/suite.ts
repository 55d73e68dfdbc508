// The one suite every supported LangChain version pair runs: each *.test.ts beside it hands in the
// LangChain modules of its pair (resolved from a compat package or from this package).
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { getEventListeners } from "node:events";
import { createRequire } from "node:module";
import {
  createTagalong,
  type Destination,
  InvalidMetadataError,
  type Logger,
  portkey,
  promptLayer,
  requesty,
  type Tagalong,
  TagalongError,
  withMetadata,
} from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { createRecorder, type ModelCall, type Recorder, replyText } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  CONVENTION_IMAGE_URL,
  CONVENTION_MODEL,
  CONVENTION_TOOL,
  completedCallConvention,
  stopSignal,
} from "../../core/test/completed-call-convention";
import { TagalongCallbackHandler, withTagalong } from "../src/index";
import { useOffline } from "./offline";

/** What each version pair hands the suite (see langchain-v1.ts and compat/langchain-*). */
export interface LangChainModules {
  label: string;
  moduleURL: string;
  awaitAllCallbacks: () => Promise<void>;
  AIMessage: any;
  HumanMessage: any;
  SystemMessage: any;
  ToolMessage: any;
  ChatPromptTemplate: any;
  RunnableLambda: any;
  Annotation: any;
  StateGraph: any;
  MemorySaver: any;
  START: string;
  END: string;
  ChatOpenAI: any;
  AzureChatOpenAI: any;
  OpenAI: any;
}

const MODEL = "gpt-4o-mini";
const API_KEY = "sk-test-tagalong-langchain";

const WEATHER_TOOL = { type: "function", function: CONVENTION_TOOL };

/** The JSON schema of the structured-output paths. */
const ANSWER_SCHEMA = {
  title: "Answer",
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
};

/** Whether this Node satisfies an `engines.node` range of the usual `>=N[.M]` form. */
function nodeSatisfies(range: string | undefined): boolean {
  const min = range && /^>=\s*(\d+)(?:\.(\d+))?/.exec(range.trim());
  if (!min) return true;
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  const wantMajor = Number(min[1]);
  const wantMinor = Number(min[2] ?? 0);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

interface Manifest {
  version: string;
  engines?: { node?: string };
}

/** An after-the-call destination that keeps what it is given. */
function memory(): Destination & { calls: CompletedCall[] } {
  const calls: CompletedCall[] = [];
  return { name: "memory", calls, record: (call) => void calls.push(call) };
}

function collectingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => {};
  return {
    warnings,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (message) => void warnings.push(message),
  };
}

/** The text of the last user message a model call sent (chat, responses or legacy completions). */
function lastUserText(call: ModelCall): string {
  const body = call.body ?? {};
  if (typeof body.prompt === "string") return body.prompt;
  if (Array.isArray(body.prompt)) return body.prompt.join("\n");
  const items: any[] = body.messages ?? (Array.isArray(body.input) ? body.input : []);
  const user = [...items].reverse().find((m) => m?.role === "user");
  const content = user?.content;
  if (typeof content === "string") return content;
  return Array.isArray(content) ? content.map((p: any) => p?.text ?? "").join("") : "";
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end
  }
}

export function langchainSuite(lc: LangChainModules): void {
  const require = createRequire(lc.moduleURL);
  const manifest = (name: string): Manifest => require(`${name}/package.json`);
  const versions = ["@langchain/core", "@langchain/openai", "@langchain/langgraph"]
    .map((name) => `${name}@${manifest(name).version}`)
    .join(", ");
  const engine = manifest("@langchain/openai").engines?.node;

  // The matrix, not a failure: a pair whose @langchain/openai needs a newer Node runs under that Node.
  describe.skipIf(!nodeSatisfies(engine))(`${lc.label} (${versions})`, () => {
    useOffline();
    let rec: Recorder;
    beforeAll(async () => {
      rec = await createRecorder();
    });
    afterEach(async () => {
      expect(rec.violations()).toEqual([]);
      await rec.reset();
    });
    afterAll(async () => {
      await rec.close();
    });

    const ChatModel = withTagalong(lc.ChatOpenAI);
    const LLM = withTagalong(lc.OpenAI);

    completedCallConvention(lc.label, () => ({
      source: "langchain",
      async run(scenario, { baseURL, apiKey, tagalong }) {
        const model = new ChatModel({
          model: CONVENTION_MODEL,
          apiKey,
          maxRetries: 0,
          temperature: 0.5,
          maxTokens: 20,
          configuration: { baseURL },
          callbacks: [new TagalongCallbackHandler(tagalong)],
        });
        const fail = () => {};
        switch (scenario) {
          case "text":
            await model.invoke([new lc.SystemMessage("Be brief."), new lc.HumanMessage("Say hello")]);
            break;
          case "image":
            await model.invoke([
              new lc.HumanMessage({
                content: [
                  { type: "text", text: "What is in this picture?" },
                  { type: "image_url", image_url: { url: CONVENTION_IMAGE_URL } },
                ],
              }),
            ]);
            break;
          case "tool":
            await model
              .bindTools([{ type: "function", function: CONVENTION_TOOL }])
              .invoke("Weather in Paris?");
            break;
          case "stream":
            await drain(await model.stream("Say hello"));
            break;
          case "error":
            await model.invoke("Say hello").catch(fail);
            break;
          case "abort":
          case "timeout":
            await model
              .stream("Say hello", { signal: stopSignal(scenario) })
              .then(drain)
              .catch(fail);
            break;
        }
        await lc.awaitAllCallbacks();
      },
    }));

    interface Setup {
      tagalong: Tagalong;
      handler: TagalongCallbackHandler;
      memory: ReturnType<typeof memory>;
      logger: ReturnType<typeof collectingLogger>;
      errors: unknown[];
      chat(fields?: Record<string, unknown>): any;
      /** The legacy completions LLM, of the same kind of class as `chat`. */
      llm(fields?: Record<string, unknown>): any;
      /** The original ChatOpenAI (no withTagalong), with this setup's handler in its callbacks. */
      plainChat(): any;
      /** Every callback delivered and every recorded call handed on. */
      settle(): Promise<void>;
    }

    function setup(
      options: {
        awaitHandlers?: boolean;
        destinations?: Destination[];
        recordThrows?: boolean;
        onInvalid?: "throw" | "drop";
        /** The models are of classes bound to this setup's Tagalong: withTagalong(ChatOpenAI, tagalong). */
        bound?: boolean;
      } = {},
    ): Setup {
      const mem = memory();
      if (options.recordThrows) {
        mem.record = () => {
          throw new Error("destination bug");
        };
      }
      const logger = collectingLogger();
      const errors: unknown[] = [];
      const tagalong = createTagalong({
        destinations: options.destinations ?? [portkey(), requesty(), mem],
        logger,
        onError: (error) => void errors.push(error),
        onInvalid: options.onInvalid,
      });
      const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers: options.awaitHandlers });
      const Chat = options.bound ? withTagalong(lc.ChatOpenAI, tagalong) : ChatModel;
      const Completions = options.bound ? withTagalong(lc.OpenAI, tagalong) : LLM;
      return {
        tagalong,
        handler,
        memory: mem,
        logger,
        errors,
        llm: (fields = {}) =>
          new Completions({
            model: "gpt-3.5-turbo-instruct",
            apiKey: API_KEY,
            maxRetries: 0,
            configuration: { baseURL: rec.openaiBaseURL },
            ...fields,
          }),
        chat: (fields = {}) =>
          new Chat({
            model: MODEL,
            apiKey: API_KEY,
            maxRetries: 0,
            configuration: { baseURL: rec.openaiBaseURL },
            ...fields,
          }),
        plainChat: () =>
          new lc.ChatOpenAI({
            model: MODEL,
            apiKey: API_KEY,
            configuration: { baseURL: rec.openaiBaseURL },
            callbacks: [handler],
          }),
        settle: async () => {
          await lc.awaitAllCallbacks();
          await tagalong.flush();
        },
      };
    }

    /** One way to reach the model: the LangChain path, and whether it streams on the wire. */
    interface Path {
      name: string;
      stream: boolean;
      /** A graph passes `configurable.thread_id`, which LangGraph copies into run metadata. */
      graph?: boolean;
      endpoint?: string;
      /** The answer is not the recorder's echo (a tool call or structured output). */
      structured?: boolean;
      /** LangChain's legacy OpenAI LLM keeps no completion id in its result. */
      noResponseId?: boolean;
      run(s: Setup, input: string, config: Record<string, any>): Promise<unknown>;
    }

    const graphOf = (model: any) => {
      const State = lc.Annotation.Root({
        question: lc.Annotation(),
        answer: lc.Annotation(),
      });
      return new lc.StateGraph(State)
        .addNode("agent", async (state: { question: string }, config: unknown) => {
          const message = await model.invoke(state.question, config);
          return { answer: String(message.content) };
        })
        .addEdge(lc.START, "agent")
        .addEdge("agent", lc.END)
        .compile({ checkpointer: new lc.MemorySaver() });
    };

    const paths: Path[] = [
      { name: "invoke", stream: false, run: (s, input, config) => s.chat().invoke(input, config) },
      { name: "batch", stream: false, run: (s, input, config) => s.chat().batch([input], [config]) },
      {
        name: "stream",
        stream: true,
        run: async (s, input, config) => drain(await s.chat().stream(input, config)),
      },
      {
        name: "streamEvents (v2)",
        stream: true,
        run: (s, input, config) => drain(s.chat().streamEvents(input, { ...config, version: "v2" })),
      },
      {
        name: "streaming: true",
        stream: true,
        run: (s, input, config) => s.chat({ streaming: true }).invoke(input, config),
      },
      {
        name: "tools bound",
        stream: false,
        run: (s, input, config) => s.chat().bindTools([WEATHER_TOOL]).invoke(input, config),
      },
      {
        name: "tools bound, streamed",
        stream: true,
        run: async (s, input, config) =>
          drain(await s.chat().bindTools([WEATHER_TOOL]).stream(input, config)),
      },
      {
        name: "withStructuredOutput",
        stream: false,
        structured: true,
        run: (s, input, config) =>
          s.chat().withStructuredOutput(ANSWER_SCHEMA, { name: "Answer" }).invoke(input, config),
      },
      {
        name: "withConfig",
        stream: false,
        run: (s, input, config) => s.chat().withConfig({ temperature: 0 }).invoke(input, config),
      },
      {
        name: "chain: prompt | model",
        stream: false,
        run: (s, input, config) =>
          lc.ChatPromptTemplate.fromMessages([
            ["system", "Be brief."],
            ["human", "{q}"],
          ])
            .pipe(s.chat())
            .invoke({ q: input }, config),
      },
      {
        name: "chain: streamEvents (v2)",
        stream: true,
        run: (s, input, config) =>
          drain(
            lc.ChatPromptTemplate.fromMessages([["human", "{q}"]])
              .pipe(s.chat())
              .streamEvents({ q: input }, { ...config, version: "v2" }),
          ),
      },
      {
        name: "chain: model inside a RunnableLambda",
        stream: false,
        run: (s, input, config) =>
          lc.RunnableLambda.from(async (q: string, inner: unknown) => s.chat().invoke(q, inner)).invoke(
            input,
            config,
          ),
      },
      {
        name: "LangGraph: invoke",
        stream: false,
        graph: true,
        run: (s, input, config) => graphOf(s.chat()).invoke({ question: input }, config),
      },
      {
        name: "LangGraph: stream messages",
        stream: true,
        graph: true,
        run: async (s, input, config) =>
          drain(await graphOf(s.chat()).stream({ question: input }, { ...config, streamMode: "messages" })),
      },
      {
        name: "Responses API",
        stream: false,
        endpoint: "responses",
        run: (s, input, config) => s.chat({ useResponsesApi: true }).invoke(input, config),
      },
      {
        name: "Responses API, streamed",
        stream: true,
        endpoint: "responses",
        run: async (s, input, config) => drain(await s.chat({ useResponsesApi: true }).stream(input, config)),
      },
      {
        name: "legacy completions LLM (OpenAI)",
        stream: false,
        endpoint: "completions",
        noResponseId: true,
        run: (s, input, config) => s.llm().invoke(input, config),
      },
      {
        name: "legacy completions LLM (OpenAI), streamed",
        stream: true,
        endpoint: "completions",
        noResponseId: true,
        run: async (s, input, config) => drain(await s.llm().stream(input, config)),
      },
    ];

    for (const awaitHandlers of [true, false]) {
      describe(awaitHandlers ? "awaited handler (default)" : "background handler", () => {
        it.each(paths)(
          "$name: Portkey header and Requesty body on the wire, the run recorded",
          async (path) => {
            const s = setup({ awaitHandlers });
            const runId = randomUUID();
            const input = `where is my order (${path.name})`;
            const result = await path.run(s, input, {
              runId,
              callbacks: [s.handler],
              metadata: { tagalong: { user: "u_42", environment: "production" }, team: "search" },
              tags: ["checkout"],
              ...(path.graph ? { configurable: { thread_id: "thread-7" } } : {}),
            });

            const calls = rec.calls();
            expect(calls).toHaveLength(1);
            const call = calls[0]!;
            expect(call.endpoint).toBe(path.endpoint ?? "chat.completions");
            expect(call.stream).toBe(path.stream);
            expect(lastUserText(call)).toContain(input);
            const session = path.graph ? { session_id: "thread-7" } : {};
            expect(call.portkey.metadata).toEqual({
              _user: "u_42",
              _environment: "production",
              team: "search",
              tags: "checkout",
              ...session,
            });
            // The LangChain trace: the id of the root run (the one invoked).
            expect(call.portkey.traceId).toBe(runId);
            expect(call.requesty).toEqual({
              user_id: "u_42",
              trace_id: runId,
              tags: ["checkout"],
              extra: { environment: "production", team: "search", ...session },
            });
            if (path.name.startsWith("tools")) expect(call.body.tools).toHaveLength(1);

            await s.settle();
            expect(s.memory.calls).toHaveLength(1);
            const recorded = s.memory.calls[0]!;
            expect(recorded.status).toBe("success");
            expect(recorded.metadata).toMatchObject({ user: "u_42", trace: runId, tags: ["checkout"] });
            expect(recorded.stream).toBe(path.stream);
            expect(recorded.responseId).toBe(path.noResponseId ? undefined : call.responseId);
            // As the openai adapter records it: the Responses API's status, the others' finish_reason.
            const finish = path.endpoint === "responses" ? "completed" : undefined;
            expect(recorded.finishReason).toBe(
              finish ?? (path.name.startsWith("tools") ? "tool_calls" : "stop"),
            );
            expect(recorded.input.at(-1)).toMatchObject({ role: "user", content: lastUserText(call) });
            if (path.name.startsWith("tools")) {
              expect(recorded.output[0]?.toolCalls?.map((t) => t.name)).toEqual(["get_weather"]);
            } else if (path.structured) {
              // The model's raw answer, which LangChain parsed into what the call returned.
              const raw = recorded.output[0]?.toolCalls?.[0]?.arguments ?? recorded.output[0]?.content;
              expect(JSON.parse(raw ?? "null")).toEqual(result);
            } else {
              expect(recorded.output).toEqual([
                { role: "assistant", content: replyText(lastUserText(call)) },
              ]);
            }
            expect(recorded.context?.langchain_run_id).toMatch(/^[0-9a-f-]{36}$/);
            expect(s.errors).toEqual([]);
            expect(s.logger.warnings).toEqual([]);
          },
        );

        it("batch of 200 inputs with distinct users: every request carries its own", async () => {
          const s = setup({ awaitHandlers });
          const chain = lc.ChatPromptTemplate.fromMessages([["human", "question {i}"]]).pipe(s.chat());
          const n = 200;
          const inputs = Array.from({ length: n }, (_, i) => ({ i }));
          const configs = inputs.map(({ i }) => ({
            callbacks: [s.handler],
            metadata: { tagalong: { user: `user-${i}` } },
          }));
          await chain.batch(inputs, configs);

          const calls = rec.calls();
          expect(calls).toHaveLength(n);
          const mismatches = calls.filter((call) => {
            const user = `user-${/question (\d+)/.exec(lastUserText(call))?.[1]}`;
            return call.portkey.metadata?._user !== user || call.requesty?.user_id !== user;
          });
          expect(mismatches).toEqual([]);
          expect(new Set(calls.map((c) => c.portkey.traceId)).size).toBe(n);

          await s.settle();
          expect(s.memory.calls).toHaveLength(n);
          const recordMismatches = s.memory.calls.filter(
            (c) => `user-${/question (\d+)/.exec(c.input.at(-1)?.content ?? "")?.[1]}` !== c.metadata.user,
          );
          expect(recordMismatches).toEqual([]);
        }, 30_000);

        it("batch of a chain nesting the model two runnables deep: every item's calls carry its own root run as the trace", async () => {
          const tagalong = createTagalong({
            destinations: [portkey(), promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
          });
          const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers });
          const model = new ChatModel({
            model: MODEL,
            apiKey: API_KEY,
            maxRetries: 0,
            configuration: { baseURL: rec.openaiBaseURL },
          });
          // prompt | lambda(inner: prompt | model, twice) : the model runs three levels under the root.
          const inner = lc.ChatPromptTemplate.fromMessages([["human", "{q}"]]).pipe(model);
          const chain = lc.ChatPromptTemplate.fromMessages([["human", "item {i}"]]).pipe(
            lc.RunnableLambda.from(async (prompt: any, config: unknown) => {
              const q = String(prompt.messages?.[0]?.content ?? prompt);
              await inner.invoke({ q: `${q} first` }, config);
              return inner.invoke({ q: `${q} second` }, config);
            }),
          );
          const n = 12;
          const runIds = Array.from({ length: n }, () => randomUUID());
          await chain.batch(
            runIds.map((_, i) => ({ i })),
            runIds.map((runId, i) => ({
              runId,
              callbacks: [handler],
              metadata: { tagalong: { user: `user-${i}` } },
            })),
          );
          const itemOf = (text: string) => Number(/item (\d+)/.exec(text)?.[1]);

          const calls = rec.calls();
          expect(calls).toHaveLength(2 * n);
          const wire = calls.map((call) => {
            const i = itemOf(lastUserText(call));
            return [i, call.portkey.traceId, call.portkey.metadata?._user];
          });
          expect(wire).toEqual(
            calls.map((call) => {
              const i = itemOf(lastUserText(call));
              return [i, runIds[i], `user-${i}`];
            }),
          );

          await lc.awaitAllCallbacks();
          await tagalong.flush();
          const logs = rec.promptLayer.logs();
          expect(logs).toHaveLength(2 * n);
          const logged = logs.map((log) => {
            const i = itemOf(String(log.body.input?.messages?.at(-1)?.content?.[0]?.text ?? ""));
            return [i, log.metadata.trace_id, log.metadata.user_id];
          });
          expect(logged).toEqual(logged.map(([i]) => [i, runIds[i as number], `user-${i}`]));
        }, 30_000);

        it("two nested runs starting model calls at once (Promise.all in a RunnableLambda): each call its own run's labels, the root's trace", async () => {
          const s = setup({ awaitHandlers });
          const branch = (name: string, streamed: boolean) =>
            lc.ChatPromptTemplate.fromMessages([["human", `${name} {q}`]])
              .pipe(
                lc.RunnableLambda.from(async (prompt: unknown, config: unknown) => {
                  const model = s.chat();
                  if (!streamed) return model.invoke(prompt, config);
                  await drain(await model.stream(prompt, config));
                  return "";
                }),
              )
              .withConfig({ metadata: { stage: name }, tags: [name] });
          const both = lc.RunnableLambda.from(async (q: string, config: unknown) =>
            Promise.all([
              branch("alpha", false).invoke({ q }, config),
              branch("beta", true).invoke({ q }, config),
            ]),
          );
          const runIds = Array.from({ length: 4 }, () => randomUUID());
          await Promise.all(
            runIds.map((runId, i) =>
              both.invoke(`q${i}`, {
                runId,
                callbacks: [s.handler],
                metadata: { tagalong: { user: `user-${i}` } },
              }),
            ),
          );

          const calls = rec.calls();
          expect(calls).toHaveLength(8);
          const expected = (text: string) => {
            const [, stage, i] = /(alpha|beta) q(\d+)/.exec(text) ?? [];
            return { stage, trace: runIds[Number(i)], user: `user-${i}`, tags: stage };
          };
          const wire = calls.map((call) => ({
            stage: call.portkey.metadata?.stage,
            trace: call.portkey.traceId,
            user: call.requesty?.user_id,
            tags: call.portkey.metadata?.tags,
          }));
          expect(wire).toEqual(calls.map((call) => expected(lastUserText(call))));

          await s.settle();
          expect(s.memory.calls).toHaveLength(8);
          const recorded = s.memory.calls.map((c) => ({
            stage: c.metadata.extra?.stage,
            trace: c.metadata.trace,
            user: c.metadata.user,
            tags: c.metadata.tags?.join(","),
          }));
          expect(recorded).toEqual(s.memory.calls.map((c) => expected(String(c.input.at(-1)?.content))));
          expect(s.errors).toEqual([]);
        }, 30_000);

        it("concurrent streams whose requests are retried: every attempt carries its own run's metadata, each run recorded once", async () => {
          const s = setup({ awaitHandlers });
          const n = 16;
          // The first request of every run fails; LangChain retries it inside the stream's first step.
          rec.fail({ kind: "openai", status: 500, times: n, retryAfter: 0.01 });
          const model = s.chat({ maxRetries: 1 });
          const runIds = Array.from({ length: n }, () => randomUUID());
          await Promise.all(
            runIds.map(async (runId, i) =>
              drain(
                await model.stream(`stream ${i}`, {
                  runId,
                  callbacks: [s.handler],
                  metadata: { tagalong: { user: `user-${i}` } },
                }),
              ),
            ),
          );

          const calls = rec.calls();
          expect(calls).toHaveLength(2 * n);
          expect(calls.filter((c) => c.status === 500)).toHaveLength(n);
          const mismatches = calls.filter((call) => {
            const i = Number(/stream (\d+)/.exec(lastUserText(call))?.[1]);
            return (
              call.portkey.metadata?._user !== `user-${i}` ||
              call.portkey.traceId !== runIds[i] ||
              call.requesty?.user_id !== `user-${i}`
            );
          });
          expect(mismatches).toEqual([]);

          await s.settle();
          expect(s.memory.calls).toHaveLength(n);
          for (const recorded of s.memory.calls) {
            const i = Number(/stream (\d+)/.exec(recorded.input.at(-1)?.content ?? "")?.[1]);
            expect(recorded).toMatchObject({
              status: "success",
              stream: true,
              metadata: { user: `user-${i}` },
            });
          }
          expect(s.errors).toEqual([]);
        }, 30_000);

        it("with onInvalid throw, invalid metadata: InvalidMetadataError before anything is sent, on every path", async () => {
          const s = setup({ awaitHandlers, onInvalid: "throw" });
          const bad = [
            { tagalong: { user: 42 } },
            { tagalong: { userId: "u_1" } },
            { tagalong: { user: "u".repeat(129) } }, // Portkey's 128-char limit
            // Not a plain object: refused like anywhere else, never silently ignored.
            { tagalong: new Map([["user", "u_1"]]) },
            { tagalong: new Date(0) },
          ];
          for (const path of paths) {
            for (const metadata of bad) {
              const error = await path.run(s, "hello", { callbacks: [s.handler], metadata }).then(
                () => undefined,
                (e: unknown) => e,
              );
              expect(error, `${path.name} ${JSON.stringify(metadata).slice(0, 40)}`).toBeInstanceOf(
                InvalidMetadataError,
              );
            }
          }
          expect(rec.requests).toHaveLength(0);
          await s.settle();
          // The caller has the error; it is not reported twice, and nothing was called to record.
          expect(s.memory.calls).toEqual([]);
          expect(s.errors).toEqual([]);
        }, 30_000);
      });
    }

    describe("withTagalong(ChatOpenAI, tagalong) with in-flight destinations only: no callback handler", () => {
      it.each(paths)("$name: the run's metadata and tags on the wire, read from its config", async (path) => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true });
        const model = path.name.startsWith("legacy") ? s.llm() : s.chat();
        // Nothing of ours in LangChain's callbacks: it runs no callback machinery for the run.
        expect(model.callbacks).toBeUndefined();
        await path.run(s, `where is my order (${path.name})`, {
          metadata: { tagalong: { user: "u_42", environment: "production" }, team: "search" },
          tags: ["checkout"],
          ...(path.graph ? { configurable: { thread_id: "thread-7" } } : {}),
        });
        const [call, ...more] = rec.calls();
        expect(more).toEqual([]);
        expect(call!.stream).toBe(path.stream);
        const session = path.graph ? { session_id: "thread-7" } : {};
        expect(call!.portkey.metadata).toEqual({
          _user: "u_42",
          _environment: "production",
          team: "search",
          tags: "checkout",
          ...session,
        });
        // The LangChain trace needs a TagalongCallbackHandler on the run.
        expect(call!.portkey.traceId).toBeUndefined();
        expect(call!.requesty).toEqual({
          user_id: "u_42",
          tags: ["checkout"],
          extra: { environment: "production", team: "search", ...session },
        });
        expect(s.logger.warnings).toEqual([]);
        expect(s.errors).toEqual([]);
      });

      it("the model's own metadata and tags join the run's, as LangChain's run manager joins them", async () => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true });
        const model = s.chat({ metadata: { team: "core", region: "eu" }, tags: ["model-tag"] });
        const config = { metadata: { tagalong: { user: "u_1" }, team: "search" }, tags: ["checkout"] };
        await model.invoke("hi", config);
        await drain(await model.stream("hi", config));
        // The same run with another handler on it (LangChain then has a run manager): the same labels,
        // and the call options it was handed never get withTagalong's keys.
        const handed: object[] = [];
        const other = {
          name: "other",
          handleChatModelStart: (...args: unknown[]) => void handed.push((args[4] as any).options),
          handleLLMStart() {},
        };
        await model.invoke("hi", { ...config, callbacks: [other] });
        await drain(await model.stream("hi", { ...config, callbacks: [other] }));
        expect(handed).toHaveLength(2);
        for (const options of handed) {
          expect(Object.keys(options)).not.toContain("fetchOptions");
          expect(Object.keys(options)).not.toContain("options");
        }
        // A run manager with no handler at all (a config's empty `callbacks`): the same labels.
        await model.invoke("hi", { ...config, callbacks: [] });
        await drain(await model.stream("hi", { ...config, callbacks: [] }));
        const calls = rec.calls();
        expect(calls).toHaveLength(6);
        for (const call of calls) {
          const { tags, ...rest } = call.portkey.metadata!;
          expect(rest).toEqual({ _user: "u_1", team: "core", region: "eu" });
          expect(tags?.split(",").sort()).toEqual(["checkout", "model-tag"]);
        }
      });

      it("a handler on the run brings the LangChain trace; invalid metadata is refused before the request", async () => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true, onInvalid: "throw" });
        const runId = randomUUID();
        await s
          .chat()
          .invoke("hi", { runId, callbacks: [s.handler], metadata: { tagalong: { user: "u_1" } } });
        expect(rec.calls()[0]!.portkey.traceId).toBe(runId);
        for (const run of [
          (config: object) => s.chat().invoke("hi", config),
          async (config: object) => drain(await s.chat().stream("hi", config)),
          (config: object) => s.llm().invoke("hi", config),
        ]) {
          await expect(run({ metadata: { tagalong: { user: 42 } } })).rejects.toBeInstanceOf(
            InvalidMetadataError,
          );
        }
        expect(rec.calls()).toHaveLength(1);
      });

      it("the caller's call options are never changed: one object for many runs, each run its own labels", async () => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true });
        const model = s.chat();
        const fetchOptions = { keepalive: true };
        const config: Record<string, any> = { options: { fetchOptions }, fetchOptions, tags: ["shared"] };
        const before = structuredClone(config);
        for (const user of ["u_1", "u_2"]) {
          config.metadata = { tagalong: { user } };
          await model.invoke("hi", config);
          await drain(await model.stream("hi", config));
        }
        expect(rec.calls().map((c) => c.portkey.metadata?._user)).toEqual(["u_1", "u_1", "u_2", "u_2"]);
        const { metadata: _, ...after } = config;
        expect(after).toEqual(before);
        expect(Object.getOwnPropertySymbols(fetchOptions)).toEqual([]);
        expect(Object.getOwnPropertySymbols(config)).toEqual([]);
      });

      it.each([
        ["invoke", (model: any, q: string, config: object) => model.invoke(q, config)],
        ["stream", async (model: any, q: string, config: object) => drain(await model.stream(q, config))],
      ])("%s: a run whose request did not reach withTagalong's fetch is said once", async (_name, run) => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true });
        const model = s.chat();
        const config = { metadata: { tagalong: { user: "u_1" } } };
        const settled = () => new Promise((resolve) => setImmediate(resolve));
        await run(model, "through our fetch", config);
        await settled();
        expect(s.logger.warnings).toEqual([]);
        // The model's OpenAI client (made on the first call) fetching another way from now on.
        const client = (model.completions ?? model).client;
        client.fetch = (url: unknown, init: unknown) => fetch(url as string, init as RequestInit);
        await run(model, "around it", config);
        await run(model, "around it again", config);
        await settled();
        expect(rec.calls().map((c) => c.portkey.metadata !== undefined)).toEqual([true, false, false]);
        expect(s.logger.warnings).toHaveLength(1);
        expect(s.logger.warnings[0]).toContain("did not reach withTagalong's fetch");
        expect(s.logger.warnings[0]).toContain("portkey, requesty");
      });
    });

    it("the call options LangChain hands every handler never get withTagalong's keys", async () => {
      for (const awaitHandlers of [true, false]) {
        const s = setup({ awaitHandlers });
        const handed: object[] = [];
        const tracer = {
          name: "tracer",
          handleChatModelStart: (...args: unknown[]) => void handed.push((args[4] as any).options),
          handleLLMStart: (...args: unknown[]) => void handed.push((args[4] as any).options),
        };
        const config = { callbacks: [s.handler, tracer], metadata: { tagalong: { user: "u_1" } } };
        await s.chat().invoke("hi", config);
        await drain(await s.chat().stream("hi", config));
        await s.chat().bindTools([WEATHER_TOOL]).invoke("hi", config);
        await s.llm().invoke("hi", config);
        await drain(await s.llm().stream("hi", config));
        await s.settle();
        expect(rec.calls().map((c) => c.portkey.metadata?._user)).toEqual([
          "u_1",
          "u_1",
          "u_1",
          "u_1",
          "u_1",
        ]);
        expect(handed).toHaveLength(5);
        for (const options of handed) {
          expect(Object.keys(options)).not.toContain("fetchOptions");
          expect(Object.keys(options)).not.toContain("options");
        }
        await rec.reset();
      }
    });

    it("metadata from chains reaches the model run; LangChain's own keys and tags do not", async () => {
      const s = setup();
      const inner = lc.RunnableLambda.from(async (q: string, config: unknown) =>
        s.chat().invoke(q, config),
      ).withConfig({
        metadata: { stage: "rerank" },
        tags: ["inner"],
      });
      const graph = new lc.StateGraph(lc.Annotation.Root({ q: lc.Annotation() }))
        .addNode("agent", async (state: { q: string }, config: unknown) => {
          await inner.invoke(state.q, config);
          return {};
        })
        .addEdge(lc.START, "agent")
        .compile({ checkpointer: new lc.MemorySaver() });
      await graph.invoke(
        { q: "hi" },
        {
          callbacks: [s.handler],
          metadata: { tagalong: { user: "u_7", tags: ["vip"] }, team: "search", attempt: 2, beta: true },
          tags: ["checkout"],
          configurable: { thread_id: "t-1" },
        },
      );
      const [call] = rec.calls();
      const { tags, ...rest } = call!.portkey.metadata!;
      expect(rest).toEqual({
        _user: "u_7",
        session_id: "t-1",
        team: "search",
        stage: "rerank",
        attempt: "2",
        beta: "true",
      });
      expect(tags?.split(",").sort()).toEqual(["checkout", "inner", "vip"]);
      expect(call!.requesty.extra).toEqual({
        session_id: "t-1",
        team: "search",
        stage: "rerank",
        attempt: 2,
        beta: true,
      });
    });

    it.each([true, false])(
      "a run retried by .withRetry() carries the same labels as its first attempt: LangChain's retry:attempt tag stays off the wire (handler on the run: %s)",
      async (withHandler) => {
        const s = setup({ bound: !withHandler });
        rec.fail({ kind: "openai", status: 500, times: 1 });
        await s
          .chat()
          .withRetry({ stopAfterAttempt: 2 })
          .invoke("hi", {
            callbacks: withHandler ? [s.handler] : undefined,
            metadata: { tagalong: { user: "u_1" } },
            tags: ["checkout"],
          });
        await s.settle();
        expect(rec.calls().map((c) => [c.status, c.portkey.metadata?.tags, c.requesty?.tags])).toEqual([
          [500, "checkout", ["checkout"]],
          [200, "checkout", ["checkout"]],
        ]);
        expect(s.memory.calls.map((c) => [c.status, c.metadata.tags])).toEqual([
          ["error", ["checkout"]],
          ["success", ["checkout"]],
        ]);
      },
    );

    /** How a run of withTagalong's class gets its metadata: from a handler on the run, or from its config. */
    const runModes = [
      { name: "awaited handler on the run", awaitHandlers: true, bound: false },
      { name: "background handler on the run", awaitHandlers: false, bound: false },
      { name: "class bound to an in-flight-only Tagalong, no handler", awaitHandlers: true, bound: true },
    ];
    const modeSetup = (mode: (typeof runModes)[number]) =>
      mode.bound
        ? setup({ destinations: [portkey(), requesty()], bound: true })
        : setup({ awaitHandlers: mode.awaitHandlers });
    const userConfig = (s: Setup, mode: (typeof runModes)[number], user: string) => ({
      ...(mode.bound ? {} : { callbacks: [s.handler] }),
      metadata: { tagalong: { user } },
    });
    /** The wire's users that are not the one named in the request's own question (`... #<i>`). */
    const wrongUsers = (calls: ModelCall[]) =>
      calls
        .map((call) => {
          const user = `user-${/#(\d+)/.exec(lastUserText(call))?.[1]}`;
          return [lastUserText(call), user, call.portkey.metadata?._user, call.requesty?.user_id];
        })
        .filter(([, user, portkeyUser, requestyUser]) => portkeyUser !== user || requestyUser !== user);

    it.each(runModes)(
      "model.batch with maxConcurrency 2 and a config per input: each request carries its own input's metadata ($name)",
      async (mode) => {
        const s = modeSetup(mode);
        const n = 6;
        const inputs = Array.from({ length: n }, (_, i) => `batch question #${i}`);
        const configs = inputs.map((_, i) => ({ ...userConfig(s, mode, `user-${i}`), maxConcurrency: 2 }));
        for (const model of [s.chat(), s.chat({ streaming: true }), s.chat().bindTools([WEATHER_TOOL])]) {
          await model.batch(inputs, configs);
        }
        const calls = rec.calls();
        expect(calls).toHaveLength(3 * n);
        expect(wrongUsers(calls)).toEqual([]);
        await s.settle();
        const recorded = s.memory.calls.map((c) => [String(c.input.at(-1)?.content), c.metadata.user]);
        expect(recorded).toEqual(
          mode.bound ? [] : recorded.map(([text]) => [text, `user-${/#(\d+)/.exec(text!)?.[1]}`]),
        );
        expect(s.logger.warnings).toEqual([]);
      },
    );

    it.each(runModes)(
      "withFallbacks: the first model's request fails with a 500, the fallback's request carries the run's metadata, on invoke and stream ($name)",
      async (mode) => {
        const s = modeSetup(mode);
        // The first model (the Responses API) always fails; the fallback (chat completions) answers.
        rec.fail({ path: "/v1/responses", status: 500 });
        const model = s.chat({ useResponsesApi: true }).withFallbacks([s.chat()]);
        await Promise.all(
          [0, 1, 2, 3].map(async (i) => {
            const config = userConfig(s, mode, `user-${i}`);
            if (i % 2 === 0) return model.invoke(`fallback question #${i}`, config);
            return drain(await model.stream(`fallback question #${i}`, config));
          }),
        );
        const calls = rec.calls();
        expect(calls.map((c) => [c.endpoint, c.status]).sort()).toEqual([
          ...Array(4).fill(["chat.completions", 200]),
          ...Array(4).fill(["responses", 500]),
        ]);
        expect(wrongUsers(calls)).toEqual([]);
        await s.settle();
        if (!mode.bound) {
          expect(s.memory.calls.map((c) => c.status).sort()).toEqual([
            ...Array(4).fill("error"),
            ...Array(4).fill("success"),
          ]);
        }
      },
    );

    it("the handler on the model alone: the chain's metadata still goes out; the trace is the model run", async () => {
      const s = setup();
      const model = s.chat({ callbacks: [s.handler] });
      const runId = randomUUID();
      const chain = lc.ChatPromptTemplate.fromMessages([["human", "{q}"]]).pipe(model);
      await chain.invoke({ q: "hi" }, { runId, metadata: { tagalong: { user: "u_1" } } });
      await s.settle();
      // With no handler at the chain, LangChain starts no chain run: the model run is the root.
      const [call] = rec.calls();
      const [recorded] = s.memory.calls;
      expect(call!.portkey.metadata).toEqual({ _user: "u_1" });
      expect(call!.portkey.traceId).toBe(recorded!.context?.langchain_run_id);
      expect(recorded!.context?.langchain_parent_run_id).toBeUndefined();
    });

    it("a handler alone on a plain ChatOpenAI takes what LangChain copied from configurable as extra (0.3: every primitive, 1.x: model), never a credential", async () => {
      const s = setup();
      await s.plainChat().invoke("configurable", {
        configurable: { tier: "gold", api_key: "sk-secret-123", model: MODEL },
        metadata: { tagalong: { user: "u_1" } },
      });
      await s.settle();
      const major = Number(manifest("@langchain/core").version.split(".")[0]);
      expect(s.memory.calls[0]!.metadata.extra).toEqual(
        major === 0 ? { tier: "gold", model: MODEL } : { model: MODEL },
      );
      expect(JSON.stringify(s.memory.calls)).not.toContain("sk-secret-123");
    });

    it("a background handler alone applies each call's withMetadata scope, also when LangChain's queue is behind: PromptLayer logs it", async () => {
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
      });
      const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers: false });
      const model = new lc.ChatOpenAI({
        model: MODEL,
        apiKey: API_KEY,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [handler],
      });
      await withMetadata({ user: "u_idle" }, () => model.invoke("idle queue"));
      await lc.awaitAllCallbacks();
      // A slow handler's end, queued ahead of ours, holds LangChain's queue back until released: every
      // scope below has exited before the queue hands our handler the runs.
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = { name: "slow", awaitHandlers: false, handleLLMEnd: () => held };
      await withMetadata({ user: "u_ahead" }, () => model.invoke("ahead", { callbacks: [slow] }));
      await withMetadata({ user: "u_a" }, () => model.invoke("behind a"));
      await withMetadata({ user: "u_b", session: "s_b" }, async () => {
        await model.invoke("behind b", { tags: ["checkout"] });
      });
      await model.invoke("behind, no scope");
      release();
      await lc.awaitAllCallbacks();
      await tagalong.flush();
      const logs = rec.promptLayer.logs();
      expect(
        logs.map((log) => [
          log.body.input.messages.at(-1)?.content?.[0]?.text,
          log.metadata.user_id,
          log.metadata.session_id,
        ]),
      ).toEqual([
        ["idle queue", "u_idle", undefined],
        ["ahead", "u_ahead", undefined],
        ["behind a", "u_a", undefined],
        ["behind b", "u_b", "s_b"],
        ["behind, no scope", undefined, undefined],
      ]);
      expect(logs[3]!.body.tags).toEqual(["checkout"]);
      await tagalong.shutdown();
    });

    it("an inner tagalong key passed down replaces the outer one as a whole; one given by withConfig gives way to the caller's (by key for a runnable's, as a whole for ChatOpenAI's own)", async () => {
      const s = setup();
      const model = s.chat();
      const passedDown = lc.RunnableLambda.from(async (q: string, config: any) =>
        model.invoke(q, { ...config, metadata: { tagalong: { session: "s_inner" } } }),
      );
      const bound = lc.RunnableLambda.from(async (q: string, config: unknown) =>
        model.invoke(q, config),
      ).withConfig({
        metadata: { tagalong: { session: "s_inner" }, region: "eu" },
      });
      const config = { callbacks: [s.handler], metadata: { tagalong: { user: "u_outer" } } };
      await passedDown.invoke("passed down", config);
      await bound.invoke("withConfig", config);
      // ChatOpenAI's own withConfig keeps its config as call options, which a call's own replace as a
      // whole (LangChain's run, as every handler and tracer sees it): its other keys go too.
      const modelBound = model.withConfig({ metadata: { tagalong: { session: "s_inner" }, region: "eu" } });
      await modelBound.invoke("model withConfig", config);
      await modelBound.invoke("model withConfig, no metadata of the call's", { callbacks: [s.handler] });
      expect(rec.calls().map((c) => c.portkey.metadata)).toEqual([
        { session_id: "s_inner" },
        { _user: "u_outer", region: "eu" },
        { _user: "u_outer" },
        { session_id: "s_inner", region: "eu" },
      ]);
    });

    it("withMetadata scopes and createTagalong defaults merge under the run's metadata", async () => {
      const mem = memory();
      const tagalong = createTagalong({
        destinations: [portkey(), requesty(), mem],
        metadata: { environment: "staging", tags: ["app"] },
      });
      const handler = new TagalongCallbackHandler(tagalong);
      const model = new ChatModel({
        model: MODEL,
        apiKey: API_KEY,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [handler],
      });
      await withMetadata({ organization: "acme", trace: "trace-from-scope" }, () =>
        model.invoke("hi", { metadata: { tagalong: { user: "u_1" } }, tags: ["checkout"] }),
      );
      const [call] = rec.calls();
      expect(call!.portkey.metadata).toEqual({
        _user: "u_1",
        _environment: "staging",
        _organisation: "acme",
        tags: "app,checkout",
      });
      // A trace the user set wins over the LangChain one.
      expect(call!.portkey.traceId).toBe("trace-from-scope");
    });

    it("by default, a metadata.tagalong that is not a plain object is said once and the call goes out", async () => {
      const s = setup();
      const model = s.chat({ callbacks: [s.handler] });
      await model.invoke("one", { metadata: { tagalong: new Map([["user", "u_1"]]), team: "search" } });
      const [sent] = rec.calls();
      expect(sent!.portkey.metadata).toEqual({ team: "search" });
      expect(s.logger.warnings).toEqual([
        "left out of every destination: metadata.(root): must be a plain object, got a Map (said once per field and rule)",
      ]);
    });

    it("metadata not written for Tagalong that a destination refuses is left out of it, one warning each", async () => {
      const s = setup({ onInvalid: "throw" });
      const model = s.chat({ callbacks: [s.handler] });
      const metadata = {
        tagalong: { user: "u_1" },
        note: "n".repeat(200),
        tags: "not-a-list",
        team: "search",
      };
      await model.invoke("one", { metadata });
      await model.invoke("two", { metadata });
      const calls = rec.calls();
      expect(calls.map((c) => c.portkey.metadata)).toEqual([
        { _user: "u_1", team: "search" },
        { _user: "u_1", team: "search" },
      ]);
      // Requesty has no such limits: it carries what Portkey cannot.
      expect(calls.map((c) => c.requesty?.extra)).toEqual([
        { note: "n".repeat(200), tags: "not-a-list", team: "search" },
        { note: "n".repeat(200), tags: "not-a-list", team: "search" },
      ]);
      // Implied metadata is never thrown for, even under onInvalid: "throw"; each problem is said once.
      expect(s.logger.warnings).toEqual([
        "left out of portkey's form (implied by the adapter): metadata.extra.note: 200 chars, Portkey allows 128 (said once per field and rule)",
        'left out of portkey\'s form (implied by the adapter): metadata.extra.tags: collides with the key "tags" that Portkey fills from the model in x-portkey-metadata (said once per field and rule)',
      ]);
    });

    it("withTagalong(ChatOpenAI) with neither a Tagalong nor a handler attaches nothing and says so once", async () => {
      setup();
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        const Unbound = withTagalong(lc.ChatOpenAI);
        const model = new Unbound({
          model: MODEL,
          apiKey: API_KEY,
          configuration: { baseURL: rec.openaiBaseURL },
        });
        for (const q of ["hi", "again"]) await model.invoke(q, { metadata: { tagalong: { user: "u_1" } } });
        expect(rec.calls().map((c) => [c.portkey.rawHeader, c.requesty])).toEqual([
          [undefined, undefined],
          [undefined, undefined],
        ]);
        expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
          expect.stringContaining("withTagalong(ChatOpenAI, tagalong)"),
        ]);
      } finally {
        warn.mockRestore();
      }
    });

    it("withTagalong(ChatOpenAI, tagalong) alone: each run's metadata on the wire, its trace, and its record", async () => {
      const s = setup();
      const Bound = withTagalong(lc.ChatOpenAI, s.tagalong);
      const model = new Bound({
        model: MODEL,
        apiKey: API_KEY,
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
      });
      const config = { metadata: { tagalong: { user: "u_1" }, team: "core" }, tags: ["vip"] };
      await withMetadata({ session: "s_1" }, async () => {
        await model.invoke("hi", config);
        await drain(await model.stream("hi", config));
        await model.bindTools([WEATHER_TOOL]).invoke("Weather in Paris?", config);
      });
      const calls = rec.calls();
      expect(calls).toHaveLength(3);
      for (const call of calls) {
        expect(call.portkey.metadata).toEqual({ _user: "u_1", session_id: "s_1", team: "core", tags: "vip" });
        expect(call.portkey.traceId).toMatch(/^[0-9a-f-]{36}$/);
        expect(call.requesty).toMatchObject({ user_id: "u_1" });
      }
      await s.settle();
      expect(s.memory.calls.map((c) => [c.metadata.user, c.stream])).toEqual([
        ["u_1", false],
        ["u_1", true],
        ["u_1", false],
      ]);
      expect(s.logger.warnings).toEqual([]);
      // A handler given as well is not doubled: each run is recorded once.
      await model.invoke("hi", { ...config, callbacks: [s.handler] });
      await s.settle();
      expect(s.memory.calls).toHaveLength(4);
    });

    it("metadata.tagalong that is a Map, a Date or a class instance is treated as core treats it: named, never silent", async () => {
      class Labels {
        user = "u_1";
      }
      const bad = [new Map([["user", "u_1"]]), new Date(), new Labels()];
      // The default policy: the call goes out without it, and the logger names it.
      const s = setup();
      const model = s.chat({ callbacks: [s.handler] });
      for (const tagalong of bad) await model.invoke("hi", { metadata: { tagalong } });
      expect(rec.calls().map((c) => c.portkey.metadata)).toEqual([undefined, undefined, undefined]);
      // Said once per field and rule, as core says it.
      expect(s.logger.warnings).toEqual([
        expect.stringMatching(/\(root\): must be a plain object, got a Map/),
      ]);
      // Strict: an InvalidMetadataError before anything is sent, exactly as core's own prepare throws.
      const strict = createTagalong({ destinations: [portkey()], onInvalid: "throw" });
      const handler = new TagalongCallbackHandler(strict);
      await rec.reset();
      for (const tagalong of bad) {
        await expect(
          s.chat({ callbacks: [handler] }).invoke("hi", { metadata: { tagalong } }),
        ).rejects.toBeInstanceOf(InvalidMetadataError);
        expect(() => strict.prepare(tagalong as never)).toThrow(InvalidMetadataError);
      }
      expect(rec.requests).toHaveLength(0);
    });

    it("the caller's own fetch, explicit headers and body fields are kept and win", async () => {
      const s = setup();
      const seen: string[] = [];
      const model = s.chat({
        callbacks: [s.handler],
        modelKwargs: { requesty: { auto_cache: true, user_id: "from-kwargs" } },
        configuration: {
          baseURL: rec.openaiBaseURL,
          defaultHeaders: { "X-Portkey-Trace-Id": "my-trace" },
          fetch: (url: string, init: RequestInit) => {
            seen.push(String(url));
            return fetch(url, init);
          },
        },
      });
      await model.invoke("hi", { metadata: { tagalong: { user: "u_1" } } });
      const [call] = rec.calls();
      expect(seen).toHaveLength(1);
      expect(call!.portkey.traceId).toBe("my-trace");
      expect(call!.portkey.metadata).toEqual({ _user: "u_1" });
      expect(call!.requesty).toMatchObject({ auto_cache: true, user_id: "from-kwargs" });
      expect(call!.requesty.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("records messages, tool calls, usage, ids and errors as CompletedCalls", async () => {
      const s = setup();
      const model = s.chat().bindTools([WEATHER_TOOL]);
      const messages = [new lc.SystemMessage("Be brief."), new lc.HumanMessage("Weather in Paris?")];
      const parentRunId = randomUUID();
      const config = { callbacks: [s.handler], metadata: { tagalong: { user: "u_1" } } };
      const asked = await lc.RunnableLambda.from((m: unknown, c: unknown) => model.invoke(m, c)).invoke(
        messages,
        {
          ...config,
          runId: parentRunId,
        },
      );
      expect(asked.tool_calls).toHaveLength(1);
      const toolCall = asked.tool_calls[0];
      const answered = await model.invoke(
        [...messages, asked, new lc.ToolMessage({ tool_call_id: toolCall.id, content: "Sunny" })],
        config,
      );
      await s.settle();

      const [first, second] = s.memory.calls;
      const wire = rec.calls();
      expect(first).toMatchObject({
        provider: "openai",
        model: MODEL,
        apiType: "chat-completions",
        source: "langchain",
        status: "success",
        input: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Weather in Paris?" },
        ],
        output: [
          {
            role: "assistant",
            content: asked.content,
            toolCalls: [{ id: toolCall.id, name: "get_weather", arguments: JSON.stringify(toolCall.args) }],
          },
        ],
        usage: {
          inputTokens: asked.usage_metadata.input_tokens,
          outputTokens: asked.usage_metadata.output_tokens,
        },
        responseId: wire[0]!.responseId,
        finishReason: "tool_calls",
        stream: false,
        metadata: { user: "u_1", trace: parentRunId },
        context: { langchain_parent_run_id: parentRunId },
      });
      expect(first!.parameters?.tools).toHaveLength(1);
      expect(first!.endTime.getTime()).toBeGreaterThanOrEqual(first!.startTime.getTime());
      expect(second!.input.slice(2)).toEqual([
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: toolCall.id, name: "get_weather", arguments: JSON.stringify(toolCall.args) }],
        },
        { role: "tool", content: "Sunny", toolCallId: toolCall.id },
      ]);
      expect(second!.output).toEqual([{ role: "assistant", content: answered.content }]);
      expect(second!.responseId).toBe(wire[1]!.responseId);
      expect(second!.context?.langchain_parent_run_id).toBeUndefined();

      rec.fail({ path: "/v1/chat/completions", status: 500, times: 1 });
      const failed = await model.invoke("again", config).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(Error);
      await s.settle();
      expect(s.memory.calls[2]).toMatchObject({
        status: "error",
        error: { message: (failed as Error).message },
        output: [],
        metadata: { user: "u_1" },
      });
    });

    it("a refused run's recorded error has the request's key and headers scrubbed, on invoke and stream", async () => {
      const s = setup();
      const key = "local-7f3a9c";
      const model = s.chat({
        apiKey: key,
        configuration: { baseURL: rec.openaiBaseURL, defaultHeaders: { "x-portkey-api-key": "gw-5e1d2b" } },
      });
      const message = `Incorrect API key provided: ${key}; gateway key gw-5e1d2b`;
      rec.fail({ path: "/v1/chat/completions", status: 401, times: 2, body: { error: { message } } });
      const config = { callbacks: [s.handler] };
      await expect(model.invoke("hi", config)).rejects.toThrow(key);
      await expect(
        (async () => {
          for await (const _ of await model.stream("hi", config));
        })(),
      ).rejects.toThrow(key);
      await s.settle();
      expect(s.memory.calls.map((c) => c.error?.message)).toEqual([
        expect.stringContaining("Incorrect API key provided: [redacted]; gateway key [redacted]"),
        expect.stringContaining("Incorrect API key provided: [redacted]; gateway key [redacted]"),
      ]);
      for (const call of s.memory.calls) {
        expect(call.error?.message).not.toContain(key);
        expect(call.error?.message).not.toContain("gw-5e1d2b");
      }
    });

    it("a background handler behind a slow one: each run ends when its request did, not when the queue reached it", async () => {
      const s = setup({ awaitHandlers: false });
      const slow = {
        name: "slow",
        awaitHandlers: false,
        handleLLMEnd: () => new Promise((resolve) => setTimeout(resolve, 300)),
      };
      const ended: number[] = [];
      for (const stream of [false, true]) {
        const model = s.chat();
        const config = { callbacks: [slow, s.handler], metadata: { tagalong: { user: "u_1" } } };
        if (stream) await drain(await model.stream("slow queue", config));
        else await model.invoke("slow queue", config);
        ended.push(Date.now());
      }
      await s.settle();
      expect(s.memory.calls.map((c) => c.stream)).toEqual([false, true]);
      s.memory.calls.forEach((call, i) => {
        expect(call.endTime.getTime()).toBeGreaterThanOrEqual(call.startTime.getTime());
        expect(call.endTime.getTime()).toBeLessThanOrEqual(ended[i]!);
      });
      expect(rec.calls()).toHaveLength(2);
    });

    it("never throws into the chain: a failing destination is reported to onError", async () => {
      const s = setup({ recordThrows: true });
      const message = await s.chat({ callbacks: [s.handler] }).invoke("hi");
      expect(message.content).toBe(replyText("hi"));
      await s.settle();
      expect(s.errors).toHaveLength(1);
      expect(String(s.errors[0])).toContain("destination bug");
    });

    it("a run whose request did not reach withTagalong's fetch is recorded, and that is said once", async () => {
      const s = setup();
      const model = s.chat({ callbacks: [s.handler] });
      const config = { metadata: { tagalong: { user: "u_1" } } };
      await model.invoke("through our fetch", config);
      // The model's OpenAI client (made on the first call) fetching another way from now on.
      const client = (model.completions ?? model).client;
      expect(typeof client.fetch).toBe("function");
      client.fetch = (url: unknown, init: unknown) => fetch(url as string, init as RequestInit);
      await model.invoke("around it", config);
      await drain(await model.stream("around it, streamed", config));
      await s.settle();
      expect(rec.calls().map((c) => c.portkey.metadata !== undefined)).toEqual([true, false, false]);
      expect(s.memory.calls).toHaveLength(3);
      expect(s.logger.warnings).toHaveLength(1);
      expect(s.logger.warnings[0]).toContain("did not reach withTagalong's fetch");
      expect(s.logger.warnings[0]).toContain("portkey, requesty");
      expect(s.errors).toEqual([]);
    });

    it("the handler alone, without withTagalong: records the run, warns once that nothing went in flight", async () => {
      const s = setup();
      const plain = s.plainChat();
      await plain.invoke("one", { metadata: { tagalong: { user: "u_1" } } });
      await plain.invoke("two", { metadata: { tagalong: { user: 5 } } });
      await s.settle();
      expect(rec.calls().map((c) => c.portkey.rawHeader)).toEqual([undefined, undefined]);
      // The second run is recorded without the user the model refuses, and that is said once.
      expect(s.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1", undefined]);
      expect(s.logger.warnings).toHaveLength(2);
      expect(s.logger.warnings[0]).toContain("withTagalong");
      expect(s.logger.warnings[1]).toBe(
        "left out of every destination: metadata.user: must be a string, got 5 (said once per field and rule)",
      );
      expect(s.errors).toEqual([]);
    });

    it("two handlers of one Tagalong on a run, without withTagalong: recorded once; another Tagalong's handler records it too", async () => {
      const s = setup();
      const plain = s.plainChat();
      const config = {
        callbacks: [new TagalongCallbackHandler(s.tagalong)],
        metadata: { tagalong: { user: "u_1" } },
      };
      await plain.invoke("one", config);
      await drain(await plain.stream("two", config));
      await s.settle();
      expect(s.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1", "u_1"]);
      // A handler of another Tagalong is another set of destinations: it records the run as well.
      const other = setup();
      await plain.invoke("three", { ...config, callbacks: [...config.callbacks, other.handler] });
      await s.settle();
      await other.settle();
      expect(s.memory.calls).toHaveLength(3);
      expect(other.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1"]);
      expect(s.errors).toEqual([]);
    });

    it.each([true, false])(
      "with withTagalong, a handler of another Tagalong on the run records it too, and says its metadata stayed off the wire (its handler awaited: %s)",
      async (awaitHandlers) => {
        const s = setup();
        const other = setup({ awaitHandlers });
        const config = { callbacks: [s.handler, other.handler], metadata: { tagalong: { user: "u_1" } } };
        await s.chat().invoke("one", config);
        await drain(await s.chat().stream("two", config));
        await s.llm().generate(["three", "four"], config);
        await s.settle();
        await other.settle();
        expect(rec.calls().map((c) => c.portkey.metadata)).toEqual([
          { _user: "u_1" },
          { _user: "u_1" },
          { _user: "u_1" },
        ]);
        expect(s.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1", "u_1", "u_1", "u_1"]);
        expect(other.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1", "u_1", "u_1", "u_1"]);
        // One Tagalong's metadata rides on a request: the other's in-flight destinations did not get it.
        // The model was made with withTagalong: the warning says what happened instead.
        expect(other.logger.warnings).toEqual([
          expect.stringMatching(
            /^TagalongCallbackHandler saw a model run whose request withTagalong made with another Tagalong's metadata: its own did not reach portkey, requesty\./,
          ),
        ]);
        expect(s.logger.warnings).toEqual([]);
        expect([...s.errors, ...other.errors]).toEqual([]);
      },
    );

    it.each([true, false])(
      "the legacy OpenAI LLM's generate of several prompts (one request): each run recorded once, with the trace and metadata that request carried (awaited handler: %s)",
      async (awaitHandlers) => {
        // Alone, and beside a second handler of its Tagalong on the model (awaited, or in the background).
        for (const modelHandler of [undefined, true, false]) {
          const s = setup({ awaitHandlers });
          const callbacks =
            modelHandler === undefined
              ? undefined
              : [new TagalongCallbackHandler(s.tagalong, { awaitHandlers: modelHandler })];
          const config = { callbacks: [s.handler], metadata: { tagalong: { user: "u_1" } } };
          await s.llm({ callbacks }).generate(["one", "two"], config);
          await s.settle();
          const calls = rec.calls();
          expect(calls.map((c) => [c.body?.prompt, c.portkey.metadata])).toEqual([
            [["one", "two"], { _user: "u_1" }],
          ]);
          const trace = calls[0]!.portkey.traceId;
          expect(trace).toEqual(expect.any(String));
          const recorded = s.memory.calls.map((c) => [
            c.input[0]?.content,
            c.status,
            c.output[0]?.content,
            c.metadata.trace,
            c.metadata.user,
            c.apiType,
            c.provider,
          ]);
          // The provider is the model's integration (LangChain gives an LLM's run no `ls_provider`).
          expect(recorded.sort()).toEqual([
            ["one", "success", replyText("one"), trace, "u_1", "completions", "openai"],
            ["two", "success", replyText("two"), trace, "u_1", "completions", "openai"],
          ]);
          expect(s.logger.warnings).toEqual([]);
          expect(s.errors).toEqual([]);
          await rec.reset();
        }
        // Refused before the request: the caller has the error, which is not reported again for run two.
        const strict = setup({ awaitHandlers, onInvalid: "throw" });
        const invalid = { callbacks: [strict.handler], metadata: { tagalong: { user: 42 } } };
        await expect(strict.llm().generate(["one", "two"], invalid)).rejects.toThrow(InvalidMetadataError);
        await strict.settle();
        expect(rec.calls()).toHaveLength(0);
        expect(strict.logger.warnings).toEqual([]);
        expect(strict.errors).toEqual([]);
      },
    );

    it("a numeric thread key in the run's metadata (a session_id of 1234) is the session, not dropped", async () => {
      const s = setup();
      await s.chat().invoke("one", { callbacks: [s.handler], metadata: { session_id: 1234 } });
      await s.settle();
      expect(rec.calls().map((c) => [c.portkey.metadata, c.requesty?.extra])).toEqual([
        [{ session_id: "1234" }, { session_id: "1234" }],
      ]);
      expect(s.memory.calls.map((c) => c.metadata.session)).toEqual(["1234"]);
      expect(s.logger.warnings).toEqual([]);
      expect(s.errors).toEqual([]);
    });

    it("a run LangChain answers from its cache sent no request: recorded with no API and no tokens, no warning that withTagalong was missing, not recorded as streamed", async () => {
      const s = setup();
      const model = s.chat({ cache: true, callbacks: [s.handler] });
      const config = { metadata: { tagalong: { user: "u_1" } } };
      await model.invoke("hi", config);
      await model.invoke("hi", config);
      await s.settle();
      expect(rec.calls()).toHaveLength(1);
      expect(s.memory.calls.map((c) => [c.metadata.user, c.stream])).toEqual([
        ["u_1", false],
        ["u_1", false],
      ]);
      // The legacy LLM too. A hit is recorded as the run it is: no request (no API), no tokens billed
      // (LangChain gives a cached chat answer a usage of 0, a cached LLM answer none), so a destination
      // that prices calls (PromptLayer) does not count the first call's tokens twice.
      const llm = s.llm({ cache: true, callbacks: [s.handler] });
      await llm.invoke("hi", config);
      await llm.invoke("hi", config);
      await s.settle();
      expect(rec.calls()).toHaveLength(2);
      expect(s.memory.calls.map((c) => [c.apiType, c.usage])).toEqual([
        ["chat-completions", { inputTokens: 1, outputTokens: 2 }],
        [undefined, { inputTokens: 0, outputTokens: 0 }],
        ["completions", { inputTokens: 1, outputTokens: 2 }],
        [undefined, undefined],
      ]);
      expect(s.logger.warnings).toEqual([]);
      expect(s.errors).toEqual([]);
    });

    // LangChain 1.x streams a run's chat-model events, for a handler that prefers them (LangGraph's v3
    // stream protocol adds one), without handing the model its run manager.
    it.skipIf(typeof lc.ChatOpenAI.prototype._streamChatModelEvents !== "function")(
      "a run streamed as chat-model events for a handler that prefers them: its metadata and trace on the wire",
      async () => {
        // A background handler (awaitHandlers: false) finds the run too: LangChain's queue runs its
        // start before the model's request when the queue is not behind.
        for (const [bound, awaitHandlers] of [
          [false, true],
          [true, true],
          [false, false],
        ]) {
          const s = setup({ bound, awaitHandlers });
          const callbacks = bound ? [] : [s.handler];
          const events = { name: "events", lc_prefer_chat_model_stream_events: true };
          const metadata = { tagalong: { user: "u_1" } };
          await s.chat().invoke("events", { callbacks: [...callbacks, events], metadata });
          await drain(
            await graphOf(s.chat()).stream(
              { question: "graph v3" },
              {
                callbacks,
                metadata,
                configurable: { thread_id: "t-1" },
                streamMode: "messages",
                version: "v3",
              },
            ),
          );
          await s.settle();
          const calls = rec.calls();
          expect(calls.map((c) => [c.portkey.metadata?._user, c.stream])).toEqual([
            ["u_1", true],
            ["u_1", true],
          ]);
          expect(calls.map((c) => c.portkey.traceId)).toEqual(s.memory.calls.map((c) => c.metadata.trace));
          expect(s.logger.warnings).toEqual([]);
          expect(s.errors).toEqual([]);
          await rec.reset();
        }
      },
    );

    it.skipIf(typeof lc.ChatOpenAI.prototype._streamChatModelEvents !== "function")(
      "a run streamed as chat-model events, a background handler behind a slow one: its metadata and trace on the wire",
      async () => {
        const s = setup({ awaitHandlers: false });
        let release = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        // Its start holds LangChain's queue back: the model's request goes out before our handler is handed the run's.
        const slow = { name: "slow", awaitHandlers: false, handleChatModelStart: () => held };
        const events = { name: "events", lc_prefer_chat_model_stream_events: true };
        const metadata = { tagalong: { user: "u_1" } };
        const runId = randomUUID();
        await s.chat().invoke("events", { callbacks: [slow, s.handler, events], metadata });
        await drain(
          await graphOf(s.chat()).stream(
            { question: "graph v3" },
            {
              runId,
              callbacks: [slow, s.handler],
              metadata,
              configurable: { thread_id: "t-1" },
              streamMode: "messages",
              version: "v3",
            },
          ),
        );
        expect(s.memory.calls).toEqual([]);
        release();
        await s.settle();
        const calls = rec.calls();
        expect(calls.map((c) => [c.portkey.metadata?._user, c.portkey.traceId])).toEqual([
          ["u_1", s.memory.calls[0]!.context!.langchain_run_id],
          ["u_1", runId],
        ]);
        expect(s.memory.calls.map((c) => c.metadata.trace)).toEqual(calls.map((c) => c.portkey.traceId));
        expect(s.logger.warnings).toEqual([]);
        expect(s.errors).toEqual([]);
      },
    );

    it.skipIf(typeof lc.ChatOpenAI.prototype._streamChatModelEvents !== "function")(
      "a run streamed as chat-model events finds a handler from another copy of this package (an ESM and a CJS build side by side)",
      async () => {
        const s = setup();
        vi.resetModules();
        const other = (await import("../src/index")) as typeof import("../src/index");
        expect(other.TagalongCallbackHandler).not.toBe(TagalongCallbackHandler);
        const handler = new other.TagalongCallbackHandler(s.tagalong);
        const events = { name: "events", lc_prefer_chat_model_stream_events: true };
        const metadata = { tagalong: { user: "u_1" } };
        await s.chat().invoke("events", { callbacks: [handler, events], metadata });
        await s.settle();
        expect(rec.calls().map((c) => [c.portkey.metadata?._user, c.stream])).toEqual([["u_1", true]]);
        expect(s.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1"]);
        expect(s.logger.warnings).toEqual([]);
        expect(s.errors).toEqual([]);
      },
    );

    it.each([true, false])(
      "a stream its reader leaves early or aborts midway (LangChain ends no run) is recorded once, as aborted (awaited handler: %s)",
      async (awaitHandlers) => {
        const s = setup({ awaitHandlers });
        const model = s.chat();
        const config = { callbacks: [s.handler], metadata: { tagalong: { user: "u_1" } } };
        for await (const _ of await model.stream("tell me a long story", config)) break;
        for await (const _ of await model.bindTools([WEATHER_TOOL]).stream("and another one", config)) break;
        // Aborted between two parts: LangChain stops reading the model's stream. A handler alone sees it too.
        for (const [aborting, input] of [
          [model, "stopped midway"],
          [s.plainChat(), "stopped midway, handler alone"],
        ]) {
          const stop = new AbortController();
          const aborted = aborting
            .stream(input, { ...config, signal: stop.signal })
            .then(async (stream: any) => {
              let parts = 0;
              for await (const _ of stream) if (++parts === 2) stop.abort();
            });
          await expect(aborted).rejects.toThrow(/abort/i);
        }
        await drain(await model.stream("read to the end", config));
        await s.settle();
        expect(rec.calls()).toHaveLength(5);
        const recorded = s.memory.calls.map((c) => [
          c.input.at(-1)?.content,
          c.status,
          c.stream,
          c.metadata.user,
        ]);
        expect(recorded).toEqual([
          ["tell me a long story", "aborted", true, "u_1"],
          ["and another one", "aborted", true, "u_1"],
          ["stopped midway", "aborted", true, "u_1"],
          ["stopped midway, handler alone", "aborted", true, "u_1"],
          ["read to the end", "success", true, "u_1"],
        ]);
        expect(s.memory.calls.map((c) => c.error?.type)).toEqual([
          undefined,
          undefined,
          "AbortError",
          "AbortError",
          undefined,
        ]);
        // The handler alone: its metadata did not reach the in-flight destinations.
        expect(s.logger.warnings).toEqual([expect.stringContaining("not made with withTagalong")]);
        expect(s.errors).toEqual([]);
      },
    );

    it.each([
      ["awaited handler alone", "plain", true],
      ["withTagalong and an awaited handler", "handler", true],
      ["withTagalong(ChatOpenAI, tagalong)", "bound", true],
      ["background handler alone", "plain", false],
      ["withTagalong and a background handler", "handler", false],
    ] as const)(
      "a run aborted through its signal from another async context (%s): recorded once, as aborted, with its own metadata, in its caller's context; nothing left behind",
      async (_name, kind, awaitHandlers) => {
        // A recorder that reads the caller's context (as openTelemetry() reads the active span).
        const where = new AsyncLocalStorage<string>();
        const seen: CompletedCall[] = [];
        const contexts: (string | undefined)[] = [];
        const inContext: Destination = {
          name: "in-context",
          recordsInContext: true,
          record: (call) => {
            seen.push(call);
            contexts.push(where.getStore());
          },
        };
        const s = setup({ awaitHandlers, bound: kind === "bound", destinations: [portkey(), inContext] });
        const model = kind === "plain" ? s.plainChat() : s.chat();
        const callbacks = kind === "handler" ? [s.handler] : undefined;
        const handlers = kind === "bound" ? model.callbacks : [s.handler];
        const config = { callbacks, metadata: { tagalong: { session: "s_run" } } };
        // The abort comes from elsewhere (another request's scope, a shutdown): a promise reaction
        // made there runs there.
        const aborter = (stop: AbortController) => {
          let release = () => {};
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          const aborted = where.run("aborter", () =>
            withMetadata({ user: "u_aborter", session: "s_aborter" }, () => gate.then(() => stop.abort())),
          );
          return { release, aborted };
        };
        const inCaller = (input: string, fn: () => Promise<unknown>) =>
          where.run(input, () => withMetadata({ user: `u_${input}` }, fn));
        const stops: AbortController[] = [];
        // Aborted while its request waits.
        const waiting = new AbortController();
        stops.push(waiting);
        const fromWaiting = aborter(waiting);
        const slow = rec.fail({ kind: "openai", delayMs: 1000 });
        await inCaller("waits", async () => {
          const invoked = model.invoke("waits", { ...config, signal: waiting.signal });
          // Aborted once the request reached the server.
          await vi.waitFor(() => expect(rec.calls()).toHaveLength(1), { interval: 5 });
          fromWaiting.release();
          await expect(invoked).rejects.toThrow(/abort/i);
        });
        slow.clear();
        // A model's stream and a chain's, aborted between two parts and left with a `break`.
        const chain = lc.ChatPromptTemplate.fromTemplate("{input}").pipe(model);
        for (const [input, runnable, abort] of [
          ["model_aborted", model, true],
          ["chain_aborted", chain, true],
          ["model_left", model, false],
          ["chain_left", chain, false],
        ] as const) {
          const stop = new AbortController();
          stops.push(stop);
          const from = aborter(stop);
          await inCaller(input, async () => {
            const streamed = (async () => {
              let parts = 0;
              for await (const _ of await runnable.stream(runnable === chain ? { input } : input, {
                ...config,
                signal: stop.signal,
              })) {
                if (++parts < 2) continue;
                if (!abort) break;
                from.release();
                await from.aborted;
              }
            })();
            if (abort) await expect(streamed).rejects.toThrow(/abort/i);
            else await streamed;
          });
        }
        await s.settle();
        const inputs = ["waits", "model_aborted", "chain_aborted", "model_left", "chain_left"];
        expect(rec.calls().map((c) => lastUserText(c))).toEqual(inputs);
        // A handler alone is never told of a stream left with a `break` (LangChain ends no run).
        const recorded = kind === "plain" ? inputs.slice(0, 3) : inputs;
        expect(
          seen.map((c) => [c.input.at(-1)?.content, c.status, c.metadata.user, c.metadata.session]),
        ).toEqual(recorded.map((input) => [input, "aborted", `u_${input}`, "s_run"]));
        expect(contexts).toEqual(recorded);
        // No model run is left in the handlers' bookkeeping, and none listens to its signal; but a
        // handler alone keeps the runs left with a `break` (until 10,000 newer: see the next tests).
        const left = kind === "plain" ? inputs.slice(3) : [];
        for (const handler of handlers) {
          const runs = [...(handler as any).runs.values()].filter((run: any) => run.model !== undefined);
          expect(runs.map((run: any) => run.model.input.at(-1).content)).toEqual(left);
        }
        // The OpenAI SDK (before openai 7) leaves a listener of its own for each request: not counted.
        const ours = (signal: AbortSignal) =>
          getEventListeners(signal, "abort").filter((l) => !/controller\.abort\(\)/.test(String(l))).length;
        expect(stops.map((stop) => ours(stop.signal))).toEqual(
          inputs.map((input) => (left.includes(input) ? 1 : 0)),
        );
        expect(s.errors).toEqual([]);
      },
    );

    it("a background handler alone waits up to 2 s for LangChain's end of an aborted run: recorded once by its end if it comes, else as aborted after the wait", async () => {
      const s = setup({ awaitHandlers: false });
      const config = { callbacks: [s.handler], metadata: { tagalong: { user: "u_1" } } };
      const recorded = () => s.memory.calls.map((c) => [c.input.at(-1)?.content, c.status, c.error?.type]);
      // Aborted while its request waits: LangChain ends the run with the abort's error.
      const slow = rec.fail({ kind: "openai", delayMs: 1000 });
      const stop = new AbortController();
      const invoked = s.plainChat().invoke("ended by LangChain", { ...config, signal: stop.signal });
      setTimeout(() => stop.abort(), 50);
      await expect(invoked).rejects.toThrow(/abort/i);
      slow.clear();
      await s.settle();
      expect(recorded()).toEqual([["ended by LangChain", "aborted", "AbortError"]]);
      // Its signal aborted (a request-scoped cleanup) after it succeeded, its end held in LangChain's
      // queue by a slow handler: its own 2 s wait, whatever other aborted runs came before.
      await new Promise((resolve) => setTimeout(resolve, 1700));
      const slowEnd = {
        name: "slow",
        awaitHandlers: false,
        handleLLMEnd: () => new Promise((r) => setTimeout(r, 600)),
      };
      const cleanup = new AbortController();
      await s
        .plainChat()
        .invoke("cleaned up", { ...config, callbacks: [slowEnd, s.handler], signal: cleanup.signal });
      cleanup.abort();
      await s.settle();
      expect(recorded()).toEqual([
        ["ended by LangChain", "aborted", "AbortError"],
        ["cleaned up", "success", undefined],
      ]);
      // Aborted between two parts of its stream: LangChain ends no run, and no other run follows.
      const midway = new AbortController();
      const streamed = s
        .plainChat()
        .stream("never ended", { ...config, signal: midway.signal })
        .then(async (stream: AsyncIterable<unknown>) => {
          let parts = 0;
          for await (const _ of stream) if (++parts === 2) midway.abort();
        });
      await expect(streamed).rejects.toThrow(/abort/i);
      const abortedAt = Date.now();
      await s.settle();
      // Where LangChain ends no run for it (Node 20 and 22; @langchain/core 0.3 on Node 24 too), its end
      // may still be in LangChain's queue: not recorded yet, and recorded after its own 2 s wait. (With
      // @langchain/core 1.x on Node 24 the stream's abort reaches LangChain as an error and it ends the
      // run itself: recorded by that end, once, checked below.)
      if (recorded().length === 2) {
        expect(recorded()).toHaveLength(2);
        await vi.waitFor(() => expect(recorded()).toHaveLength(3), { timeout: 3000, interval: 50 });
        expect(Date.now() - abortedAt).toBeGreaterThanOrEqual(1900);
      }
      await s.settle();
      expect(recorded()).toEqual([
        ["ended by LangChain", "aborted", "AbortError"],
        ["cleaned up", "success", undefined],
        ["never ended", "aborted", "AbortError"],
      ]);
      expect(s.memory.calls[2]!.metadata.user).toBe("u_1");
      expect(s.errors).toEqual([]);
    });

    it("runs LangChain never ends are dropped, the oldest first, once 10,000 newer are held: an evicted run's abort listener leaves the long-lived signal", async () => {
      const s = setup();
      // One signal for every call (an app-wide shutdown signal).
      const shutdown = new AbortController();
      const signal = shutdown.signal;
      const config = { callbacks: [s.handler], signal };
      // The OpenAI SDK (before openai 7) leaves a listener of its own for each request: counted apart.
      const ours = () =>
        getEventListeners(signal, "abort").filter(
          (listener) => !/controller\.abort\(\)/.test(String(listener)),
        ).length;
      // A model stream left early without withTagalong: LangChain ends no run, and tells no handler.
      for (const input of ["one", "two", "three"]) {
        for await (const _ of await s.plainChat().stream(input, config)) break;
      }
      expect(ours()).toBe(3);
      // Chain streams left early: each a run LangChain never ends either.
      const parts = lc.RunnableLambda.from(async function* (input: string) {
        yield input;
        yield input;
      });
      const leaveEarly = async (n: number) => {
        for (let i = 0; i < n; i++) for await (const _ of await parts.stream("part", config)) break;
      };
      await leaveEarly(10_000 - 3);
      expect(ours()).toBe(3);
      await leaveEarly(2);
      expect(ours()).toBe(1);
      await leaveEarly(1);
      expect(ours()).toBe(0);
      // Forgotten: the signal's abort records none of them, and fails nothing.
      shutdown.abort();
      await s.settle();
      expect(rec.calls()).toHaveLength(3);
      expect(s.memory.calls).toEqual([]);
      expect(s.errors).toEqual([]);
    }, 60_000);

    it("a handler alone records a streamed run as streamed: .stream(), a streaming model, chat-model stream events", async () => {
      const s = setup();
      const config = { metadata: { tagalong: { user: "u_1" } } };
      await s.plainChat().invoke("plain", config);
      await drain(await s.plainChat().stream("parts", config));
      const streaming = new lc.ChatOpenAI({
        model: MODEL,
        apiKey: API_KEY,
        streaming: true,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [s.handler],
      });
      await streaming.invoke("a streaming model", config);
      if (typeof lc.ChatOpenAI.prototype._streamChatModelEvents === "function") {
        // LangChain 1.x: a handler that prefers chat-model stream events makes invoke stream through
        // them, and LangChain reports no token to any handler on that path.
        const events = { name: "events", lc_prefer_chat_model_stream_events: true };
        await s.plainChat().invoke("events", { ...config, callbacks: [events] });
      }
      await s.settle();
      const onTheWire = rec.calls().map((c) => c.stream);
      expect(onTheWire.slice(0, 3)).toEqual([false, true, true]);
      expect(s.memory.calls.map((c) => c.stream)).toEqual(onTheWire);
      expect(s.errors).toEqual([]);
    });

    it("a background handler whose queue reaches a run after another handler of its Tagalong ended it does not record it again", async () => {
      const s = setup();
      // LangChain runs background callbacks one at a time: a slow one holds back the next handler's.
      const slow = {
        name: "slow",
        awaitHandlers: false,
        handleChatModelStart: () => new Promise((resolve) => setTimeout(resolve, 200)),
      };
      const background = new TagalongCallbackHandler(s.tagalong, { awaitHandlers: false });
      const config = { callbacks: [slow, background], metadata: { tagalong: { user: "u_1" } } };
      // The model's own handler (awaited) sees the run begin and end before the background one sees it begin.
      await s.plainChat().invoke("one", config);
      await drain(await s.plainChat().stream("two", config));
      await s.settle();
      expect(s.memory.calls.map((c) => c.stream)).toEqual([false, true]);
      expect(s.errors).toEqual([]);
    });

    it("withTagalong of a class made with another Tagalong throws, naming the fix; with its own Tagalong it is that class", async () => {
      const a = setup();
      const b = setup();
      const A = withTagalong(lc.ChatOpenAI, a.tagalong);
      expect(withTagalong(A, a.tagalong)).toBe(A);
      expect(withTagalong(A)).toBe(A);
      class Mine extends A {}
      for (const Base of [A, Mine]) {
        expect(() => withTagalong(Base, b.tagalong)).toThrow(TagalongError);
        expect(() => withTagalong(Base, b.tagalong)).toThrow(
          /already made with another Tagalong.*Give one Tagalong every destination.*TagalongCallbackHandler\(secondTagalong\)/,
        );
      }
      // A class made without a Tagalong can be given one.
      const Later = withTagalong(withTagalong(lc.ChatOpenAI), b.tagalong);
      await new Later({
        model: MODEL,
        apiKey: API_KEY,
        configuration: { baseURL: rec.openaiBaseURL },
      }).invoke("hi", {
        metadata: { tagalong: { user: "u_1" } },
      });
      await b.settle();
      expect(rec.calls().map((c) => c.portkey.metadata)).toEqual([{ _user: "u_1" }]);
      expect(b.memory.calls.map((c) => c.metadata.user)).toEqual(["u_1"]);
      expect([...a.logger.warnings, ...b.logger.warnings, ...a.errors, ...b.errors]).toEqual([]);
    });

    it("withTagalong keeps the class: instanceof, name, idempotent", () => {
      const s = setup();
      const model = s.chat();
      expect(model).toBeInstanceOf(lc.ChatOpenAI);
      expect(ChatModel.name).toBe(lc.ChatOpenAI.name);
      expect(withTagalong(ChatModel)).toBe(ChatModel);
      expect(model.bindTools([WEATHER_TOOL]).constructor).not.toBe(undefined);
    });

    it("PromptLayer end to end: each run logged with its metadata and LangChain run ids", async () => {
      const tagalong = createTagalong({
        destinations: [portkey(), promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
      });
      const handler = new TagalongCallbackHandler(tagalong);
      const runId = randomUUID();
      const chain = lc.ChatPromptTemplate.fromMessages([["human", "{q}"]]).pipe(
        new ChatModel({ model: MODEL, apiKey: API_KEY, configuration: { baseURL: rec.openaiBaseURL } }),
      );
      await chain.invoke(
        { q: "hello" },
        { runId, callbacks: [handler], metadata: { tagalong: { user: "u_9", prompt: { name: "greet" } } } },
      );
      await lc.awaitAllCallbacks();
      await tagalong.flush();
      const logs = rec.promptLayer.logs();
      expect(logs).toHaveLength(1);
      expect(logs[0]!.metadata).toMatchObject({
        user_id: "u_9",
        trace_id: runId,
        langchain_parent_run_id: runId,
        langchain_run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(logs[0]!.prompt).toMatchObject({ prompt_name: "greet" });
      expect(rec.calls()[0]!.portkey.metadata).toEqual({ _user: "u_9", _prompt: "greet" });
    });

    it("PromptLayer end to end: a request past the model's timeout or the signal's is a failed call (PROVIDER_TIMEOUT); the caller's abort stays a warning", async () => {
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
      });
      const model = new ChatModel({
        model: MODEL,
        apiKey: API_KEY,
        timeout: 100,
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [new TagalongCallbackHandler(tagalong)],
      });
      const slow = rec.fail({ kind: "openai", delayMs: 1000 });
      await expect(model.invoke("hello")).rejects.toThrow(/timed out/i);
      const controller = new AbortController();
      const stopped = model.invoke("bye", { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await expect(stopped).rejects.toThrow(/abort/i);
      // The caller's own deadline (AbortSignal.timeout) is a timeout too, through withTagalong or the
      // handler alone, invoked or streamed.
      await expect(model.invoke("late", { signal: AbortSignal.timeout(50) })).rejects.toThrow();
      const plain = new lc.ChatOpenAI({
        model: MODEL,
        apiKey: API_KEY,
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
        callbacks: [new TagalongCallbackHandler(tagalong)],
      });
      await expect(plain.invoke("late", { signal: AbortSignal.timeout(50) })).rejects.toThrow();
      await expect(
        plain
          .stream("late", { signal: AbortSignal.timeout(50) })
          .then(async (stream: AsyncIterable<unknown>) => {
            for await (const _ of stream);
          }),
      ).rejects.toThrow();
      slow.clear();
      await lc.awaitAllCallbacks();
      await tagalong.flush();
      const logs = rec.promptLayer
        .logs()
        .map((l) => [l.body.input.messages[0].content[0].text, l.body.status, l.body.error_type]);
      expect(logs).toEqual([
        ["hello", "ERROR", "PROVIDER_TIMEOUT"],
        ["bye", "WARNING", undefined],
        ["late", "ERROR", "PROVIDER_TIMEOUT"],
        ["late", "ERROR", "PROVIDER_TIMEOUT"],
        ["late", "ERROR", "PROVIDER_TIMEOUT"],
      ]);
      await tagalong.shutdown();
    });

    it("PromptLayer end to end: a legacy OpenAI LLM run is logged in PromptLayer's completion form (as chat when the handler alone sees it)", async () => {
      const s = setup({
        destinations: [promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
      });
      await s.llm().invoke("Say hi", { callbacks: [s.handler] });
      await s.settle();
      const logs = rec.promptLayer.logs();
      expect(logs).toHaveLength(1);
      expect(logs[0]!.body).toMatchObject({
        input: { type: "completion", content: [{ type: "text", text: "Say hi" }] },
        output: { type: "completion", content: [{ type: "text", text: replyText("Say hi") }] },
        function_name: "openai.completions.create",
      });
      // Seen by the handler alone, the run's API is unknown: its prompt is logged as a user message.
      const plain = new lc.OpenAI({
        model: "gpt-3.5-turbo-instruct",
        apiKey: API_KEY,
        maxRetries: 0,
        configuration: { baseURL: rec.openaiBaseURL },
      });
      await plain.invoke("Say bye", { callbacks: [s.handler] });
      await s.settle();
      expect(rec.promptLayer.logs()[1]!.body.input).toEqual({
        type: "chat",
        messages: [{ role: "user", content: [{ type: "text", text: "Say bye" }] }],
      });
      expect(s.errors).toEqual([]);
    });

    it("an extra key named like the run id the adapter records does not overwrite it, and is named once", async () => {
      const logger = collectingLogger();
      const tagalong = createTagalong({
        destinations: [promptLayer({ apiKey: "pl_test_key", baseURL: rec.promptLayerURL })],
        logger,
      });
      const handler = new TagalongCallbackHandler(tagalong);
      const model = new ChatModel({
        model: MODEL,
        apiKey: API_KEY,
        configuration: { baseURL: rec.openaiBaseURL },
      });
      const runIds = [randomUUID(), randomUUID()];
      for (const runId of runIds) {
        await model.invoke("hi", {
          runId,
          callbacks: [handler],
          metadata: { tagalong: { extra: { langchain_run_id: "mine" } } },
        });
      }
      await lc.awaitAllCallbacks();
      await tagalong.flush();
      expect(rec.promptLayer.logs().map((log) => log.metadata.langchain_run_id)).toEqual(runIds);
      expect(logger.warnings).toEqual([expect.stringContaining("metadata.extra.langchain_run_id")]);
    });

    it.each([false, true])(
      "LangChain's own run metadata (timeoutMs, configurable's mirrors) and credential-named keys never reach the wire, the same on every major (handler on the run: %s)",
      async (withHandler) => {
        const s = setup({ destinations: [portkey(), requesty()], bound: true });
        const model = s.chat();
        const callbacks = withHandler ? { callbacks: [new TagalongCallbackHandler(s.tagalong)] } : {};
        // Each call its own metadata object: LangChain writes its own keys into the one it is given.
        const tagalong = () => ({ tagalong: { user: "u_1" } });
        // @langchain/core 1.x notes the timeout in the run's metadata; 0.3 copies every primitive
        // `configurable` value there (a key too), 1.x its `model`.
        await model.invoke("timeout", { timeout: 5000, metadata: tagalong(), ...callbacks });
        await model.invoke("configurable", {
          configurable: { tier: "gold", api_key: "sk-secret-123", model: MODEL },
          metadata: tagalong(),
          ...callbacks,
        });
        // Named like a credential, even written into the metadata: never a label.
        await model.invoke("credentials", {
          metadata: {
            ...tagalong(),
            openai_api_key: "sk-1",
            access_token: "t",
            client_secret: "s",
            password: "p",
            Authorization: "Bearer x",
            team: "search",
          },
          ...callbacks,
        });
        const calls = rec.calls();
        expect(calls.map((c) => c.portkey.metadata)).toEqual([
          { _user: "u_1" },
          { _user: "u_1" },
          { _user: "u_1", team: "search" },
        ]);
        // The handler adds the LangChain trace.
        expect(calls.map((c) => c.requesty.trace_id !== undefined)).toEqual([
          withHandler,
          withHandler,
          withHandler,
        ]);
        expect(calls.map(({ requesty: { trace_id, ...rest } }) => rest)).toEqual([
          { user_id: "u_1" },
          { user_id: "u_1" },
          { user_id: "u_1", extra: { team: "search" } },
        ]);
        expect(JSON.stringify(calls.map((c) => c.headers))).not.toContain("sk-secret-123");
        expect(s.logger.warnings).toEqual([]);
      },
    );

    it.each([false, true])(
      "withTagalong(ChatOpenAI, a) with new TagalongCallbackHandler(b) on the run: the request carries a's metadata and defaults, b records the run (a records calls: %s)",
      async (aRecords) => {
        const aMemory = memory();
        const aLogger = collectingLogger();
        const a = createTagalong({
          destinations: aRecords ? [portkey(), requesty(), aMemory] : [portkey(), requesty()],
          logger: aLogger,
          metadata: { environment: "prod" },
        });
        const bMemory = memory();
        const bLogger = collectingLogger();
        const bTagalong = createTagalong({ destinations: [bMemory], logger: bLogger });
        const Chat = withTagalong(lc.ChatOpenAI, a);
        const model = new Chat({
          model: MODEL,
          apiKey: API_KEY,
          maxRetries: 0,
          configuration: { baseURL: rec.openaiBaseURL },
        });
        const config = {
          metadata: { tagalong: { user: "u_1" } },
          callbacks: [new TagalongCallbackHandler(bTagalong)],
        };
        await model.invoke("invoke", config);
        await drain(await model.stream("stream", config));
        await lc.awaitAllCallbacks();
        await a.flush();
        await bTagalong.flush();
        // a's trace too, when a records calls (its handler on the model follows the run).
        const body = { user_id: "u_1", extra: { environment: "prod" } };
        const expected = aRecords ? { ...body, trace_id: expect.any(String) } : body;
        expect(rec.calls().map((c) => [c.portkey.metadata, c.requesty])).toEqual([
          [{ _user: "u_1", _environment: "prod" }, expected],
          [{ _user: "u_1", _environment: "prod" }, expected],
        ]);
        expect(bMemory.calls.map((c) => [c.metadata.user, c.stream, c.status])).toEqual([
          ["u_1", false, "success"],
          ["u_1", true, "success"],
        ]);
        if (aRecords) expect(aMemory.calls.map((c) => c.metadata.environment)).toEqual(["prod", "prod"]);
        expect([...aLogger.warnings, ...bLogger.warnings]).toEqual([]);
      },
    );

    it("withTagalong(AzureChatOpenAI): bindTools, withConfig and withStructuredOutput keep the subclass and carry the metadata", async () => {
      const s = setup({ destinations: [portkey(), requesty()] });
      const Azure = withTagalong(lc.AzureChatOpenAI, s.tagalong);
      // Azure's client addresses /openai/deployments/<name>/...: the caller's own fetch (which ours
      // wraps) sends it on to the recorder's OpenAI route.
      const toRecorder = (input: any, init: any) => {
        const url = new URL(typeof input === "string" ? input : (input.url ?? String(input)));
        expect(url.pathname).toMatch(/^\/openai\/deployments\/dep\//);
        return fetch(`${rec.openaiBaseURL}/chat/completions`, init);
      };
      const model = new Azure({
        model: MODEL,
        azureOpenAIApiKey: API_KEY,
        azureOpenAIApiInstanceName: "instance",
        azureOpenAIApiDeploymentName: "dep",
        azureOpenAIApiVersion: "2024-10-21",
        maxRetries: 0,
        configuration: { fetch: toRecorder },
      });
      const config = { metadata: { tagalong: { user: "u_42" } } };
      await model.invoke("plain", config);
      const bound = model.bindTools([WEATHER_TOOL]);
      await bound.invoke("tools bound", config);
      await drain(await bound.stream("tools bound, streamed", config));
      await model.withConfig({ temperature: 0 }).invoke("with config", config);
      await model.withStructuredOutput(ANSWER_SCHEMA, { name: "Answer" }).invoke("structured", config);
      expect(model.withConfig({ temperature: 0 })).toBeInstanceOf(lc.AzureChatOpenAI);
      const calls = rec.calls();
      expect(calls.map((c) => [c.portkey.metadata, c.requesty])).toEqual(
        Array.from({ length: 5 }, () => [{ _user: "u_42" }, { user_id: "u_42" }]),
      );
      expect(calls.slice(1, 3).map((c) => c.body.tools?.length)).toEqual([1, 1]);
      expect(s.logger.warnings).toEqual([]);
    });

    it.each([true, false])(
      "a background handler behind a slow one: the caller aborting its signal once the call returned leaves the run a success (withTagalong: %s)",
      async (wrapped) => {
        const s = setup({ awaitHandlers: false });
        // Answers take a while, and a slower handler ahead of ours keeps LangChain's queue behind.
        rec.fail({ kind: "openai", delayMs: 60 });
        const slow = {
          name: "slow",
          awaitHandlers: false,
          handleChatModelStart: () => new Promise((resolve) => setTimeout(resolve, 30)),
          handleLLMEnd: () => new Promise((resolve) => setTimeout(resolve, 30)),
        };
        const model = wrapped ? s.chat() : s.plainChat();
        for (const stream of [false, true, false, true]) {
          const controller = new AbortController();
          const config = {
            signal: controller.signal,
            callbacks: [slow, s.handler],
            metadata: { tagalong: { user: "u_1" } },
          };
          if (stream) await drain(await model.stream("hi", config));
          else await model.invoke("hi", config);
          controller.abort(); // a request-scoped cleanup, once the answer is in
        }
        await s.settle();
        expect(rec.calls()).toHaveLength(4);
        expect(s.memory.calls.map((c) => [c.status, c.stream, c.output[0]?.content])).toEqual(
          [false, true, false, true].map((stream) => ["success", stream, replyText("hi")]),
        );
        expect(s.errors).toEqual([]);
      },
    );

    it("with onInvalid throw, the run's tags too long together with tagalong.tags: the run's tags are left out first, the call goes out", async () => {
      const s = setup({ onInvalid: "throw" });
      const model = s.chat({ callbacks: [s.handler] });
      const runTags = Array.from({ length: 10 }, (_, i) => `tag-${i}-${"x".repeat(20)}`);
      await model.invoke("hi", { metadata: { tagalong: { user: "u_1", tags: ["vip"] } }, tags: runTags });
      const [call] = rec.calls();
      // Portkey joins the tags in 128 characters at most: the last run tags are left out of its form.
      const sent = call!.portkey.metadata!.tags!.split(",");
      expect(sent).toEqual([...runTags.slice(0, 4), "vip"]);
      // Requesty has no such limit.
      expect(call!.requesty.tags).toEqual([...runTags, "vip"]);
      expect(s.logger.warnings).toEqual(
        runTags
          .slice(4)
          .reverse()
          .map((_, i) =>
            expect.stringMatching(
              new RegExp(
                `^left out of portkey's form \\(implied by the adapter\\): metadata\\.tags\\[${9 - i}\\]: left out to keep the tags within the rule`,
              ),
            ),
          ),
      );
      // The user's own tags alone breaking the rule are still refused.
      const long = Array.from({ length: 10 }, (_, i) => `own-${i}-${"x".repeat(20)}`);
      await expect(
        model.invoke("hi", { metadata: { tagalong: { user: "u_1", tags: long } }, tags: ["run"] }),
      ).rejects.toThrow(InvalidMetadataError);
      expect(rec.calls()).toHaveLength(1);
    });

    it.each([
      [true, true],
      [false, true],
      [false, false],
    ])(
      "another handler tracing the chain, a handler on the model alone: each model call is its own trace, not the parent's (withTagalong's own handler: %s, awaited: %s)",
      async (classHandler, awaitHandlers) => {
        const s = setup({ bound: classHandler, awaitHandlers });
        const model = classHandler ? s.chat() : s.chat({ callbacks: [s.handler] });
        const inner = lc.RunnableLambda.from(async (q: string, config: unknown) => model.invoke(q, config));
        const outer = lc.RunnableLambda.from(async (q: string, config: unknown) => {
          await inner.invoke(`${q} 1`, config);
          return inner.invoke(`${q} 2`, config);
        });
        // A tracer (LangSmith, a console handler) makes LangChain start the chain's runs; in the
        // background, this one holds back LangChain's queue (a background handler's view of the runs)
        // until the invocation returned.
        const chainRuns: string[] = [];
        let release = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        const tracer = {
          name: "tracer",
          awaitHandlers: false,
          handleChainStart: (_c: unknown, _i: unknown, runId: string) => {
            chainRuns.push(runId);
            return held;
          },
        };
        await outer.invoke("hi", { callbacks: [tracer], metadata: { tagalong: { user: "u_1" } } });
        release();
        await s.settle();
        const traces = rec.calls().map((c) => c.portkey.traceId);
        const runs = s.memory.calls.map((c) => c.context?.langchain_run_id);
        expect(traces).toEqual(runs);
        expect(s.memory.calls.map((c) => c.metadata.trace)).toEqual(runs);
        expect(new Set(traces).size).toBe(2);
        for (const trace of traces) expect(chainRuns).not.toContain(trace);
        expect(
          s.memory.calls.map((c) => chainRuns.includes(c.context?.langchain_parent_run_id ?? "")),
        ).toEqual([true, true]);
      },
    );
  });
}
