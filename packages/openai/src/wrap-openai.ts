import { type Metadata, TagalongError } from "@tagalong/core";
import {
  isPlainObject,
  type Tagalong,
  type WarnOnce,
  warnOnce,
  withBodyFields,
} from "@tagalong/core/adapter";
import type OpenAI from "openai";
import { beginCall, type CallRecord, modelEndpoint } from "./completed-call";
import { observeCall, observedResponse, parseWatched, type ResponseProps } from "./observe-call";
import { headerNames, withTagalongHeaders } from "./request-headers";

// Symbol.for: a second copy of this package recognises clients and options made by the first.
const CONFIG = Symbol.for("tagalong.openai.config");
const CALL_METADATA = Symbol.for("tagalong.openai.call-metadata");
/**
 * The call a tagged request belongs to, on the request options tagRequest returned: the SDK builds each
 * attempt's request from that object. A field rather than a WeakMap: a WeakMap entry keeps the call
 * alive until a full garbage collection, which made every recorded call outlive the young generation.
 */
const CALL_RECORD = Symbol("tagalong.openai.call-record");
/**
 * The caller's own signal, on the request options of a stream helper's call: openai 5 and 6's helpers
 * send the call with a signal of their own, aborted with no reason when the caller's fires, so the
 * caller's (whose timeout the call is then recorded as) travels under this key, which their spreads keep.
 */
const CALLER_SIGNAL = Symbol("tagalong.openai.caller-signal");

/** The request options of the installed `openai` (its `RequestOptions`, the second argument of `create`). */
export type OpenAIRequestOptions = NonNullable<Parameters<OpenAI["embeddings"]["create"]>[1]>;

/**
 * Request options that carry metadata for one call, merged over the scope (`withMetadata`) and the
 * defaults. Pass them as the second argument of any call of a wrapped client, alone or spread with
 * other options: `create(params, { ...tagalongOptions({ user: "u_42" }), timeout: 10_000 })`.
 * The metadata travels under a symbol key, so it never reaches the wire as itself.
 */
export function tagalongOptions(metadata: Metadata): OpenAIRequestOptions {
  return { [CALL_METADATA]: metadata } as OpenAIRequestOptions;
}

interface WrapConfig {
  readonly tagalong: Tagalong;
  readonly warn: WarnOnce;
}

/** The SDK's final request options (`FinalRequestOptions`), read loosely across majors. */
interface RequestShape {
  method?: string;
  path?: string;
  body?: unknown;
  headers?: unknown;
  signal?: unknown;
  [CALL_METADATA]?: Metadata;
  [CALLER_SIGNAL]?: unknown;
  [CALL_RECORD]?: CallRecord;
}

/** The members of an OpenAI client the wrapper uses (public in openai 5, 6 and 7; `_options` protected). */
interface ClientShape {
  request(options: unknown, remainingRetries?: number | null): unknown;
  requestAPIList(Page: unknown, options: unknown): unknown;
  prepareRequest(request: { headers?: unknown; body?: unknown }, context: { options?: unknown }): unknown;
  withOptions(options: object): ClientShape;
  /** openai 7: how every APIPromise of the client parses a response, derived promises included. */
  parseResponseWithTimeout?(client: unknown, props: ResponseProps): unknown;
  /** openai 7: makes a call's APIPromise, and each promise derived from it, from its response promise. */
  responsePromise?(request: unknown, parse?: unknown): unknown;
  _options?: { defaultHeaders?: unknown; apiKey?: unknown };
  apiKey?: unknown;
  [CONFIG]?: WrapConfig;
}

type ClientClass = new (...args: any[]) => ClientShape;

function attach(client: ClientShape, config: WrapConfig): void {
  Object.defineProperty(client, CONFIG, { value: config, enumerable: false, configurable: false });
  keepCallerSignal(client);
}

/** The stream helpers that send their call with a signal of their own: resource path, then method. */
const SIGNAL_HELPERS: ReadonlyArray<readonly [string[], string]> = [
  [["chat", "completions"], "stream"],
  [["chat", "completions"], "runTools"],
  [["responses"], "stream"],
];

/** A helper method that calls its resource class's own with the caller's signal kept (`CALLER_SIGNAL`). */
function keepingSignal(name: string) {
  return function (this: object, body: unknown, options?: RequestShape): unknown {
    const helper = (Object.getPrototypeOf(this) as Record<string, (...args: unknown[]) => unknown>)[name]!;
    const signal = options?.signal;
    return helper.call(this, body, signal ? { ...options, [CALLER_SIGNAL]: signal } : options);
  };
}

const signalKeepers = new Map(SIGNAL_HELPERS.map(([, name]) => [name, keepingSignal(name)]));

/** Gives the client's stream helpers (on its own resource objects) the methods that keep the caller's signal. */
function keepCallerSignal(client: ClientShape): void {
  for (const [path, name] of SIGNAL_HELPERS) {
    let resource: any = client;
    for (const key of path) resource = resource?.[key];
    if (typeof resource?.[name] === "function" && !Object.hasOwn(resource, name))
      resource[name] = signalKeepers.get(name);
  }
}

/**
 * Adds this call's metadata to its request options, once per logical call: the SDK retries with the
 * options object this returns, so every attempt carries the same headers and body. Runs before
 * anything is sent, so `InvalidMetadataError` rejects the call as itself (not as a connection error,
 * which is what an error thrown inside `fetch` becomes) and is never retried.
 */
function tagRequest(
  client: ClientShape,
  tagalong: Tagalong,
  options: RequestShape,
  call: CallRecord | undefined,
): RequestShape {
  const { [CALL_METADATA]: perCall, [CALLER_SIGNAL]: callerSignal, ...tagged } = options;
  const prepared = tagalong.prepare(perCall);
  const headers = withTagalongHeaders(
    options.headers,
    prepared.headers,
    headerNames(client._options?.defaultHeaders),
  );
  if (headers !== options.headers) tagged.headers = headers;
  // Body fields only on the model endpoints: other endpoints may reject keys they do not know.
  const apiType = modelEndpoint(options.method, options.path);
  if (apiType !== undefined && isPlainObject(options.body)) {
    tagged.body = withBodyFields(options.body, prepared.body);
    if (call) {
      beginCall(call, apiType, options.body, prepared.metadata, prepared.body);
      call.credentials = [client.apiKey, options.headers, client._options?.defaultHeaders];
      call.signal = callerSignal ?? options.signal;
      // Not enumerable: the SDK's debug log prints the options (spread), and the call holds its credentials.
      Object.defineProperty(tagged, CALL_RECORD, { value: call });
    }
  }
  return tagged;
}

/**
 * The SDK's request options (a promise or a value) tagged in a continuation, which keeps the caller's
 * async context (withMetadata scope); a throw there rejects the call's promise.
 */
function tagLater(
  client: ClientShape,
  tagalong: Tagalong,
  options: unknown,
  call: CallRecord | undefined,
): Promise<RequestShape> {
  return Promise.resolve(options as RequestShape).then((o) => tagRequest(client, tagalong, o, call));
}

/**
 * Options `withOptions()` needs to copy this client but does not take from it itself: `AzureOpenAI`
 * (openai 5, 6, 7) keeps `apiVersion` and `deployment` outside `_options`, so its own `withOptions()`
 * throws without OPENAI_API_VERSION and drops the deployment; openai 5 drops an `apiKey` function.
 */
function copyOptions(client: ClientShape): Record<string, unknown> {
  const azure = client as { apiVersion?: unknown; deploymentName?: unknown };
  const out: Record<string, unknown> = {};
  if (typeof azure.apiVersion === "string" && azure.apiVersion !== "") out.apiVersion = azure.apiVersion;
  if (typeof azure.deploymentName === "string") out.deployment = azure.deploymentName;
  // openai 5 copies `this.apiKey`, a placeholder until an `apiKey` function has been called: keep the function.
  const apiKey = client._options?.apiKey;
  if (typeof apiKey === "function") out.apiKey = apiKey;
  return out;
}

const subclasses = new WeakMap<ClientClass, ClientClass>();

/**
 * The call a wrapped client's `request()` is making, while the SDK makes its APIPromise (synchronously,
 * so no other call's can interleave), until openai 7's `responsePromise()` observes it.
 */
let observing: CallRecord | undefined;

/**
 * A subclass of the caller's client class, made once per class. It overrides public methods that
 * openai 5, 6 and 7 share (and `requestAPIList`, below):
 * - `request(options, retries)`: every non-paginated call goes through it exactly once (create, with or
 *   without `stream`, `.stream()`, `.parse()`, `runTools`, responses, embeddings, completions), while
 *   retries go straight to the SDK's private `makeRequest` with the options object we returned. So it is
 *   the one place to tag a logical call once, and the place where the call's APIPromise is created.
 *   `prepareOptions` also sees every request but runs once per attempt and never sees the APIPromise.
 * - `withOptions(options)`: the copy it makes is an instance of this subclass (the SDK constructs
 *   `this.constructor`); it gets the same Tagalong.
 */
function tagalongSubclass(Base: ClientClass): ClientClass {
  let Sub = subclasses.get(Base);
  if (Sub !== undefined) return Sub;
  Sub = class extends Base {
    override request(options: unknown, remainingRetries?: number | null): unknown {
      const config = this[CONFIG];
      if (config === undefined) return super.request(options, remainingRetries);
      const { tagalong } = config;
      const call: CallRecord | undefined = tagalong.recordsCalls ? { start: Date.now() } : undefined;
      observing = call;
      try {
        const promise = super.request(tagLater(this, tagalong, options, call), remainingRetries);
        if (call !== undefined && observing === call) observeCall(promise, call, tagalong);
        return promise;
      } finally {
        observing = undefined;
      }
    }

    // openai 7 (only): the APIPromise request() makes, and each promise derived from it, keep the
    // response promise they are made with, so the call's is observed here, before they are made.
    override responsePromise(request: unknown, parse?: unknown): unknown {
      const call = observing;
      if (call === undefined) return super.responsePromise!(request, parse);
      observing = undefined;
      return super.responsePromise!(
        observedResponse(request as Promise<unknown>, call, this[CONFIG]!.tagalong),
        parse,
      );
    }

    // Paginated list calls (models.list(), files.list(), each next page) bypass request(): headers only.
    override requestAPIList(Page: unknown, options: unknown): unknown {
      const config = this[CONFIG];
      return super.requestAPIList(
        Page,
        config ? tagLater(this, config.tagalong, options, undefined) : options,
      );
    }

    // Each attempt's request as built, before it is sent: its headers (a reference, which the SDK may
    // still add auth to) hold the credentials it really carries, e.g. a token from an `apiKey` function;
    // its body (JSON text) is the request as sent, which a plain call's record is built from later.
    override prepareRequest(
      request: { headers?: unknown; body?: unknown },
      context: { options?: unknown },
    ): unknown {
      const call = (context?.options as RequestShape | undefined)?.[CALL_RECORD];
      if (call !== undefined) {
        call.sentHeaders = request.headers;
        call.sentBody = request.body;
      }
      return super.prepareRequest(request, context);
    }

    // openai 7 (only): a promise derived from a call's APIPromise parses through this, not through the
    // APIPromise's parseResponse. A call's streamed body is watched here then (see observeCall).
    override parseResponseWithTimeout(client: unknown, props: ResponseProps): unknown {
      return parseWatched(super.parseResponseWithTimeout!, this, client, props);
    }

    override withOptions(options: object): ClientShape {
      const client = super.withOptions({ ...copyOptions(this), ...options });
      const config = this[CONFIG];
      // The client's options have no place for metadata: the SDK drops it.
      if (config !== undefined && CALL_METADATA in options) {
        config.warn(
          "withOptions",
          () =>
            "wrapOpenAI: withOptions() drops tagalongOptions() metadata; pass it to each call, or make the calls inside withMetadata()",
        );
      }
      if (config !== undefined && client[CONFIG] === undefined) attach(client, config);
      return client;
    }
  };
  Object.defineProperty(Sub, "name", { value: Base.name });
  subclasses.set(Base, Sub);
  return Sub;
}

/**
 * Returns a copy of `client` whose every call carries Tagalong's metadata: the current `withMetadata`
 * scope merged over the defaults and any `tagalongOptions(...)` option, as each in-flight destination's
 * headers and body fields; after-the-call destinations receive each finished model call.
 *
 * The copy is made with the client's own `withOptions()`, so it keeps every option (baseURL, apiKey,
 * fetch, retries, default headers, ...), and is an instance of a subclass of the client's class:
 * `instanceof` holds and no Proxy sits in between. The client given is not changed.
 * Wrapping a wrapped client throws a TagalongError: wrap the original instead.
 * @example
 * import { createTagalong, portkey, withMetadata } from "@tagalong/core";
 * import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
 * import OpenAI from "openai";
 *
 * const tagalong = createTagalong({ destinations: [portkey()] });
 * const client = wrapOpenAI(new OpenAI(), tagalong);
 * const messages = [{ role: "user" as const, content: "Hi" }];
 * await withMetadata({ user: "u_42" }, () => client.chat.completions.create({ model: "gpt-4o-mini", messages }));
 * await client.chat.completions.create({ model: "gpt-4o-mini", messages }, tagalongOptions({ trace: "run_7" }));
 */
export function wrapOpenAI<C extends OpenAI>(client: C, tagalong: Tagalong): C {
  const c = client as unknown as ClientShape;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.request !== "function" ||
    typeof c.withOptions !== "function"
  ) {
    throw new TagalongError("wrapOpenAI: expected an OpenAI client (new OpenAI(...) from openai 5, 6 or 7)");
  }
  if (typeof tagalong?.prepare !== "function" || typeof tagalong.record !== "function") {
    throw new TagalongError("wrapOpenAI: expected a Tagalong (from createTagalong) as the second argument");
  }
  if (c[CONFIG] !== undefined) {
    throw new TagalongError(
      "wrapOpenAI: this client is already wrapped; wrap the original once, and use withMetadata() or tagalongOptions() for metadata",
    );
  }
  const Sub = tagalongSubclass(c.constructor as ClientClass);
  const copy = c.withOptions(copyOptions(c));
  // The copy is a fresh object the SDK constructed with every option of the original; making it an
  // instance of the subclass keeps its private fields (they belong to the object, not the prototype).
  Object.setPrototypeOf(copy, Sub.prototype);
  attach(copy, { tagalong, warn: warnOnce(tagalong.logger) });
  return copy as unknown as C;
}
