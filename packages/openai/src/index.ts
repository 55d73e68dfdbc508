export { type OpenAIRequestOptions, tagalongOptions, wrapOpenAI } from "./wrap-openai";
