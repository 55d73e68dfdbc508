// The matrix the wire suite runs over: each supported ai major with its own provider packages.
// Modules are imported lazily so a major that needs a newer Node is never loaded where it is skipped.
import { tagalongFetch } from "../src/index";

export const nodeMajor = Number(process.versions.node.split(".", 1)[0]);

/** The parts of the `ai` module the suite calls; typed loosely because each major types them its own way. */
export interface AiModule {
  generateText(options: any): Promise<any>;
  streamText(options: any): any;
  generateObject(options: any): Promise<any>;
  streamObject(options: any): any;
  wrapLanguageModel(options: any): any;
  wrapProvider(options: any): any;
  defaultSettingsMiddleware(options: any): any;
  tool(options: any): any;
  stepCountIs(n: number): any;
}

interface ProviderModules {
  ai: AiModule;
  createOpenAI(options: any): any;
  createOpenAICompatible(options: any): any;
  createRequesty(options: any): any;
}

export interface Major {
  readonly name: string;
  /** The lowest Node major the ai major runs on. */
  readonly minNode: number;
  /** Whether its @requesty/ai-sdk takes per-call `extraBody` (3 does; 2, for ai 5, does not). */
  readonly requestyExtraBody: boolean;
  /** Whether its @ai-sdk/openai and openai-compatible take `apiKey` as a function, maybe async (ai 7's do). */
  readonly apiKeyFunction: boolean;
  load(): Promise<ProviderModules>;
}

export const MAJORS: readonly Major[] = [
  {
    name: "ai 5",
    minNode: 20,
    requestyExtraBody: false,
    apiKeyFunction: false,
    load: async () => ({
      ai: (await import("ai-v5")) as unknown as AiModule,
      createOpenAI: (await import("@ai-sdk/openai-v2")).createOpenAI,
      createOpenAICompatible: (await import("@ai-sdk/openai-compatible-v1")).createOpenAICompatible,
      createRequesty: (await import("@requesty/ai-sdk-v2")).createRequesty,
    }),
  },
  {
    name: "ai 6",
    minNode: 20,
    requestyExtraBody: true,
    apiKeyFunction: false,
    load: async () => ({
      ai: (await import("ai")) as unknown as AiModule,
      createOpenAI: (await import("@ai-sdk/openai")).createOpenAI,
      createOpenAICompatible: (await import("@ai-sdk/openai-compatible")).createOpenAICompatible,
      createRequesty: (await import("@requesty/ai-sdk")).createRequesty,
    }),
  },
  {
    name: "ai 7",
    minNode: 22,
    requestyExtraBody: true,
    apiKeyFunction: true,
    load: async () => ({
      ai: (await import("ai-v7")) as unknown as AiModule,
      createOpenAI: (await import("@ai-sdk/openai-v4")).createOpenAI,
      createOpenAICompatible: (await import("@ai-sdk/openai-compatible-v3")).createOpenAICompatible,
      // @requesty/ai-sdk 3 implements LanguageModelV3; ai 7 adapts it.
      createRequesty: (await import("@requesty/ai-sdk")).createRequesty,
    }),
  },
];

/** A provider package as the suite uses it: a provider object and the endpoint its models call. */
export interface ProviderCase {
  readonly name: string;
  /** The `/v1/*` endpoint its language models call. */
  readonly endpoint: "chat.completions" | "responses";
  /** `CompletedCall.provider`: the provider name before the dot in `model.provider`. */
  readonly family: string;
  /** providerOptions through which a caller sets its own `requesty` body field, when the provider has a way. */
  readonly callerRequesty?: (field: Record<string, unknown>) => Record<string, Record<string, unknown>>;
  /** The provider, talking to `baseURL`, sending `headers` on every request. */
  provider(modules: ProviderModules, baseURL: string, headers?: Record<string, string>): any;
  /** A language model of that provider. */
  model(provider: any, modelId: string): any;
}

const apiKey = "sk-test-not-a-real-key";

export const PROVIDERS: readonly ProviderCase[] = [
  {
    name: "@ai-sdk/openai chat",
    endpoint: "chat.completions",
    family: "openai",
    provider: (m, baseURL, headers) => m.createOpenAI({ baseURL, apiKey, headers, fetch: tagalongFetch() }),
    model: (p, id) => p.chat(id),
  },
  {
    name: "@ai-sdk/openai responses",
    endpoint: "responses",
    family: "openai",
    provider: (m, baseURL, headers) => m.createOpenAI({ baseURL, apiKey, headers, fetch: tagalongFetch() }),
    model: (p, id) => p.responses(id),
  },
  {
    name: "@ai-sdk/openai-compatible",
    endpoint: "chat.completions",
    family: "my-gateway",
    callerRequesty: (field) => ({ "my-gateway": { requesty: field } }),
    provider: (m, baseURL, headers) =>
      m.createOpenAICompatible({ name: "my-gateway", baseURL, apiKey, headers, includeUsage: true }),
    model: (p, id) => p.chatModel(id),
  },
  {
    name: "@requesty/ai-sdk",
    endpoint: "chat.completions",
    family: "requesty",
    // Flat: @requesty/ai-sdk nests these keys as the body's `requesty` itself.
    callerRequesty: (field) => ({ requesty: field }),
    provider: (m, baseURL, headers) => m.createRequesty({ baseURL, apiKey, headers }),
    model: (p, id) => p.chat(id),
  },
];
