// Compiled by `tsc` (the package's typecheck), never run: the middleware, the fetch helper and the
// per-call options must type-check against each supported ai major's own types.
import { createOpenAI as createOpenAI6 } from "@ai-sdk/openai";
import { createOpenAICompatible as createCompatible6 } from "@ai-sdk/openai-compatible";
import { createOpenAICompatible as createCompatible5 } from "@ai-sdk/openai-compatible-v1";
import { createOpenAICompatible as createCompatible7 } from "@ai-sdk/openai-compatible-v3";
import { createOpenAI as createOpenAI5 } from "@ai-sdk/openai-v2";
import { createOpenAI as createOpenAI7 } from "@ai-sdk/openai-v4";
import { createRequesty as createRequesty6 } from "@requesty/ai-sdk";
import { createRequesty as createRequesty5 } from "@requesty/ai-sdk-v2";
import type { Metadata, Tagalong } from "@tagalong/core";
import * as ai6 from "ai";
import * as ai5 from "ai-v5";
import * as ai7 from "ai-v7";
import { tagalongFetch, tagalongMiddleware, tagalongOptions } from "./index";

declare const tagalong: Tagalong;
declare const metadata: Metadata;
const middleware = tagalongMiddleware(tagalong);

// The object is each major's middleware type as is.
export const v2: ai5.LanguageModelMiddleware = middleware;
export const v3: ai6.LanguageModelMiddleware = middleware;
export const v4: ai7.LanguageModelMiddleware = middleware;
// And ai 6 and 7's embedding model middleware (ai 5 has none).
export const embedV3: ai6.EmbeddingModelMiddleware = middleware;
export const embedV4: ai7.EmbeddingModelMiddleware = middleware;

// A fetch helper every provider package accepts.
const fetch = tagalongFetch();

export async function ai5Calls() {
  const model = ai5.wrapLanguageModel({
    model: createOpenAI5({ fetch }).chat("m"),
    middleware: tagalongMiddleware(tagalong),
  });
  await ai5.generateText({ model, prompt: "hi", providerOptions: { tagalong: { user: "u", tags: ["a"] } } });
  await ai5.generateText({ model, prompt: "hi", providerOptions: { tagalong: metadata } });
  await ai5.generateText({ model, prompt: "hi", providerOptions: tagalongOptions(metadata) });
  ai5.streamText({ model, prompt: "hi", providerOptions: { ...tagalongOptions(metadata), openai: {} } });
  ai5.wrapLanguageModel({ model: createCompatible5({ name: "gw", baseURL: "", fetch })("m"), middleware });
  ai5.wrapLanguageModel({ model: createRequesty5({ fetch })("m"), middleware });
  ai5.wrapProvider({ provider: createOpenAI5({}), languageModelMiddleware: middleware });
}

export async function ai6Calls() {
  const model = ai6.wrapLanguageModel({
    model: createOpenAI6({ fetch }).chat("m"),
    middleware: tagalongMiddleware(tagalong),
  });
  await ai6.generateText({ model, prompt: "hi", providerOptions: { tagalong: { user: "u", tags: ["a"] } } });
  await ai6.generateText({ model, prompt: "hi", providerOptions: { tagalong: metadata } });
  await ai6.generateText({ model, prompt: "hi", providerOptions: tagalongOptions(metadata) });
  ai6.streamText({ model, prompt: "hi", providerOptions: { ...tagalongOptions(metadata), openai: {} } });
  ai6.wrapLanguageModel({ model: createCompatible6({ name: "gw", baseURL: "", fetch })("m"), middleware });
  ai6.wrapLanguageModel({ model: createRequesty6({ fetch })("m"), middleware });
  ai6.wrapProvider({ provider: createOpenAI6({}), languageModelMiddleware: middleware });
  const embedder = ai6.wrapEmbeddingModel({ model: createOpenAI6({ fetch }).embedding("e"), middleware });
  await ai6.embed({ model: embedder, value: "hi", providerOptions: tagalongOptions(metadata) });
}

export async function ai7Calls() {
  const model = ai7.wrapLanguageModel({
    model: createOpenAI7({ fetch }).chat("m"),
    middleware: tagalongMiddleware(tagalong),
  });
  await ai7.generateText({ model, prompt: "hi", providerOptions: { tagalong: { user: "u", tags: ["a"] } } });
  await ai7.generateText({ model, prompt: "hi", providerOptions: { tagalong: metadata } });
  await ai7.generateText({ model, prompt: "hi", providerOptions: tagalongOptions(metadata) });
  ai7.streamText({ model, prompt: "hi", providerOptions: { ...tagalongOptions(metadata), openai: {} } });
  ai7.wrapLanguageModel({ model: createCompatible7({ name: "gw", baseURL: "", fetch })("m"), middleware });
  // ai 7 adapts the V3 models of @requesty/ai-sdk 3.
  ai7.wrapLanguageModel({ model: createRequesty6({ fetch })("m"), middleware });
  ai7.wrapProvider({ provider: createOpenAI7({}), languageModelMiddleware: middleware });
  const embedder = ai7.wrapEmbeddingModel({ model: createOpenAI7({ fetch }).embedding("e"), middleware });
  await ai7.embedMany({ model: embedder, values: ["hi"], providerOptions: tagalongOptions(metadata) });
}

// The version field is what ai 6 checks: a middleware without it does not compile there.
// @ts-expect-error specificationVersion must be 'v3' for ai 6
export const wrongVersion: ai6.LanguageModelMiddleware = { ...middleware, specificationVersion: "v2" };

// Typed per-call metadata: tagalongOptions() checks the fields where they are written, in every major.
export async function typedMetadata(model: ai6.LanguageModel) {
  const options = tagalongOptions({ user: "u", extra: { n: 1 } });
  await ai6.generateText({ model, prompt: "hi", providerOptions: options });
  ai5.streamText({ model: {} as ai5.LanguageModel, prompt: "hi", providerOptions: options });
  ai7.streamText({ model: {} as ai7.LanguageModel, prompt: "hi", providerOptions: options });
  // @ts-expect-error: no such metadata field
  tagalongOptions({ userId: "u" });
  // @ts-expect-error: user is a string
  tagalongOptions({ user: 42 });
  // @ts-expect-error: tags are strings
  tagalongOptions({ tags: [1] });
  // @ts-expect-error: a prompt needs its name
  tagalongOptions({ prompt: { version: 2 } });
}
