import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { logger, memory } from "./common";

const seen: Record<string, unknown> = {};
for (const pair of (Number(process.versions.node.split(".")[0]) >= 22 ? ["v0", "v1", "newest"] : ["v0", "v1"]) as ("v0" | "v1" | "newest")[]) {
  describe(`config keys ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    for (const handler of [false, true]) {
      it(`timeout and configurable in the run config (handler ${handler})`, async () => {
        const log = logger();
        const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger: log });
        const Chat = withTagalong(lc.ChatOpenAI, tagalong);
        const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
        const cb = handler ? { callbacks: [new TagalongCallbackHandler(tagalong)] } : {};
        await model.invoke("timeout", { timeout: 5000, metadata: { tagalong: { user: "u_1" } }, ...cb });
        await model.invoke("configurable", { configurable: { tier: "gold", api_key: "sk-secret-123" }, metadata: { tagalong: { user: "u_1" } }, ...cb });
        await model.invoke("configurable model", { configurable: { model: "gpt-4o-mini" }, metadata: { tagalong: { user: "u_1" } }, ...cb });
        const got = rec.calls().map((c) => c.portkey.metadata);
        console.log(pair, handler, JSON.stringify(got), log.warnings);
        seen[`${pair}-${handler}`] = got;
        // README: only the run's metadata and tags; LangChain's own keys are ignored.
        expect(got).toEqual([{ _user: "u_1" }, { _user: "u_1" }, { _user: "u_1" }]);
      });
    }
  });
}
