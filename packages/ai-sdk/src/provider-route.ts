import { hasKeys, isObject, withBodyFields } from "@tagalong/core/adapter";

/**
 * How the request body fields Tagalong adds (Requesty's `requesty`) reach a provider's wire, decided by
 * the model's `provider` string:
 * - `requesty.chat` (`@requesty/ai-sdk`): it nests `providerOptions.requesty` as the body's `requesty`,
 *   so the field's own keys go in flat (nesting `requesty` inside it would double it). Other top-level
 *   fields go in `providerOptions.requesty.extraBody`, which version 3 spreads into the body.
 * - `openai.*` / `azure.*` (`@ai-sdk/openai`, `@ai-sdk/azure`): unknown keys are dropped, so only a
 *   fetch can add them (`tagalongFetch`).
 * - anything else, e.g. `<name>.chat` (`@ai-sdk/openai-compatible`, or `requesty.completion` of
 *   `@requesty/ai-sdk` 2): `providerOptions[<name>]` is spread into the body, so the fields go there.
 */
export type BodyRoute =
  | { readonly kind: "requesty-flat" }
  | { readonly kind: "fetch"; readonly providerName: string }
  | { readonly kind: "provider-options"; readonly key: string; readonly camelKey: string };

const FETCH_ONLY = new Set(["openai", "azure"]);
const routes = new Map<string, BodyRoute>();

function toCamelCase(name: string): string {
  return name.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function bodyRoute(provider: string): BodyRoute {
  let route = routes.get(provider);
  if (route === undefined) {
    const name = provider.split(".", 1)[0]!.trim();
    if (provider === "requesty.chat" || provider === "requesty") route = { kind: "requesty-flat" };
    else if (FETCH_ONLY.has(name)) route = { kind: "fetch", providerName: name };
    else route = { kind: "provider-options", key: name, camelKey: toCamelCase(name) };
    // Providers are few and long-lived; the cap only guards against a pathological stream of names.
    if (routes.size < 1000) routes.set(provider, route);
  }
  return route;
}

type ProviderOptions = Record<string, Readonly<Record<string, unknown>>>;

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
    case "requesty-flat": {
      const { requesty: field, ...others } = body;
      let requesty: Record<string, unknown> = { ...providerOptions.requesty };
      if (isObject(field)) requesty = withBodyFields(requesty, field);
      if (hasKeys(others) && model.specificationVersion !== "v2") {
        requesty.extraBody = withBodyFields(isObject(requesty.extraBody) ? requesty.extraBody : {}, others);
      }
      return { ...providerOptions, requesty };
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

/**
 * Body fields that cannot reach this model's wire: any, for a provider only a fetch can reach while no
 * `tagalongFetch` exists; all but `requesty` for `@requesty/ai-sdk` 2 (a V2 model, no per-call
 * `extraBody`).
 */
export function unreachableBodyFields(
  route: BodyRoute,
  model: { readonly specificationVersion?: string },
  body: Readonly<Record<string, unknown>>,
  fetchHelperInstalled: boolean,
): string[] {
  if (route.kind === "fetch" && !fetchHelperInstalled) return Object.keys(body);
  if (route.kind === "requesty-flat" && model.specificationVersion === "v2") {
    return Object.keys(body).filter((name) => name !== "requesty");
  }
  return [];
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
