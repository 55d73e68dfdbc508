import { createTagalong, portkey, promptLayer, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

for (const pair of (Number(process.versions.node.split(".")[0]) >= 22 ? ["v0", "v1", "newest"] : ["v0", "v1"]) as ("v0" | "v1" | "newest")[]) {
  describe(`two tagalongs ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    for (const aRecords of [false, true]) {
      it(`README recipe: withTagalong(ChatOpenAI, a) + new TagalongCallbackHandler(b) on the run (a records: ${aRecords})`, async () => {
        const logA = logger();
        const logB = logger();
        const memA = memory();
        const memB = memory();
        const a = createTagalong({ destinations: aRecords ? [portkey(), requesty(), memA] : [portkey(), requesty()], logger: logA, metadata: { environment: "prod" } });
        const b = createTagalong({ destinations: [memB], logger: logB });
        const Chat = withTagalong(lc.ChatOpenAI, a);
        const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
        const config = { metadata: { tagalong: { user: "u_1" } }, callbacks: [new TagalongCallbackHandler(b)] };
        await model.invoke("invoke", config);
        await drain(await model.stream("stream", config));
        await lc.awaitAllCallbacks();
        await a.flush();
        await b.flush();
        const wire = rec.calls().map((c) => c.portkey.metadata);
        console.log(pair, aRecords, JSON.stringify(wire), "recA", memA.calls.length, "recB", memB.calls.length, "warnA", logA.warnings, "warnB", logB.warnings);
        expect(wire).toEqual([{ _user: "u_1", _environment: "prod" }, { _user: "u_1", _environment: "prod" }]);
        expect(memB.calls).toHaveLength(2);
        if (aRecords) expect(memA.calls).toHaveLength(2);
      });
    }
  });
}
