// The LangChain modules @tagalong/langchain's shared suite runs against, resolved from here:
// the newest @langchain/core, @langchain/openai and @langchain/langgraph 1.x (package devDependencies).
export { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
export { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
export { ChatPromptTemplate } from "@langchain/core/prompts";
export { RunnableLambda } from "@langchain/core/runnables";
export { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
export { AzureChatOpenAI, ChatOpenAI, OpenAI } from "@langchain/openai";

export const label = "@langchain/core 1 + @langchain/openai 1 (newest) + @langchain/langgraph 1";
/** Where the suite resolves these packages' manifests (versions, engines) from. */
export const moduleURL = import.meta.url;
