import type { Metadata } from "@tagalong/core";
import {
  eachHeaderName,
  hasKeys,
  mergeHeaders,
  type PreparedCall,
  type Tagalong,
  type WarnOnce,
} from "@tagalong/core/adapter";
import { type CallState, preparedBy, remember } from "./call-state";
import {
  type FiledCall,
  fileBodyFields,
  isProviderModel,
  surelyWithoutTagalongFetch,
  usesTagalongFetch,
  warnWithoutFetch,
} from "./fetch-channel";
import { TAGALONG_OPTIONS_KEY } from "./provider-options";
import { bodyRoute, unreachableBodyFields, withBodyFieldsInProviderOptions } from "./provider-route";
import { retryKeys } from "./retried-calls";
import type { CallParams, ModelInfo } from "./spec";

const NO_KEYS: readonly object[] = [];

type MutableParams = { -readonly [K in keyof CallParams]: CallParams[K] };

/** The per-call metadata taken out of `providerOptions.tagalong`, and the options without it. */
function takePerCall(options: CallParams["providerOptions"]): {
  perCall: Metadata | undefined;
  providerOptions: CallParams["providerOptions"];
} {
  if (options === undefined || !(TAGALONG_OPTIONS_KEY in options)) {
    return { perCall: undefined, providerOptions: options };
  }
  const { [TAGALONG_OPTIONS_KEY]: ours, ...rest } = options;
  return { perCall: ours as Metadata | undefined, providerOptions: rest };
}

// The header names each provider sets on every request, read once per provider: keyed by the
// `config.headers` its models share (a function of the provider's), so a model made per call
// (`provider(id)` inline, as wrapProvider's `languageModel(id)` does) adds no entry, nor another read.
const providerHeaders = new WeakMap<object, ReadonlySet<string>>();
const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * The headers the model's provider sets itself (`createOpenAI({ headers })`), lowercased: like the
 * call's own, they win over ours. Read from the `config.headers()` that the AI SDK's provider packages
 * keep; none for a model that has no such thing. A promise when the provider resolves its headers
 * (ai 7's, given `apiKey` as a function): a failure there is the call's own, left to the provider.
 */
function providerHeaderNames(model: object): ReadonlySet<string> | Promise<ReadonlySet<string>> {
  try {
    const headers = (model as { config?: { headers?: unknown } }).config?.headers;
    if (typeof headers !== "function" && (typeof headers !== "object" || headers === null)) return NO_NAMES;
    const known = providerHeaders.get(headers);
    if (known !== undefined) return known;
    const resolved = typeof headers === "function" ? headers() : headers;
    if (typeof (resolved as PromiseLike<unknown> | undefined)?.then === "function") {
      return Promise.resolve(resolved)
        .then((value) => headerNames(headers, value))
        .catch(() => NO_NAMES);
    }
    return headerNames(headers, resolved);
  } catch {
    // A provider that cannot make its headers (no API key yet) fails the call itself; asked again next call.
    return NO_NAMES;
  }
}

/** The names of a provider's headers, kept for the `config.headers` they were made by. */
function headerNames(source: object, headers: unknown): ReadonlySet<string> {
  const names = new Set<string>();
  eachHeaderName(headers, (name) => names.add(name));
  providerHeaders.set(source, names);
  return names;
}

/**
 * Puts the call's body fields where the model's provider sends them; files them for a fetch where only
 * one can. A model that is another middleware's wrapper (ours is not the innermost) hides its provider:
 * the fields are placed by its name and filed for a fetch as well, whose merge lets the body's own keys
 * win (so nothing is doubled), for a provider whose name does not tell its package.
 */
function placeBodyFields(
  out: MutableParams,
  prepared: PreparedCall,
  model: ModelInfo,
  warnOnce: WarnOnce,
): CallState["filed"] {
  const route = bodyRoute(model);
  if (route.kind === "fetch") return fileForFetch(out, prepared.body, model, warnOnce);
  out.providerOptions = withBodyFieldsInProviderOptions(
    out.providerOptions ?? {},
    route,
    prepared.body,
    model,
  );
  // A nesting V2 model given a tagalongFetch: that fetch adds the fields its body lacks.
  const fetched = usesTagalongFetch(model);
  const lost = fetched ? [] : unreachableBodyFields(route, model, prepared.body);
  if (lost.length > 0 && isProviderModel(model)) {
    warnOnce(
      model.provider,
      () =>
        `@tagalong/ai-sdk: ${model.provider} (a V2 model) takes no extra body fields per call, so ${lost.join(", ")} cannot reach its wire; create it with { fetch: tagalongFetch() }`,
    );
  }
  if (fetched) return fileFor(out, prepared.body);
  return isProviderModel(model) ? undefined : fileFor(out, prepared.body, true);
}

/**
 * Files the fields for a provider that only a fetch can add them to; one whose requests surely pass
 * no `tagalongFetch` is named at once instead, and its call keeps the caller's own signal.
 */
function fileForFetch(
  out: MutableParams,
  fields: Readonly<Record<string, unknown>>,
  model: ModelInfo,
  warnOnce: WarnOnce,
): FiledCall | undefined {
  if (!surelyWithoutTagalongFetch(model)) return fileFor(out, fields);
  warnWithoutFetch(warnOnce, model.provider, fields);
  return undefined;
}

/**
 * Files the call's body fields for a `tagalongFetch`: the call goes out under a signal of its own.
 * `placed`: they were placed in the provider options too (see `FiledCall.placed`).
 */
function fileFor(out: MutableParams, fields: Readonly<Record<string, unknown>>, placed = false): FiledCall {
  const filed = fileBodyFields(out.abortSignal, fields, placed);
  out.abortSignal = filed.signal;
  return filed;
}

/**
 * A recorded call with no body fields, to a provider whose requests a `tagalongFetch` can see: filed
 * all the same, so that fetch links the request it sends (its headers, with the provider's API key) to
 * the call, whose error message is then scrubbed of them.
 */
function fileForRecord(out: MutableParams, model: ModelInfo): CallState["filed"] {
  const seen =
    usesTagalongFetch(model) || (bodyRoute(model).kind === "fetch" && !surelyWithoutTagalongFetch(model));
  return seen ? fileFor(out, {}) : undefined;
}

/**
 * A model under the middleware of two Tagalongs: the outermost prepares and records its calls, the
 * inner one (this) adds nothing, so its defaults and destinations get nothing from them. Said once.
 */
function warnTwoTagalongs(warnOnce: WarnOnce): void {
  warnOnce(
    "(two tagalongs)",
    () =>
      "@tagalong/ai-sdk: a model wrapped by the tagalongMiddleware of two different Tagalongs: only the outermost one's metadata and destinations act on its calls; this one's defaults and destinations get nothing from them. Wrap the model with one Tagalong that has every destination.",
  );
}

/**
 * The params the model gets for one call: `providerOptions.tagalong` resolved (over the scope and the
 * defaults), checked and taken out; the in-flight headers added (the caller's win) and the body
 * fields placed (after the provider's headers resolve, when they come as a promise). The caller's
 * objects are not changed. Params an outer tagalongMiddleware already prepared come back as they are
 * (said once if it was another Tagalong's).
 */
export function tagCallParams<P extends CallParams>(
  tagalong: Tagalong,
  params: P,
  model: ModelInfo,
  warnOnce: WarnOnce,
): P | Promise<P> {
  const outer = preparedBy(params);
  if (outer !== undefined) {
    if (outer !== tagalong) warnTwoTagalongs(warnOnce);
    return params;
  }
  const { perCall, providerOptions } = takePerCall(params.providerOptions);
  const prepared = tagalong.prepare(perCall);
  const tagged = (providerNames: ReadonlySet<string> | undefined): P => {
    // A copy with the same keys (no `delete`: the provider reads these params, keep them a fast object).
    const out: MutableParams = { ...params };
    if (providerOptions !== params.providerOptions) out.providerOptions = providerOptions;
    if (providerNames !== undefined) {
      out.headers = mergeHeaders(params.headers, prepared.headers, providerNames);
    }
    const filed = hasKeys(prepared.body)
      ? placeBodyFields(out, prepared, model, warnOnce)
      : tagalong.recordsCalls
        ? fileForRecord(out, model)
        : undefined;
    // Only a recorded call's attempts are matched (a failed one superseded by its retry).
    const keys = tagalong.recordsCalls ? retryKeys(params, model) : NO_KEYS;
    remember(out, { tagalong, prepared, filed, retryKeys: keys, claimed: false });
    return out as P;
  };
  const names = hasKeys(prepared.headers) ? providerHeaderNames(model) : undefined;
  return names instanceof Promise ? names.then(tagged) : tagged(names);
}
