import { createTagalong, InvalidMetadataError, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

for (const pair of ["v0", "v1"] as const) {
  describe(`strict ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    const cases: [string, any][] = [
      ["run tag with a comma", { metadata: { tagalong: { user: "u_1" } }, tags: ["a,b", "ok"] }],
      ["run tag non-ascii", { metadata: { tagalong: { user: "u_1" } }, tags: ["café"] }],
      ["many long run tags + tagalong.tags", { metadata: { tagalong: { user: "u_1", tags: ["vip"] } }, tags: Array.from({ length: 10 }, (_, i) => `tag-${i}-${"x".repeat(20)}`) }],
      ["many long run tags alone (control)", { metadata: { tagalong: { user: "u_1" } }, tags: Array.from({ length: 10 }, (_, i) => `tag-${i}-${"x".repeat(20)}`) }],
      ["run session_id too long", { metadata: { tagalong: { user: "u_1" }, session_id: "s".repeat(300) } }],
      ["implied extra key over portkey key limit", { metadata: { tagalong: { user: "u_1" }, ["k".repeat(200)]: "v" } }],
      ["many implied extras", { metadata: { tagalong: { user: "u_1" }, ...Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`key${i}`, "v".repeat(100)])) } }],
      ["tagalong.extra same key as implied, implied too long", { metadata: { tagalong: { user: "u_1", extra: { team: "a" } }, team: "t".repeat(200) } }],
    ];
    for (const [name, config] of cases) {
      it(name, async () => {
        const log = logger();
        const errors: unknown[] = [];
        const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger: log, onInvalid: "throw", onError: (e) => void errors.push(e) });
        const Chat = withTagalong(lc.ChatOpenAI, tagalong);
        const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
        let thrown: unknown;
        await model.invoke("hi", config).catch((e: unknown) => (thrown = e));
        console.log(pair, name, thrown instanceof Error ? thrown.message : "no throw", JSON.stringify(rec.calls().map((c) => c.portkey.metadata)), log.warnings, rec.violations());
        expect(thrown).toBeUndefined();
        expect(rec.calls()).toHaveLength(1);
      });
    }
  });
}
