import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

for (const pair of ["v0", "v1"] as const) {
  for (const recording of [false, true]) {
    describe(`paths ${pair} recording=${recording}`, () => {
      let rec: Recorder;
      let lc: Awaited<ReturnType<typeof load>>;
      beforeAll(async () => {
        rec = await createRecorder();
        lc = await load(pair);
      });
      afterEach(() => rec.reset());
      afterAll(() => rec.close());

      const ways: [string, (m: any, lc: any, q: string, c: any) => Promise<unknown>][] = [
        ["streamLog", async (m, _lc, q, c) => drain(m.streamLog(q, c))],
        ["streamEvents v1", async (m, _lc, q, c) => drain(m.streamEvents(q, { ...c, version: "v1" }))],
        ["withRetry", (m, _lc, q, c) => m.withRetry({ stopAfterAttempt: 2 }).invoke(q, c)],
        ["withFallbacks", (m, _lc, q, c) => m.withFallbacks([m]).invoke(q, c)],
        ["batch concurrency 2", (m, _lc, q, c) => m.batch([q + " a", q + " b", q + " c"], c, { maxConcurrency: 2 })],
        ["generate two", (m, lc, q, c) => m.generate([[new lc.HumanMessage(q + " a")], [new lc.HumanMessage(q + " b")]], c)],
        ["bindTools.withConfig.stream", async (m, _lc, q, c) => drain(await m.bindTools([{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }]).withConfig({ tags: ["wc"] }).stream(q, c))],
        ["withStructuredOutput jsonSchema stream", async (m, _lc, q, c) => drain(await m.withStructuredOutput({ title: "A", type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false }, { name: "A", method: "jsonSchema" }).stream(q, c))],
        ["withStructuredOutput includeRaw", (m, _lc, q, c) => m.withStructuredOutput({ title: "A", type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false }, { name: "A", includeRaw: true }).invoke(q, c)],
        ["pipe + RunnableSequence.stream", async (m, lc, q, c) => drain(await lc.RunnableLambda.from((x: string) => x).pipe(m).stream(q, c))],
      ];
      for (const [name, run] of ways) {
        it(name, async () => {
          const mem = memory();
          const log = logger();
          const errors: unknown[] = [];
          const tagalong = createTagalong({
            destinations: recording ? [portkey(), requesty(), mem] : [portkey(), requesty()],
            logger: log,
            onError: (e) => void errors.push(e),
          });
          const Chat = withTagalong(lc.ChatOpenAI, tagalong);
          const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
          await run(model, lc, `q ${name}`, { metadata: { tagalong: { user: "u_1" }, team: "t" }, tags: ["x"] });
          await lc.awaitAllCallbacks();
          await tagalong.flush();
          const calls = rec.calls();
          console.log(pair, recording, name, calls.length, calls.map((c) => JSON.stringify(c.portkey.metadata)), "recorded", mem.calls.length, mem.calls.map((c) => c.status), log.warnings, errors);
          expect(calls.length).toBeGreaterThan(0);
          for (const c of calls) {
            expect(c.portkey.metadata?._user).toBe("u_1");
            expect(c.portkey.metadata?.team).toBe("t");
            expect(c.portkey.metadata?.tags?.split(",")).toContain("x");
          }
          if (recording) expect(mem.calls.length).toBe(calls.length);
          expect(log.warnings).toEqual([]);
          expect(errors).toEqual([]);
        });
      }
    });
  }
}
