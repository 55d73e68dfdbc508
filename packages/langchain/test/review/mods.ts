// Loads the LangChain modules of a compat pair (v0 or v1-node20), plus AzureChatOpenAI.
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, resolve } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
export const PAIRS = {
  v0: resolve(here, "../../../../compat/langchain-v0/index.ts"),
  v1: resolve(here, "../../../../compat/langchain-v1-node20/index.ts"),
  newest: resolve(here, "../langchain-v1.ts"),
} as const;

export async function load(pair: keyof typeof PAIRS) {
  const req = createRequire(PAIRS[pair]);
  const imp = (id: string) => import(pathToFileURL(req.resolve(id)).href);
  const openai = await imp("@langchain/openai");
  const runnables = await imp("@langchain/core/runnables");
  const promises = await imp("@langchain/core/callbacks/promises");
  const prompts = await imp("@langchain/core/prompts");
  const caches = await imp("@langchain/core/caches");
  const messages = await imp("@langchain/core/messages");
  return {
    ChatOpenAI: openai.ChatOpenAI,
    AzureChatOpenAI: openai.AzureChatOpenAI,
    OpenAI: openai.OpenAI,
    AzureOpenAI: openai.AzureOpenAI,
    RunnableLambda: runnables.RunnableLambda,
    RunnableSequence: runnables.RunnableSequence,
    awaitAllCallbacks: promises.awaitAllCallbacks as () => Promise<void>,
    ChatPromptTemplate: prompts.ChatPromptTemplate,
    InMemoryCache: caches.InMemoryCache,
    HumanMessage: messages.HumanMessage,
    version: req("@langchain/core/package.json").version + " / openai " + req("@langchain/openai/package.json").version,
  };
}
