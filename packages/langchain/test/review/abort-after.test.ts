import { createTagalong, portkey, requesty } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { TagalongCallbackHandler, withTagalong } from "../../src/index";
import { load } from "./mods";
import { drain, logger, memory } from "./common";

for (const pair of (Number(process.versions.node.split(".")[0]) >= 22 ? ["v0", "v1", "newest"] : ["v0", "v1"]) as ("v0" | "v1" | "newest")[]) {
  describe(`abort after the call ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder({ latencyMs: 80 });
      lc = await load(pair);
    });
    afterEach(() => rec.reset());
    afterAll(() => rec.close());

    for (const wrapped of [true, false]) {
      for (const how of ["invoke", "stream"]) {
        it(`background handler, wrapped=${wrapped}, ${how}: the caller aborts its signal once the call returned`, async () => {
          const mem = memory();
          const log = logger();
          const tagalong = createTagalong({ destinations: [portkey(), requesty(), mem], logger: log });
          const Chat = wrapped ? withTagalong(lc.ChatOpenAI, tagalong) : lc.ChatOpenAI;
          const model = new Chat({ model: "gpt-4o-mini", apiKey: "k", maxRetries: 0, configuration: { baseURL: rec.openaiBaseURL } });
          const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers: false });
          for (let i = 0; i < 5; i++) {
            const controller = new AbortController();
            const slow = { name: "slow", awaitHandlers: false, handleLLMEnd: () => new Promise((r) => setTimeout(r, 30)), handleChatModelStart: () => new Promise((r) => setTimeout(r, 30)) };
            const config = { signal: controller.signal, callbacks: [slow, handler], metadata: { tagalong: { user: "u_1" } } };
            if (how === "invoke") await model.invoke("hi " + i, config);
            else await drain(await model.stream("hi " + i, config));
            controller.abort(); // request-scoped cleanup once the answer is in
          }
          await lc.awaitAllCallbacks();
          await tagalong.flush();
          console.log(pair, wrapped, how, mem.calls.map((c) => [c.status, c.output[0]?.content?.slice(0, 20)]));
          expect(mem.calls.map((c) => c.status)).toEqual(["success", "success", "success", "success", "success"]);
        });
      }
    }
  });
}
