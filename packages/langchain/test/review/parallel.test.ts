import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

for (const pair of ["v0", "v1"] as const) {
  describe(`parallel ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder({ latencyMs: 5 });
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());
    for (const wrapped of [true, false]) {
      for (const awaitHandlers of [true, false]) {
        it(`wrapped=${wrapped} awaited=${awaitHandlers}: 30 parallel chains (invoke+stream), records match their runs`, async () => {
          const mem = memory();
          const tagalong = createTagalong({ destinations: [portkey(), requesty(), mem], logger: logger() });
          const Chat = wrapped ? withTagalong(lc.ChatOpenAI) : lc.ChatOpenAI;
          const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
          const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers });
          const chain = lc.ChatPromptTemplate.fromMessages([["human", "{q}"]]).pipe(model);
          await Promise.all(
            Array.from({ length: 30 }, (_, i) => {
              const config = { callbacks: [handler], metadata: { tagalong: { user: `u_${i}` } }, tags: [`t${i}`] };
              return i % 2 ? chain.invoke({ q: `q${i}` }, config) : chain.stream({ q: `q${i}` }, config).then(drain);
            }),
          );
          await lc.awaitAllCallbacks();
          await tagalong.flush();
          expect(mem.calls).toHaveLength(30);
          for (const c of mem.calls) {
            const i = Number((c.input.at(-1)!.content as string).slice(1));
            expect(c.metadata.user).toBe(`u_${i}`);
            expect(c.metadata.tags).toEqual([`t${i}`]);
            expect(c.stream).toBe(i % 2 === 0);
            expect(c.status).toBe("success");
          }
          if (wrapped) for (const w of rec.calls()) {
            const i = Number(String(w.body.messages.at(-1).content).slice(1));
            expect(w.portkey.metadata?._user).toBe(`u_${i}`);
            expect(mem.calls.find((c) => c.input.at(-1)!.content === `q${i}`)!.metadata.trace).toBe(w.portkey.traceId);
          }
          expect((handler as any).runs.size).toBe(0);
        });
      }
    }
  });
}
