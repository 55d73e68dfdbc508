import { getEventListeners } from "node:events";
import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

const recordersOf = (t: unknown) =>
  (globalThis as any)[Symbol.for("tagalong.langchain.run-recorders.v2")].get(t)?.runs as Map<string, unknown> | undefined;

for (const pair of ["v0", "v1"] as const) {
  describe(`memory ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    const N = 20;
    const scenarios: [string, (ctx: any) => Promise<unknown>][] = [
      ["invoke", ({ model, config }) => model.invoke("hi", config)],
      ["stream", async ({ model, config }) => drain(await model.stream("hi", config))],
      ["stream break", async ({ model, config }) => { for await (const _ of await model.stream("hi", config)) break; }],
      ["chain stream break", async ({ model, config, lc }) => { for await (const _ of await lc.RunnableLambda.from((x: string) => x).pipe(model).stream("hi", config)) break; }],
      ["error invoke", async ({ model, config, rec }) => { const r = rec.fail({ times: 1 }); await model.invoke("hi", config).catch(() => {}); }],
      ["error stream", async ({ model, config, rec }) => { rec.fail({ times: 1 }); await model.stream("hi", config).then(drain).catch(() => {}); }],
      ["strict invalid", async ({ model, config }) => model.invoke("hi", { ...config, metadata: { tagalong: { user: 42 } } }).catch(() => {})],
      ["chain invoke", ({ model, config, lc }) => lc.RunnableLambda.from((x: string) => x).pipe(model).invoke("hi", config)],
      ["cached", ({ cachedModel, config }) => cachedModel.invoke("same", config)],
      ["streamEvents v2", ({ model, config }) => drain(model.streamEvents("hi", { ...config, version: "v2" }))],
    ];
    for (const where of ["class handler", "config handler", "both", "background config handler", "handler alone (plain ChatOpenAI)", "none (plain ChatOpenAI, no handler)"]) {
      for (const [name, run] of scenarios) {
        it(`${where}: ${name}`, async () => {
          const mem = memory();
          const log = logger();
          const tagalong = createTagalong({ destinations: [portkey(), requesty(), mem], logger: log, onError: () => {}, onInvalid: "throw" });
          const Chat = where.startsWith("handler alone") ? lc.ChatOpenAI : withTagalong(lc.ChatOpenAI, tagalong);
          const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers: !where.startsWith("background") });
          const fields = { model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } };
          const own = where === "class handler" || where === "both" ? {} : { callbacks: [handler] };
          const plain = where.startsWith("handler alone") || where.startsWith("none");
          const Chat2 = plain ? lc.ChatOpenAI : Chat;
          const cbs = where.startsWith("handler alone") ? { callbacks: [handler] } : {};
          const model = new Chat2({ ...fields, ...cbs });
          const cachedModel = new Chat2({ ...fields, cache: new lc.InMemoryCache(), ...cbs });
          const controller = new AbortController(); // a long-lived signal, as a server's shutdown signal
          const config: any = { metadata: { tagalong: { user: "u" } }, signal: controller.signal, ...(where === "class handler" || plain ? {} : own) };
          if (where === "both") config.callbacks = [handler];
          for (let i = 0; i < N; i++) await run({ model, cachedModel, config, lc, rec });
          await lc.awaitAllCallbacks();
          await tagalong.flush();
          await new Promise((r) => setTimeout(r, 20));
          const classHandler = (model as any).callbacks?.find?.((h: any) => h instanceof TagalongCallbackHandler);
          const sizes = {
            handlerRuns: (handler as any).runs.size,
            classHandlerRuns: classHandler ? classHandler.runs.size : undefined,
            recorders: recordersOf(tagalong)?.size,
            abortListeners: getEventListeners(controller.signal, "abort").length,
            recorded: mem.calls.length,
            statuses: [...new Set(mem.calls.map((c) => c.status))],
            wire: rec.calls().length,
          };
          console.log(pair, where, name, JSON.stringify(sizes));
          expect(sizes.handlerRuns).toBe(0);
          expect(sizes.classHandlerRuns ?? 0).toBe(0);
        });
      }
    }
  });
}
