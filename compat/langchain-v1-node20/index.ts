// The LangChain modules @tagalong/langchain's shared suite runs against, resolved from here:
// @langchain/core 1.x, @langchain/openai 1.5.8 (the last 1.x for Node 20, on openai 6) and @langchain/langgraph 1.x.
export { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
export { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
export { ChatPromptTemplate } from "@langchain/core/prompts";
export { RunnableLambda } from "@langchain/core/runnables";
export { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
export { AzureChatOpenAI, ChatOpenAI, OpenAI } from "@langchain/openai";

export const label = "@langchain/core 1 + @langchain/openai 1.5 + @langchain/langgraph 1 (Node 20)";
/** Where the suite resolves these packages' manifests (versions, engines) from. */
export const moduleURL = import.meta.url;
