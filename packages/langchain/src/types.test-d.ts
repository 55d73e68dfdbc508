// Compiled by `tsc` (the package's typecheck), never run: the handler and withTagalong must type-check
// against each supported LangChain pair's own types, the way users write them.
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { ChatOpenAI } from "@langchain/openai";
import * as v0 from "@tagalong/compat-langchain-v0";
import * as v1node20 from "@tagalong/compat-langchain-v1-node20";
import type { Tagalong } from "@tagalong/core";
import { TagalongCallbackHandler, tagalongMetadata, withTagalong } from "./index";

declare const tagalong: Tagalong;
const handler = new TagalongCallbackHandler(tagalong, { awaitHandlers: false });
const config = {
  callbacks: [handler],
  metadata: { tagalong: { user: "u_42" }, team: "search" },
  tags: ["x"],
};

export async function langchain1() {
  const ChatModel = withTagalong(ChatOpenAI);
  const model: ChatOpenAI = new ChatModel({ model: "gpt-4o-mini", callbacks: [handler] });
  const byName: ChatOpenAI = new ChatModel("gpt-4o-mini");
  await model.invoke("hi", config);
  await ChatPromptTemplate.fromTemplate("{q}").pipe(model).invoke({ q: "hi" }, config);
  await byName.bindTools([]).stream("hi", config);
}

export async function langchain1OnNode20() {
  const ChatModel = withTagalong(v1node20.ChatOpenAI);
  const model: InstanceType<typeof v1node20.ChatOpenAI> = new ChatModel({ callbacks: [handler] });
  await v1node20.ChatPromptTemplate.fromTemplate("{q}").pipe(model).invoke({ q: "hi" }, config);
}

export async function langchain03() {
  const ChatModel = withTagalong(v0.ChatOpenAI);
  const model: InstanceType<typeof v0.ChatOpenAI> = new ChatModel({
    model: "gpt-4o-mini",
    callbacks: [handler],
  });
  await model.invoke("hi", config);
  await v0.ChatPromptTemplate.fromTemplate("{q}").pipe(model).invoke({ q: "hi" }, config);
  const LLM = withTagalong(v0.OpenAI);
  await new LLM({ callbacks: [handler] }).invoke("hi", config);
}

// Typed per-call metadata: tagalongMetadata() checks the fields where they are written.
export async function typedMetadata() {
  const model = new (withTagalong(ChatOpenAI, tagalong))({ model: "gpt-4o-mini" });
  await model.invoke("hi", { metadata: tagalongMetadata({ user: "u_42", tags: ["a"] }) });
  await model.invoke("hi", { metadata: { ...tagalongMetadata({ extra: { n: 1 } }), team: "search" } });
  // @ts-expect-error: no such metadata field
  tagalongMetadata({ userId: "u_42" });
  // @ts-expect-error: user is a string
  tagalongMetadata({ user: 42 });
  // @ts-expect-error: extra values are strings, numbers or booleans
  tagalongMetadata({ extra: { nested: { a: 1 } } });
  // @ts-expect-error: the second argument is a Tagalong
  withTagalong(ChatOpenAI, { destinations: [] });
}
