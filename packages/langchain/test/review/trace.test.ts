import { randomUUID } from "node:crypto";
import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { logger, memory, tracer } from "./common";

for (const pair of (Number(process.versions.node.split(".")[0]) >= 22 ? ["v0", "v1", "newest"] : ["v0", "v1"]) as ("v0" | "v1" | "newest")[]) {
  describe(`trace ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    it("handler on the model only, chain traced by another handler: trace is the root run", async () => {
      const mem = memory();
      const tagalong = createTagalong({ destinations: [portkey(), requesty(), mem], logger: logger() });
      const Chat = withTagalong(lc.ChatOpenAI, tagalong); // records calls: the class adds its handler
      const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
      const inner = lc.RunnableLambda.from(async (q: string, config: any) => model.invoke(q, config));
      const outer = lc.RunnableLambda.from(async (q: string, config: any) => {
        await inner.invoke(q + " 1", config);
        return inner.invoke(q + " 2", config);
      });
      const runId = randomUUID();
      const t = tracer();
      await outer.invoke("hi", { runId, callbacks: [t], metadata: { tagalong: { user: "u_1" } } });
      await lc.awaitAllCallbacks();
      await tagalong.flush();
      const traces = rec.calls().map((c) => c.portkey.traceId);
      console.log(pair, "root", runId, "traces", traces, "recorded", mem.calls.map((c) => [c.metadata.trace, c.context]));
      // Docs: trace = id of the root run (or, with the handler only on the model, the model run itself)
      expect(traces[0]).toBe(traces[1]);
      expect(traces[0]).toBe(runId);
    });
  });
}
