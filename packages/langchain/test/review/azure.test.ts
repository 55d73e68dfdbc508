import { createTagalong, portkey, requesty, type Logger } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTagalong } from "../../src/index";
import { load } from "./mods";

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const no = () => {};
  return { warnings, debug: no, info: no, error: no, warn: (m) => void warnings.push(m) };
}

for (const pair of (Number(process.versions.node.split(".")[0]) >= 22 ? ["v0", "v1", "newest"] : ["v0", "v1"]) as ("v0" | "v1" | "newest")[]) {
  describe(`azure ${pair}`, () => {
    let rec: Recorder;
    let lc: Awaited<ReturnType<typeof load>>;
    beforeAll(async () => {
      rec = await createRecorder();
      lc = await load(pair);
    });
    afterAll(() => rec.close());

    it("withTagalong(AzureChatOpenAI): invoke vs bindTools / withConfig / withStructuredOutput", async () => {
      const log = logger();
      const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger: log });
      const Azure = withTagalong(lc.AzureChatOpenAI, tagalong);
      // Azure's client addresses /openai/deployments/<d>/chat/completions: our own fetch (wrapped by
      // Tagalong's) sends it on to the recorder's OpenAI route.
      const toRecorder = (input: any, init: any) => {
        const url = new URL(typeof input === "string" ? input : input.url ?? String(input));
        const path = url.pathname.endsWith("/responses") ? "/responses" : "/chat/completions";
        return fetch(rec.openaiBaseURL + path, init);
      };
      const model = new Azure({
        model: "gpt-4o-mini",
        azureOpenAIApiKey: "k",
        azureOpenAIApiInstanceName: "inst",
        azureOpenAIApiDeploymentName: "dep",
        azureOpenAIApiVersion: "2024-10-21",
        maxRetries: 0,
        configuration: { fetch: toRecorder },
      });
      const config = { metadata: { tagalong: { user: "u_42" } } };
      const tool = { type: "function", function: { name: "get_weather", description: "w", parameters: { type: "object", properties: {} } } };
      await model.invoke("plain", config);
      const bound = model.bindTools([tool]);
      await bound.invoke("bound tools", config);
      await model.withConfig({ temperature: 0 }).invoke("with config", config);
      console.log(pair, lc.version, "bindTools result instanceof Azure:", bound instanceof lc.AzureChatOpenAI, Object.getPrototypeOf(bound).constructor.name);
      const calls = rec.calls();
      console.log(calls.map((c) => [c.body?.messages?.at(-1)?.content, c.portkey.metadata, c.requesty]));
      console.log("warnings", log.warnings);
      expect(calls.map((c) => c.portkey.metadata?._user)).toEqual(["u_42", "u_42", "u_42"]);
    });
  });
}
