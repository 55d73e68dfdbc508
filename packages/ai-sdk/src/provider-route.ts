import { hasKeys, isObject, withBodyFields } from "@tagalong/core/adapter";

/**
 * How the top-level request body fields Tagalong adds reach a provider's wire. This knows AI SDK
 * provider packages, never a destination: each field is just a name and a value. Decided by the
 * model's `provider` string (`<name>.<api>`):
 * - a provider package that drops unknown body keys (`@ai-sdk/openai`, `@ai-sdk/azure`), or an
 *   embedding model (none sends its provider options as body fields): only a fetch can add them
 *   (`tagalongFetch`);
 * - a provider package that sends `providerOptions[<name>]` as the body field `<name>` itself and
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

const FETCH_ONLY = new Set(["openai", "azure"]);
/** Provider packages whose chat models nest `providerOptions[<name>]` under the body's `<name>`. */
const NESTING = new Set(["requesty"]);
const routes = new Map<string, BodyRoute>();

function toCamelCase(name: string): string {
  return name.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function bodyRoute(provider: string): BodyRoute {
  let route = routes.get(provider);
  if (route === undefined) {
    const dot = provider.indexOf(".");
    const name = (dot === -1 ? provider : provider.slice(0, dot)).trim();
    const api = dot === -1 ? "chat" : provider.slice(dot + 1);
    if (FETCH_ONLY.has(name) || api === "embedding") route = { kind: "fetch", providerName: name };
    else if (NESTING.has(name) && api === "chat") route = { kind: "nested", key: name };
    else route = { kind: "provider-options", key: name, camelKey: toCamelCase(name) };
    // Providers are few and long-lived; the cap only guards against a pathological stream of names.
    if (routes.size < 1000) routes.set(provider, route);
  }
  return route;
}

// The language model classes of @ai-sdk/openai (which @ai-sdk/azure uses too).
const OPENAI_MODELS = new Set([
  "OpenAIChatLanguageModel",
  "OpenAIResponsesLanguageModel",
  "OpenAICompletionLanguageModel",
]);

/**
 * Whether the model is @ai-sdk/openai's, which drops unknown body keys whatever its provider's name
 * (`createOpenAI({ name: "my-proxy" })`, whose `providerOptions["my-proxy"]` it never sends).
 */
export const isOpenAIModel = (model: object): boolean => OPENAI_MODELS.has(model.constructor?.name);

type ProviderOptions = Record<string, Readonly<Record<string, unknown>>>;

/** Whether a model can take body fields beside the nested one (`extraBody`: not a V2 model). */
const hasExtraBody = (model: { readonly specificationVersion?: string }): boolean =>
  model.specificationVersion !== "v2";

/**
 * The provider options with Tagalong's body fields placed where `route` makes them reach the body.
 * A field the caller already set wins (objects are merged, the caller's keys winning). Never mutates.
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
    case "nested": {
      const { [route.key]: field, ...others } = body;
      let options: Record<string, unknown> = { ...providerOptions[route.key] };
      if (isObject(field)) options = withBodyFields(options, field);
      if (hasKeys(others) && hasExtraBody(model)) {
        options.extraBody = withBodyFields(isObject(options.extraBody) ? options.extraBody : {}, others);
      }
      return { ...providerOptions, [route.key]: options };
    }
    case "provider-options": {
      // openai-compatible 2+ spreads both the raw and the camelCase key, camelCase last; 1.x only the raw
      // key. Ours go under the raw key, and under the camelCase key too when the caller uses it, so the
      // caller's value wins whichever key it sits under.
      const { key, camelKey } = route;
      const out: ProviderOptions = {
        ...providerOptions,
        [key]: withBodyFields(providerOptions[key] ?? {}, body),
      };
      if (camelKey !== key && providerOptions[camelKey] !== undefined) {
        out[camelKey] = withBodyFields(providerOptions[camelKey], mergedFields(out[key]!, body));
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
