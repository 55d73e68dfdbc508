// The LangChain modules @tagalong/langchain's shared suite runs against, resolved from here:
// @langchain/core 0.3, @langchain/openai 0.6 and @langchain/langgraph 0.x.
export { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
export { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
export { ChatPromptTemplate } from "@langchain/core/prompts";
export { RunnableLambda } from "@langchain/core/runnables";
export { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
export { AzureChatOpenAI, ChatOpenAI, OpenAI } from "@langchain/openai";

export const label = "@langchain/core 0.3 + @langchain/openai 0.6 + @langchain/langgraph 0.x";
/** Where the suite resolves these packages' manifests (versions, engines) from. */
export const moduleURL = import.meta.url;
