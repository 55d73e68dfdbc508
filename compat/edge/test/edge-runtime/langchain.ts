// Runs inside Vercel's edge-runtime VM: ChatOpenAI made by withTagalong, metadata from the run config.
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatOpenAI } from "@langchain/openai";
import { scopesFollowAsync } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { API_KEY, type EdgeRunConfig, type EdgeRunResult, edgeTagalong } from "./shared";

export async function run(config: EdgeRunConfig): Promise<EdgeRunResult> {
  const tagalong = edgeTagalong(config);
  const ChatModel = withTagalong(ChatOpenAI);
  const model = new ChatModel({
    model: "gpt-4o-mini",
    apiKey: API_KEY,
    configuration: { baseURL: config.openaiBaseURL },
    callbacks: [new TagalongCallbackHandler(tagalong)],
  });
  const message = await model.invoke(`hello from ${config.user}`, {
    metadata: { tagalong: { user: config.user } },
  });
  // LangChain runs handlers in the background: let them record the call before flushing.
  await awaitAllCallbacks();
  await tagalong.flush();
  return { text: String(message.content), scopesFollowAsync: scopesFollowAsync() };
}
