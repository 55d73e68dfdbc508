export { callMetadata, type OpenAIRequestOptions, wrapOpenAI } from "./wrap-openai";
