// Type-level smoke: the published declarations compile under moduleResolution node16, bundler and
// node10 (`module: commonjs`), and keep the caller's types (the wrapped client is still an OpenAI,
// per-call metadata is checked, an adapter's Tagalong from @tagalong/core/adapter is not `any`).

import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { tagalongMiddleware } from "@tagalong/ai-sdk";
import { createTagalong, type Metadata, portkey, TagalongError, withMetadata } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { wrapOpenAI } from "@tagalong/openai";
import { createRecorder } from "@tagalong/testing";
import { wrapLanguageModel } from "ai";
import OpenAI from "openai";

const tagalong = createTagalong({ destinations: [portkey()] });
const client: OpenAI = wrapOpenAI(new OpenAI({ apiKey: "x" }), tagalong);
const metadata: Metadata = { user: "u", prompt: { name: "p", version: 1 } };
withMetadata(metadata, () => client.chat.completions.create({ model: "m", messages: [] }));
wrapLanguageModel({
  model: createOpenAI({ apiKey: "x" }).chat("m"),
  middleware: tagalongMiddleware(tagalong),
});
const ChatModel = withTagalong(ChatOpenAI);
const chat: ChatOpenAI = new ChatModel({
  model: "m",
  apiKey: "x",
  callbacks: [new TagalongCallbackHandler(tagalong)],
});
void chat;
void createRecorder;
export const isTagalongError: (e: unknown) => boolean = TagalongError.isInstance;
// @ts-expect-error: `organisation` is not a metadata field
withMetadata({ organisation: "acme" }, () => 0);
// @ts-expect-error: an adapter takes a Tagalong
wrapOpenAI(new OpenAI({ apiKey: "x" }), {});
// @ts-expect-error: an adapter takes a Tagalong
tagalongMiddleware({});
// @ts-expect-error: an adapter takes a Tagalong
new TagalongCallbackHandler({});
