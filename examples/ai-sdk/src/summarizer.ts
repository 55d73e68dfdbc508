import { createOpenAI } from "@ai-sdk/openai";
import { tagalongFetch, tagalongMiddleware, tagalongOptions } from "@tagalong/ai-sdk";
import { type Tagalong, withMetadata } from "@tagalong/core";
import { generateText, streamText, wrapLanguageModel } from "ai";

/** Where the model calls go: OpenAI itself, a gateway (Portkey, Requesty) or a local recorder. */
export interface SummarizerConfig {
  tagalong: Tagalong;
  baseURL: string;
  apiKey: string;
  model: string;
  /** Sent with every request, e.g. Portkey's `x-portkey-api-key` and `x-portkey-provider`. */
  headers?: Record<string, string>;
}

/**
 * A customer's document is summarized, then its key points stream to the page. The model is wrapped
 * once with the middleware; the scope says who the work is for and each call names its prompt.
 */
export async function run({ tagalong, baseURL, apiKey, model: modelId, headers }: SummarizerConfig) {
  // @ai-sdk/openai drops body fields it does not know: tagalongFetch adds Requesty's `requesty` field.
  const openai = createOpenAI({ baseURL, apiKey, headers, fetch: tagalongFetch() });
  const model = wrapLanguageModel({ model: openai.chat(modelId), middleware: tagalongMiddleware(tagalong) });
  const document = "Q3 revenue grew 12%. Churn fell to 2.1%. Hiring paused in sales.";

  const owner = { user: "ana@example.com", organization: "Acme GmbH", session: "doc-88", tags: ["docs"] };
  return withMetadata(owner, async () => {
    const { text: summary } = await generateText({
      model,
      prompt: `Summarize in one sentence: ${document}`,
      providerOptions: tagalongOptions({ prompt: { name: "summarize", version: 2 } }),
    });

    const keyPoints = streamText({
      model,
      prompt: `List the key points: ${document}`,
      providerOptions: tagalongOptions({ prompt: { name: "key-points", label: "beta" } }),
    });
    let points = "";
    for await (const delta of keyPoints.textStream) points += delta;
    return { summary, points };
  });
}
