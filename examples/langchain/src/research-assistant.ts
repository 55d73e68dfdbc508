import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { ChatOpenAI } from "@langchain/openai";
import type { Tagalong } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";

/** Where the model calls go: OpenAI itself, a gateway (Portkey, Requesty) or a local recorder. */
export interface ResearchAssistantConfig {
  tagalong: Tagalong;
  baseURL: string;
  apiKey: string;
  model: string;
  /** Sent with every request, e.g. Portkey's `x-portkey-api-key` and `x-portkey-provider`. */
  headers?: Record<string, string>;
}

// Same class as ChatOpenAI, with each run's metadata on the wire (headers and body, streamed or not).
const TaggedChatOpenAI = withTagalong(ChatOpenAI);

/**
 * A research assistant chain answers a question, then streams a follow-up. The metadata rides on
 * LangChain's own RunnableConfig: `metadata.tagalong` holds Tagalong fields, other keys become extra.
 */
export async function run({ tagalong, baseURL, apiKey, model, headers }: ResearchAssistantConfig) {
  const llm = new TaggedChatOpenAI({
    model,
    apiKey,
    configuration: { baseURL, defaultHeaders: headers },
    callbacks: [new TagalongCallbackHandler(tagalong)],
  });
  const prompt = ChatPromptTemplate.fromMessages([
    ["system", "You are a research assistant. Cite your sources."],
    ["human", "{question}"],
  ]);
  const chain = prompt.pipe(llm).pipe(new StringOutputParser());
  const config = (promptName: string) => ({
    tags: ["research"],
    metadata: {
      tagalong: { user: "u_42", session: "notebook-7", prompt: { name: promptName, version: 1 } },
      workspace: "lab",
    },
  });

  const answer = await chain.invoke({ question: "Why is the sky blue?" }, config("research-answer"));
  let followUp = "";
  const stream = await chain.stream({ question: "And why are sunsets red?" }, config("research-followup"));
  for await (const chunk of stream) followUp += chunk;
  return { answer, followUp };
}
