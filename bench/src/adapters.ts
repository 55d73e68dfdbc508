// Each adapter's variants for the overhead comparisons: the bare SDK, controls that separate what
// the SDK or framework itself costs, and the adapter. Absorbs the per-package overhead scripts
// (packages/{openai,ai-sdk,langchain}/bench/overhead.ts) into the one harness.
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { ChatOpenAI } from "@langchain/openai";
import { tagalongOptions as aiOptions, tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import { type Metadata, type Tagalong, withMetadata } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { tagalongOptions, wrapOpenAI as wrapOpenAIClient } from "@tagalong/openai";
import { generateText, type LanguageModel, streamText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { inFlightTagalong, MODEL_KEY, perCallMetadata, recordingTagalong, userMessage } from "./fixtures";
import type { Variant } from "./harness";

/** Where the model calls go: the loopback recorder, or an in-process fetch (no I/O). */
export interface Endpoint {
  baseURL: string;
  fetch?: typeof fetch;
}

/**
 * What the adapter would add to call `i`, prepared ahead, to send by hand without Tagalong: the cost
 * of carrying the fields (bigger requests) apart from the adapter's own work.
 */
export function fieldsByHand(): (i: number) => {
  headers: Record<string, string>;
  body: Record<string, unknown>;
} {
  const tagalong = inFlightTagalong();
  const pool = Array.from({ length: 1000 }, (_, i) => {
    const prepared = tagalong.prepare(perCallMetadata(i));
    return { headers: { ...prepared.headers }, body: { ...prepared.body } };
  });
  return (i) => pool[i % pool.length]!;
}

/**
 * The control that runs the bare SDK a second time (another client or model, the same calls): what two
 * identical variants differ by in one run, the noise the figures of a run carry beyond their own
 * standard errors.
 */
export const AGAIN = "the bare SDK again";

/** A variant of an overhead comparison; `judged` ones are held to the goals. */
export interface AdapterVariant extends Variant {
  judged?: boolean;
}

// ---------------------------------------------------------------------------------------------
// OpenAI Node SDK

/**
 * wrapOpenAI, typed for the bench's copy of openai: the same version as @tagalong/openai's, resolved
 * into another directory (a different peer), so TypeScript sees two OpenAI classes.
 */
export function wrapOpenAI(client: OpenAI, tagalong: Tagalong): OpenAI {
  return wrapOpenAIClient(client as never, tagalong) as unknown as OpenAI;
}

export function openaiClient(endpoint: Endpoint): OpenAI {
  return new OpenAI({
    apiKey: MODEL_KEY,
    baseURL: endpoint.baseURL,
    maxRetries: 0,
    ...(endpoint.fetch ? { fetch: endpoint.fetch } : {}),
  });
}

type RequestOptions = Parameters<OpenAI["chat"]["completions"]["create"]>[1];

/** tagalongOptions (per-call metadata for a wrapped client), typed for the bench's copy of openai. */
export function metadataOption(metadata: Metadata): RequestOptions {
  return tagalongOptions(metadata) as unknown as RequestOptions;
}

/** One chat completion, plain or streamed to the end. The `model` names the variant on the wire. */
export async function chat(
  client: OpenAI,
  model: string,
  i: number,
  stream: boolean,
  options?: RequestOptions,
  body?: Record<string, unknown>,
): Promise<unknown> {
  const messages = [{ role: "user" as const, content: userMessage(i) }];
  if (!stream) return client.chat.completions.create({ model, messages, ...body }, options);
  const s = await client.chat.completions.create(
    { model, messages, stream: true, stream_options: { include_usage: true }, ...body },
    options,
  );
  for await (const _ of s) {
    // read to the end
  }
}

/** The adapter's main variant: wrapOpenAI with per-call metadata (tagalongOptions). */
export function wrappedOpenAIVariant(
  name: string,
  endpoint: Endpoint,
  tagalong: Tagalong,
  model: string,
  stream: boolean,
  metadata: (i: number) => Metadata = perCallMetadata,
): AdapterVariant {
  const client = wrapOpenAI(openaiClient(endpoint), tagalong);
  return {
    name,
    vs: "openai",
    judged: true,
    call: (i) => chat(client, model, i, stream, metadataOption(metadata(i))),
  };
}

export function openaiVariants(endpoint: Endpoint, stream: boolean): AdapterVariant[] {
  const bare = openaiClient(endpoint);
  const again = openaiClient(endpoint);
  const scoped = wrapOpenAI(openaiClient(endpoint), inFlightTagalong());
  const byHand = fieldsByHand();
  return [
    { name: "openai", call: (i) => chat(bare, "openai", i, stream) },
    { name: AGAIN, vs: "openai", call: (i) => chat(again, "openai-again", i, stream) },
    {
      name: "openai, same fields by hand",
      vs: "openai",
      call: (i) => chat(bare, "openai-by-hand", i, stream, { headers: byHand(i).headers }, byHand(i).body),
    },
    wrappedOpenAIVariant(
      "wrapOpenAI, per-call metadata",
      endpoint,
      inFlightTagalong(),
      "openai-tagalong",
      stream,
    ),
    {
      name: "wrapOpenAI, scope metadata",
      vs: "openai",
      call: (i) => withMetadata(perCallMetadata(i), () => chat(scoped, "openai-tagalong-scope", i, stream)),
    },
    wrappedOpenAIVariant(
      "wrapOpenAI + recording",
      endpoint,
      recordingTagalong(),
      "openai-tagalong-recording",
      stream,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Vercel AI SDK

async function generate(
  model: LanguageModel,
  i: number,
  stream: boolean,
  metadata?: Metadata,
  byHand?: { headers: Record<string, string>; body: Record<string, unknown> },
): Promise<unknown> {
  const options = {
    model,
    prompt: userMessage(i),
    maxRetries: 0,
    ...(metadata ? { providerOptions: aiOptions(metadata) } : {}),
    // openai-compatible spreads providerOptions[<provider name>] into the request body.
    ...(byHand ? { headers: byHand.headers, providerOptions: { bench: byHand.body as never } } : {}),
  };
  if (!stream) return generateText(options);
  return streamText(options).text;
}

/** An openai-compatible chat model of the AI SDK; the `name` is the request's model, naming the variant. */
function compatibleModel(endpoint: Endpoint, name: string) {
  return createOpenAICompatible({
    name: "bench",
    baseURL: endpoint.baseURL,
    apiKey: MODEL_KEY,
    includeUsage: true,
    ...(endpoint.fetch ? { fetch: endpoint.fetch } : {}),
  }).chatModel(name);
}

/** An openai-compatible model wrapped in tagalongMiddleware. */
function middlewareModel(endpoint: Endpoint, name: string, tagalong: Tagalong): LanguageModel {
  return wrapLanguageModel({
    model: compatibleModel(endpoint, name),
    middleware: tagalongMiddleware(tagalong),
  });
}

export function aiSdkVariants(endpoint: Endpoint, stream: boolean): AdapterVariant[] {
  const compatible = (name: string) => compatibleModel(endpoint, name);
  const openai = (name: string, fetchImpl?: typeof fetch) =>
    createOpenAI({
      baseURL: endpoint.baseURL,
      apiKey: MODEL_KEY,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    }).chat(name);

  const bare = compatible("aisdk");
  const again = compatible("aisdk-again");
  const emptyMiddleware = wrapLanguageModel({
    model: compatible("aisdk-empty-middleware"),
    middleware: { specificationVersion: "v3" },
  });
  const wrapped = middlewareModel(endpoint, "aisdk-tagalong", inFlightTagalong());
  const recording = middlewareModel(endpoint, "aisdk-tagalong-recording", recordingTagalong());
  const openaiBare = openai("aisdk-openai", endpoint.fetch);
  const openaiWrapped = wrapLanguageModel({
    model: openai("aisdk-openai-tagalong", tagalongFetch(endpoint.fetch)),
    middleware: tagalongMiddleware(inFlightTagalong()),
  });
  const byHandModel = compatible("aisdk-by-hand");
  const byHand = fieldsByHand();
  return [
    { name: "ai + openai-compatible", call: (i) => generate(bare, i, stream) },
    { name: AGAIN, vs: "ai + openai-compatible", call: (i) => generate(again, i, stream) },
    {
      name: "ai + openai-compatible, same fields by hand",
      vs: "ai + openai-compatible",
      call: (i) => generate(byHandModel, i, stream, undefined, byHand(i)),
    },
    {
      name: "wrapLanguageModel, empty middleware",
      vs: "ai + openai-compatible",
      call: (i) => generate(emptyMiddleware, i, stream),
    },
    {
      name: "tagalongMiddleware, per-call metadata",
      vs: "ai + openai-compatible",
      judged: true,
      call: (i) => generate(wrapped, i, stream, perCallMetadata(i)),
    },
    {
      name: "tagalongMiddleware + recording",
      vs: "ai + openai-compatible",
      judged: true,
      call: (i) => generate(recording, i, stream, perCallMetadata(i)),
    },
    { name: "ai + @ai-sdk/openai", call: (i) => generate(openaiBare, i, stream) },
    {
      name: "@ai-sdk/openai: tagalongMiddleware + tagalongFetch",
      vs: "ai + @ai-sdk/openai",
      judged: true,
      call: (i) => generate(openaiWrapped, i, stream, perCallMetadata(i)),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// LangChain: a chain (prompt | ChatOpenAI), as apps use it

const TaggedChatOpenAI = withTagalong(ChatOpenAI);
const prompt = ChatPromptTemplate.fromMessages([["human", "{q}"]]);

// A handler that does nothing: what LangChain itself spends once any handler is attached.
const noopHandler = { name: "noop", awaitHandlers: true, handleChatModelStart() {}, handleLLMEnd() {} };

/** ChatOpenAI's constructor fields for the endpoint; `extra` goes in its client configuration. */
function chatOpenAIFields(endpoint: Endpoint, model: string, extra: Record<string, unknown> = {}) {
  return {
    model,
    apiKey: MODEL_KEY,
    maxRetries: 0,
    configuration: {
      baseURL: endpoint.baseURL,
      ...(endpoint.fetch ? { fetch: endpoint.fetch } : {}),
      ...extra,
    },
  };
}

/** ChatOpenAI bound to a Tagalong without recording destinations: no callback handler at all. */
function boundChatOpenAI(endpoint: Endpoint, model: string, tagalong: Tagalong): ChatOpenAI {
  return new (withTagalong(ChatOpenAI, tagalong))(chatOpenAIFields(endpoint, model));
}

/** One chain call (prompt | model) with run metadata, plain or streamed to the end. */
async function chainCall(
  chain: ReturnType<typeof prompt.pipe>,
  callbacks: unknown[],
  i: number,
  user: number,
  stream: boolean,
): Promise<unknown> {
  const config = { callbacks: callbacks as never, metadata: { tagalong: perCallMetadata(i) } };
  const input = { q: userMessage(user) };
  if (!stream) return chain.invoke(input, config);
  for await (const _ of await chain.stream(input, config)) {
    // read to the end
  }
}

export function langchainVariants(endpoint: Endpoint, stream: boolean): AdapterVariant[] {
  const fields = (model: string, extra: Record<string, unknown> = {}) =>
    chatOpenAIFields(endpoint, model, extra);
  // By hand through ChatOpenAI's own options: fixed fields (per-call headers do not reach the wire on
  // its stream path), so that variant's calls all speak as user 0.
  const byHand = inFlightTagalong().prepare(perCallMetadata(0));
  const variant = (name: string, model: ChatOpenAI, callbacks: unknown[], judged = false): AdapterVariant => {
    const chain = prompt.pipe(model);
    const asUser = model.model === "lc-by-hand" ? () => 0 : (i: number) => i;
    return {
      name,
      ...(name === "ChatOpenAI" ? {} : { vs: "ChatOpenAI" }),
      judged,
      // LangChain runs non-awaited handlers in its background queue: their work counts too.
      drain: awaitAllCallbacks,
      call: (i) => chainCall(chain, callbacks, i, asUser(i), stream),
    };
  };
  return [
    variant("ChatOpenAI", new ChatOpenAI(fields("lc")), []),
    variant(AGAIN, new ChatOpenAI(fields("lc-again")), []),
    variant("ChatOpenAI + no-op handler", new ChatOpenAI(fields("lc-noop-handler")), [noopHandler]),
    variant(
      "ChatOpenAI, same fields by hand",
      new ChatOpenAI({
        ...fields("lc-by-hand", { defaultHeaders: { ...byHand.headers } }),
        modelKwargs: { ...byHand.body },
      }),
      [],
    ),
    // The class bound to a Tagalong without recording destinations: no callback handler at all.
    variant(
      "withTagalong(ChatOpenAI, tagalong)",
      boundChatOpenAI(endpoint, "lc-tagalong-bound", inFlightTagalong()),
      [],
      true,
    ),
    variant(
      "withTagalong + handler",
      new TaggedChatOpenAI(fields("lc-tagalong")),
      [new TagalongCallbackHandler(inFlightTagalong())],
      true,
    ),
    variant("withTagalong + background handler", new TaggedChatOpenAI(fields("lc-tagalong-background")), [
      new TagalongCallbackHandler(inFlightTagalong(), { awaitHandlers: false }),
    ]),
    variant(
      "withTagalong + handler + recording",
      new TaggedChatOpenAI(fields("lc-tagalong-recording")),
      [new TagalongCallbackHandler(recordingTagalong())],
      true,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// The adapters the overhead comparisons cover

export interface BenchAdapter {
  /** As `BENCH_ADAPTERS` names it. */
  key: "openai" | "ai-sdk" | "langchain";
  name: string;
  variants: (endpoint: Endpoint, stream: boolean) => AdapterVariant[];
}

export const ADAPTERS: readonly BenchAdapter[] = [
  { key: "openai", name: "OpenAI SDK (@tagalong/openai)", variants: openaiVariants },
  { key: "ai-sdk", name: "Vercel AI SDK (@tagalong/ai-sdk)", variants: aiSdkVariants },
  { key: "langchain", name: "LangChain (@tagalong/langchain)", variants: langchainVariants },
];

/** The adapters a run measures: those `BENCH_ADAPTERS=openai,ai-sdk,langchain` names, else all. */
export function selectedAdapters(): readonly BenchAdapter[] {
  const only = process.env.BENCH_ADAPTERS?.split(",").filter(Boolean);
  return only ? ADAPTERS.filter((a) => only.includes(a.key)) : ADAPTERS;
}

/**
 * Each adapter's main judged call (per-call metadata, in-flight destinations only, plain) made with the
 * given Tagalong: what a scenario that instruments the Tagalong itself (as `prepare()` timed in a call)
 * runs.
 */
export function inFlightCall(
  key: BenchAdapter["key"],
  endpoint: Endpoint,
  tagalong: Tagalong,
): (i: number) => Promise<unknown> {
  switch (key) {
    case "openai":
      return wrappedOpenAIVariant("wrapOpenAI", endpoint, tagalong, "openai-tagalong-timed", false).call;
    case "ai-sdk": {
      const model = middlewareModel(endpoint, "aisdk-tagalong-timed", tagalong);
      return (i) => generate(model, i, false, perCallMetadata(i));
    }
    case "langchain": {
      const chain = prompt.pipe(boundChatOpenAI(endpoint, "lc-tagalong-timed", tagalong));
      return (i) => chainCall(chain, [], i, i, false);
    }
  }
}
