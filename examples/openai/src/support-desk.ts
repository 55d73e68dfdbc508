import { type Tagalong, withMetadata } from "@tagalong/core";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import OpenAI from "openai";

/** Where the model calls go: OpenAI itself, a gateway (Portkey, Requesty) or a local recorder. */
export interface SupportDeskConfig {
  tagalong: Tagalong;
  baseURL: string;
  apiKey: string;
  model: string;
  /** Sent with every request, e.g. Portkey's `x-portkey-api-key` and `x-portkey-provider`. */
  headers?: Record<string, string>;
}

/**
 * A support desk answers a ticket: a plain call sorts it into a queue, then the reply streams back
 * to the customer. Every call made for this ticket carries who asked, in which conversation, under
 * which prompt: Portkey, Requesty and PromptLayer each receive it in their own form.
 */
export async function run({ tagalong, baseURL, apiKey, model, headers }: SupportDeskConfig) {
  const openai = wrapOpenAI(new OpenAI({ baseURL, apiKey, defaultHeaders: headers }), tagalong);
  const ticket = "My invoice shows two charges for March.";

  const customer = { user: "Zoë 😀", session: "ticket-1042", tags: ["support"], extra: { plan: "pro" } };
  return withMetadata(customer, async () => {
    const triage = await openai.chat.completions.create(
      {
        model,
        messages: [
          { role: "system", content: "Answer with one word: billing, bug or other." },
          { role: "user", content: ticket },
        ],
      },
      tagalongOptions({ prompt: { name: "ticket-triage", version: 3 } }),
    );
    const queue = triage.choices[0]?.message.content ?? "other";

    const stream = await openai.chat.completions.create(
      {
        model,
        stream: true,
        messages: [
          { role: "system", content: "You are a friendly support agent." },
          { role: "user", content: ticket },
        ],
      },
      tagalongOptions({ prompt: { name: "support-reply", label: "production", variables: { queue } } }),
    );
    let reply = "";
    for await (const chunk of stream) reply += chunk.choices[0]?.delta?.content ?? "";
    return { queue, reply };
  });
}
