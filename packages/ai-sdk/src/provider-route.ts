import { hasKeys, isObject, withBodyFields } from "@tagalong/core/adapter";

/**
 * How the top-level request body fields Tagalong adds reach a provider's wire. This knows AI SDK
 * provider packages, never a destination: each field is just a name and a value. Decided by the
 * model's class where it is one of a known package's, else by its `provider` string (`<name>.<api>`),
 * since a provider's name is the user's to choose (`createOpenAICompatible({ name: "openai" })`):
 * - a provider package that drops unknown body keys (`@ai-sdk/openai`, `@ai-sdk/azure`), or an
 *   embedding model (none sends its provider options as body fields): only a fetch can add them
 *   (`tagalongFetch`);
 * - a provider package that sends `providerOptions.requesty` as the body field `requesty` itself and
 *   spreads its `extraBody` into the body (`@requesty/ai-sdk`'s chat models): a field named like the
 *   provider goes in flat (nesting it would double it), the others go in `extraBody`, which a V2
 *   model (version 2 of that package) does not have;
 * - anything else (`@ai-sdk/openai-compatible`, ...): `providerOptions[<name>]` is spread into the
 *   body, so the fields go there.
 */
export type BodyRoute =
  | { readonly kind: "fetch"; readonly providerName: string }
  | { readonly kind: "nested"; readonly key: string }
  | { readonly kind: "provider-options"; readonly key: string; readonly camelKey: string };

type RouteKind = BodyRoute["kind"];

/** The route of each known provider package's model classes (their names are kept in their builds). */
const CLASS_ROUTES = new Map<string, RouteKind>([
  // @ai-sdk/openai (which @ai-sdk/azure uses too), whatever its provider's name.
  ["OpenAIChatLanguageModel", "fetch"],
  ["OpenAIResponsesLanguageModel", "fetch"],
  ["OpenAICompletionLanguageModel", "fetch"],
  ["OpenAIEmbeddingModel", "fetch"],
  // @requesty/ai-sdk's chat model reads `providerOptions.requesty` under that name alone.
  ["RequestyChatLanguageModel", "nested"],
  // @ai-sdk/openai-compatible, whatever its provider's name ("openai", "azure", "requesty" too).
  ["OpenAICompatibleChatLanguageModel", "provider-options"],
  ["OpenAICompatibleCompletionLanguageModel", "provider-options"],
  ["OpenAICompatibleEmbeddingModel", "fetch"],
]);

/** Names that tell the package of a model whose class is not a known one (a model another middleware wraps). */
const FETCH_ONLY = new Set(["openai", "azure"]);
const NESTING = new Set(["requesty"]);

function toCamelCase(name: string): string {
  return name.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

// A route depends on the model's class and provider alone: kept per class, by provider name, so a
// model made per call (`provider(id)` inline) finds its route without an entry of its own, and models
// of one class with different providers (another middleware's wrappers) do not push each other out.
// Entries grow with the providers a class is used with, never with its models.
const byClass = new WeakMap<object, Map<string, BodyRoute>>();
const NO_CLASS = {};

/** The route of a model's body fields: by its class when it is a known package's, else by its provider's name. */
export function bodyRoute(model: { readonly provider: string }): BodyRoute {
  const ctor: unknown = model.constructor;
  const key = typeof ctor === "function" ? ctor : NO_CLASS;
  let routes = byClass.get(key);
  if (routes === undefined) byClass.set(key, (routes = new Map()));
  let route = routes.get(model.provider);
  if (route === undefined) routes.set(model.provider, (route = routeOf(model)));
  return route;
}

function routeOf(model: { readonly provider: string }): BodyRoute {
  const { provider } = model;
  const dot = provider.indexOf(".");
  const name = (dot === -1 ? provider : provider.slice(0, dot)).trim();
  const api = dot === -1 ? "chat" : provider.slice(dot + 1);
  const kind: RouteKind =
    CLASS_ROUTES.get(model.constructor?.name) ??
    (FETCH_ONLY.has(name) || api === "embedding"
      ? "fetch"
      : NESTING.has(name) && api === "chat"
        ? "nested"
        : "provider-options");
  if (kind === "fetch") return { kind, providerName: name };
  if (kind === "nested") return { kind, key: "requesty" };
  return { kind, key: name, camelKey: toCamelCase(name) };
}

type ProviderOptions = Record<string, Readonly<Record<string, unknown>>>;

/** Whether a model can take body fields beside the nested one (`extraBody`: not a V2 model). */
const hasExtraBody = (model: { readonly specificationVersion?: string }): boolean =>
  model.specificationVersion !== "v2";

/** What a @requesty/ai-sdk chat model was given when it was made: its provider's and its own settings. */
interface RequestyModelSettings {
  readonly config?: { readonly extraBody?: unknown };
  readonly settings?: { readonly extraBody?: unknown; readonly user?: unknown };
}

const objectOr = (value: unknown): Readonly<Record<string, unknown>> => (isObject(value) ? value : {});

// The keys of `providerOptions.requesty` @requesty/ai-sdk 3 reads itself rather than sends in the body's `requesty`.
const REQUESTY_OWN_KEYS = new Set(["includeReasoning", "reasoningEffort", "user", "extraBody"]);

/**
 * Whether the provider makes the body's `requesty` from the per-call `providerOptions.requesty` (any key
 * it does not read itself: a V2 model reads none), which then replaces any set in an `extraBody`.
 */
function sendsFlatKeys(caller: Readonly<Record<string, unknown>>, v2: boolean): boolean {
  for (const name in caller) {
    if (Object.hasOwn(caller, name) && (v2 || !REQUESTY_OWN_KEYS.has(name))) return true;
  }
  return false;
}

type Layer = Readonly<Record<string, unknown>>;

/** `key` as spreading the provider's, the model's and the call's `extraBody` in that order leaves it. */
const lastSet = (key: string, config: Layer, settings: Layer, call: Layer): unknown =>
  Object.hasOwn(call, key) ? call[key] : Object.hasOwn(settings, key) ? settings[key] : config[key];

/**
 * The nesting route (@requesty/ai-sdk). The body's `requesty` is the caller's as the provider makes it
 * without us, ours merged under it (theirs winning key by key): the per-call `providerOptions.requesty`
 * keys the provider does not read itself, when there are any (ours go flat beside them); else the
 * `requesty` of the last `extraBody` that has one (the call's, the model's settings', the provider's,
 * each replacing the one before whole), which ours then replace in the per-call `extraBody` (a key
 * there named like one the provider reads itself, such as `user`, could not go flat). A V2 model has
 * no per-call `extraBody` and reads no flat key itself: there ours go flat. The other fields go in the
 * per-call `extraBody`, which the provider spreads last: a key the user set there, on the provider or
 * the model (or `user` per call or in the settings) is left out of ours.
 */
function nestedOptions(
  caller: Readonly<Record<string, unknown>>,
  key: string,
  body: Readonly<Record<string, unknown>>,
  model: { readonly specificationVersion?: string } & RequestyModelSettings,
): Readonly<Record<string, unknown>> {
  const { [key]: field, ...others } = body;
  const v2 = !hasExtraBody(model);
  const config = objectOr(model.config?.extraBody);
  const settings = objectOr(model.settings?.extraBody);
  let options = caller;
  if (isObject(field)) {
    if (sendsFlatKeys(caller, v2)) options = withBodyFields(caller, field);
    else {
      // A V2 model has no per-call extraBody: there, a flat `extraBody` is just one of the body's keys.
      const callBody = v2 ? {} : objectOr(caller.extraBody);
      const theirs = lastSet(key, config, settings, callBody);
      const requesty = isObject(theirs) ? withBodyFields(theirs, field) : field;
      options = v2 ? { ...requesty } : { ...caller, extraBody: { ...callBody, [key]: requesty } };
    }
  }
  if (hasKeys(others) && !v2) {
    const ours: Record<string, unknown> = {};
    for (const name in others) {
      const theirs =
        name in config ||
        name in settings ||
        (name === "user" && (caller.user !== undefined || model.settings?.user !== undefined));
      if (!theirs) ours[name] = others[name];
    }
    if (hasKeys(ours)) options = { ...options, extraBody: withBodyFields(objectOr(options.extraBody), ours) };
  }
  return options;
}

// @ai-sdk/openai-compatible's generic keys: their settings (`user`, ...) are merged with the named key's, the named winning.
const GENERIC_KEYS = ["openaiCompatible", "openai-compatible"] as const;

/** Our fields less those the caller set under openai-compatible's generic keys (which ours under the name would beat). */
function withoutGenericOnes(
  providerOptions: ProviderOptions,
  body: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  let out: Record<string, unknown> | undefined;
  for (const generic of GENERIC_KEYS) {
    const theirs = providerOptions[generic];
    if (!isObject(theirs)) continue;
    for (const name in body) {
      if (theirs[name] === undefined) continue;
      out ??= { ...body };
      delete out[name];
    }
  }
  return out ?? body;
}

/**
 * The provider options with Tagalong's body fields placed where `route` makes them reach the body.
 * A field the caller already set wins (objects are merged, the caller's keys winning), as does one set
 * on the provider where the route's package keeps it (`@requesty/ai-sdk`'s `extraBody`). Never mutates.
 */
export function withBodyFieldsInProviderOptions(
  providerOptions: ProviderOptions,
  route: BodyRoute,
  body: Readonly<Record<string, unknown>>,
  model: { readonly specificationVersion?: string },
): ProviderOptions {
  switch (route.kind) {
    case "fetch":
      return providerOptions;
    case "nested":
      return {
        ...providerOptions,
        [route.key]: nestedOptions(providerOptions[route.key] ?? {}, route.key, body, model),
      };
    case "provider-options": {
      // openai-compatible 2+ spreads both the raw and the camelCase key, camelCase last; 1.x only the raw
      // key. Ours go under the raw key, and under the camelCase key too when the caller uses it, so the
      // caller's value wins whichever key it sits under.
      const { key, camelKey } = route;
      const fields = withoutGenericOnes(providerOptions, body);
      if (!hasKeys(fields)) return providerOptions;
      const out: ProviderOptions = {
        ...providerOptions,
        [key]: withBodyFields(providerOptions[key] ?? {}, fields),
      };
      if (camelKey !== key && providerOptions[camelKey] !== undefined) {
        out[camelKey] = withBodyFields(providerOptions[camelKey], mergedFields(out[key]!, fields));
      }
      return out;
    }
  }
}

/** Body fields a nesting provider's V2 model cannot carry (all but the nested one); none elsewhere. */
export function unreachableBodyFields(
  route: BodyRoute,
  model: { readonly specificationVersion?: string },
  body: Readonly<Record<string, unknown>>,
): string[] {
  if (route.kind !== "nested" || hasExtraBody(model)) return [];
  return Object.keys(body).filter((name) => name !== route.key);
}

/** The values the raw key now carries for each of our fields (the caller's, merged over ours). */
function mergedFields(
  raw: Readonly<Record<string, unknown>>,
  body: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in body) out[name] = raw[name];
  return out;
}
