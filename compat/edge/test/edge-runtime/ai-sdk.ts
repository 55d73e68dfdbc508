// Runs inside Vercel's edge-runtime VM: generateText through tagalongMiddleware with per-call metadata.
import { createOpenAI } from "@ai-sdk/openai";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import { scopesFollowAsync } from "@tagalong/core";
import { generateText, wrapLanguageModel } from "ai";
import { API_KEY, type EdgeRunConfig, type EdgeRunResult, edgeTagalong } from "./shared";

export async function run(config: EdgeRunConfig): Promise<EdgeRunResult> {
  const tagalong = edgeTagalong(config);
  const model = wrapLanguageModel({
    // @ai-sdk/openai drops unknown body keys: Requesty's field goes in through the provider's fetch.
    model: createOpenAI({ apiKey: API_KEY, baseURL: config.openaiBaseURL, fetch: tagalongFetch() }).chat(
      "gpt-4o-mini",
    ),
    middleware: tagalongMiddleware(tagalong),
  });
  const { text } = await generateText({
    model,
    prompt: `hello from ${config.user}`,
    providerOptions: { tagalong: { user: config.user } },
  });
  await tagalong.flush();
  return { text, scopesFollowAsync: scopesFollowAsync() };
}
