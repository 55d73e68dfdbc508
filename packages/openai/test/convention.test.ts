// The CompletedCall convention (packages/core/test/completed-call-convention.ts), for every openai major.
import {
  CONVENTION_IMAGE_URL,
  CONVENTION_MODEL,
  CONVENTION_TOOL,
  type ConventionDriver,
  completedCallConvention,
  stopSignal,
} from "../../core/test/completed-call-convention";
import { wrapOpenAI } from "../src/index";
import { MAJORS, nodeMajor } from "./sdk-majors";

const settings = { model: CONVENTION_MODEL, temperature: 0.5, max_tokens: 20 };

function driver(load: (typeof MAJORS)[number]["load"]): () => Promise<ConventionDriver> {
  return async () => {
    const OpenAI = await load();
    return {
      source: "openai",
      async run(scenario, { baseURL, apiKey, tagalong }) {
        const client = wrapOpenAI(new OpenAI({ baseURL, apiKey, maxRetries: 0 }), tagalong);
        const say = [{ role: "user" as const, content: "Say hello" }];
        switch (scenario) {
          case "text":
            await client.chat.completions.create({
              ...settings,
              messages: [{ role: "system", content: "Be brief." }, ...say],
            });
            return;
          case "image":
            await client.chat.completions.create({
              ...settings,
              messages: [
                {
                  role: "user",
                  content: [
                    { type: "text", text: "What is in this picture?" },
                    { type: "image_url", image_url: { url: CONVENTION_IMAGE_URL } },
                  ],
                },
              ],
            });
            return;
          case "tool":
            await client.chat.completions.create({
              ...settings,
              messages: [{ role: "user", content: "Weather in Paris?" }],
              tools: [{ type: "function", function: { ...CONVENTION_TOOL } as never }],
            });
            return;
          case "stream": {
            const stream = await client.chat.completions.create({
              ...settings,
              messages: say,
              stream: true,
              stream_options: { include_usage: true },
            });
            for await (const _ of stream);
            return;
          }
          case "abort":
          case "timeout":
            await client.chat.completions
              .create({ ...settings, messages: say, stream: true }, { signal: stopSignal(scenario) })
              .catch(() => {});
            return;
          case "error":
            await client.chat.completions.create({ ...settings, messages: say }).catch(() => {});
            return;
        }
      },
    };
  };
}

for (const major of MAJORS) {
  if (nodeMajor >= major.minNode) completedCallConvention(major.name, driver(major.load));
}
