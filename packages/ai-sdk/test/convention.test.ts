// The CompletedCall convention (packages/core/test/completed-call-convention.ts), for every ai major.
import {
  CONVENTION_IMAGE_URL,
  CONVENTION_MODEL,
  CONVENTION_TOOL,
  type ConventionDriver,
  completedCallConvention,
  stopSignal,
} from "../../core/test/completed-call-convention";
import { tagalongMiddleware } from "../src/index";
import { MAJORS, type Major, nodeMajor } from "./matrix";

function driver(major: Major): () => Promise<ConventionDriver> {
  return async () => {
    const m = await major.load();
    return {
      source: "ai-sdk",
      async run(scenario, { baseURL, apiKey, tagalong }) {
        const model = m.ai.wrapLanguageModel({
          model: m.createOpenAI({ baseURL, apiKey }).chat(CONVENTION_MODEL),
          middleware: tagalongMiddleware(tagalong),
        });
        const settings = { model, temperature: 0.5, maxOutputTokens: 20, maxRetries: 0 };
        const say = [{ role: "user", content: "Say hello" }];
        switch (scenario) {
          case "text":
            await m.ai.generateText({ ...settings, system: "Be brief.", messages: say });
            return;
          case "image":
            await m.ai.generateText({
              ...settings,
              messages: [
                {
                  role: "user",
                  content: [
                    { type: "text", text: "What is in this picture?" },
                    { type: "image", image: new URL(CONVENTION_IMAGE_URL) },
                  ],
                },
              ],
            });
            return;
          case "tool":
            await m.ai.generateText({
              ...settings,
              prompt: "Weather in Paris?",
              tools: {
                [CONVENTION_TOOL.name]: m.ai.tool({
                  description: CONVENTION_TOOL.description,
                  inputSchema: (m.ai as unknown as { jsonSchema(s: unknown): unknown }).jsonSchema(
                    CONVENTION_TOOL.parameters,
                  ),
                }),
              },
            });
            return;
          case "stream": {
            const result = m.ai.streamText({ ...settings, messages: say });
            for await (const _ of result.textStream);
            return;
          }
          case "error":
            await m.ai.generateText({ ...settings, messages: say }).catch(() => {});
            return;
          case "abort":
          case "timeout": {
            const result = m.ai.streamText({
              ...settings,
              messages: say,
              abortSignal: stopSignal(scenario),
              onError: () => {},
            });
            await result.consumeStream?.({ onError: () => {} }).catch(() => {});
            await Promise.resolve(result.text).catch(() => {});
            return;
          }
        }
      },
    };
  };
}

for (const major of MAJORS) {
  if (nodeMajor >= major.minNode) completedCallConvention(major.name, driver(major));
}
