import type { Metadata } from "@tagalong/core";
import {
  failedStatus,
  hasKeys,
  mergeHeaders,
  observeStream,
  type PreparedCall,
  realmSingleton,
  type Tagalong,
} from "@tagalong/core/adapter";
import {
  type CallEnd,
  type CallStart,
  completedCall,
  normalizeFinishReason,
  normalizeUsage,
  outputMessages,
  StreamOutcome,
} from "./completed-call";
import { fetchHelperInstalled, fileBodyFields } from "./fetch-channel";
import { TAGALONG_OPTIONS_KEY } from "./provider-options";
import { bodyRoute, unreachableBodyFields, withBodyFieldsInProviderOptions } from "./provider-route";
import type { CallParams, GenerateResult, ModelInfo, StreamPart, StreamResult } from "./spec";

/**
 * A language model middleware for `wrapLanguageModel` / `wrapProvider` of ai 5, 6 and 7. One plain object
 * carries what each major needs: ai 6 requires `specificationVersion: 'v3'`, ai 7 accepts any version
 * string (and adapts V2/V3 models), ai 5 ignores it. The hooks are generic over each major's call
 * options and results, so the object is assignable to `LanguageModelV2Middleware`, ai 6's
 * `LanguageModelMiddleware` (V3) and ai 7's `LanguageModelMiddleware` (V4).
 */
export interface TagalongMiddleware {
  readonly specificationVersion: "v3";
  readonly transformParams: <P extends CallParams>(options: {
    type: "generate" | "stream";
    params: P;
    model: ModelInfo;
  }) => PromiseLike<P>;
  /** Present only when an after-the-call destination wants completed calls. */
  readonly wrapGenerate?: <R extends GenerateResult>(options: {
    doGenerate: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }) => Promise<R>;
  /** Present only when an after-the-call destination wants completed calls. */
  readonly wrapStream?: <R extends StreamResult>(options: {
    doStream: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }) => Promise<R>;
}

/** One call as the middleware handed it to the model: its prepared metadata, recorded at most once. */
interface CallState {
  readonly prepared: PreparedCall;
  claimed: boolean;
}

// The params objects a tagalongMiddleware produced, shared by every instance (and by duplicate installs
// of the package), so a model wrapped twice is handled once: by the outermost middleware.
const calls = realmSingleton("tagalong.ai-sdk.calls", () => new WeakMap<object, CallState>());

/**
 * The AI SDK retries a failed attempt above the model (maxRetries, default 2), with the same prompt
 * array: a failure it may retry is recorded as provisional, superseded when the next attempt of that
 * prompt starts (the call is then logged once, from the first attempt's start), final otherwise.
 */
interface Provisional {
  readonly startTime: number;
  settle(final: boolean): void;
}
const provisional = new WeakMap<object, Provisional>();
// Longer than the SDK waits between attempts: its backoff (2 s, 4 s, ...) or a Retry-After up to 60 s.
const RETRY_WINDOW_MS = 65_000;

/** Whether the AI SDK may retry after this error (what its retry loop checks). */
const mayBeRetried = (error: unknown): boolean =>
  (error as { isRetryable?: unknown } | undefined)?.isRetryable === true;

/** The earlier attempt of this prompt, superseded now that another starts: its start time, if any. */
function supersede(prompt: object): number | undefined {
  const earlier = provisional.get(prompt);
  if (earlier === undefined) return undefined;
  provisional.delete(prompt);
  earlier.settle(false);
  return earlier.startTime;
}

/** A `final` promise for an attempt's failure the SDK may retry. */
function provisionalOutcome(prompt: object, startTime: number): PromiseLike<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => settle(true), RETRY_WINDOW_MS);
    (timer as { unref?: () => void }).unref?.();
    const settle = (final: boolean): void => {
      clearTimeout(timer);
      if (provisional.get(prompt) === entry) provisional.delete(prompt);
      resolve(final);
    };
    const entry: Provisional = { startTime, settle };
    provisional.set(prompt, entry);
  });
}

/** Claims a call for recording; undefined when it is not ours or another middleware already did. */
function claim(params: object): CallState | undefined {
  const state = calls.get(params);
  if (state === undefined || state.claimed) return undefined;
  state.claimed = true;
  return state;
}

/**
 * Attaches Tagalong metadata to every call of a wrapped model:
 * `wrapLanguageModel({ model, middleware: tagalongMiddleware(tagalong) })`. Per call, pass
 * `providerOptions: { tagalong: { user: "u_42" } }`; it is merged over the scope and the defaults,
 * checked (an InvalidMetadataError is thrown before anything is sent) and removed before the provider
 * sees the options. Portkey's headers go on the request; Requesty's body field goes through the
 * provider's options (`@ai-sdk/openai-compatible`, `@requesty/ai-sdk`) or `tagalongFetch`
 * (`@ai-sdk/openai`). When an after-the-call destination is configured, every finished call, generated
 * or streamed, is recorded off the caller's path.
 * @example
 * import { openai } from "@ai-sdk/openai";
 * import { tagalongMiddleware } from "@tagalong/ai-sdk";
 * import { createTagalong, portkey } from "@tagalong/core";
 * import { generateText, wrapLanguageModel } from "ai";
 *
 * const tagalong = createTagalong({ destinations: [portkey()] });
 * const model = wrapLanguageModel({ model: openai("gpt-4o-mini"), middleware: tagalongMiddleware(tagalong) });
 * await generateText({ model, prompt: "Hi", providerOptions: { tagalong: { user: "u_42" } } });
 */
export function tagalongMiddleware(tagalong: Tagalong): TagalongMiddleware {
  const warned = new Set<string>();

  const transformParams = async <P extends CallParams>({
    params,
    model,
  }: {
    params: P;
    model: ModelInfo;
  }): Promise<P> => {
    // An outer tagalongMiddleware already prepared this very call.
    if (calls.has(params)) return params;
    let providerOptions = params.providerOptions;
    let perCall: Metadata | undefined;
    if (providerOptions !== undefined && TAGALONG_OPTIONS_KEY in providerOptions) {
      const { [TAGALONG_OPTIONS_KEY]: ours, ...rest } = providerOptions;
      perCall = ours as Metadata | undefined;
      providerOptions = rest;
    }
    const prepared = tagalong.prepare(perCall);
    const out: { -readonly [K in keyof CallParams]: CallParams[K] } = { ...params };
    if (providerOptions !== params.providerOptions) out.providerOptions = providerOptions;
    if (hasKeys(prepared.headers)) out.headers = mergeHeaders(params.headers, prepared.headers);
    if (hasKeys(prepared.body)) {
      const route = bodyRoute(model.provider);
      const helper = fetchHelperInstalled();
      if (route.kind !== "fetch") {
        out.providerOptions = withBodyFieldsInProviderOptions(
          providerOptions ?? {},
          route,
          prepared.body,
          model,
        );
      }
      if (route.kind !== "requesty-flat" && helper) {
        // For @ai-sdk/openai (and an openai-compatible provider given tagalongFetch all the same).
        out.abortSignal = fileBodyFields(params.abortSignal, prepared.body);
      }
      const lost = unreachableBodyFields(route, model, prepared.body, helper);
      if (lost.length > 0 && !warned.has(model.provider)) {
        warned.add(model.provider);
        tagalong.logger.warn(
          route.kind === "fetch"
            ? `@tagalong/ai-sdk: ${model.provider} drops unknown body fields, so ${lost.join(", ")} cannot reach its wire; create the provider with { fetch: tagalongFetch() }`
            : `@tagalong/ai-sdk: ${model.provider} (@requesty/ai-sdk 2) takes no extra body fields per call, so ${lost.join(", ")} cannot reach its wire`,
        );
      }
    }
    calls.set(out, { prepared, claimed: false });
    return out as P;
  };

  if (!tagalong.recordsCalls) return { specificationVersion: "v3", transformParams };

  const finish = (start: CallStart, end: CallEnd, final?: PromiseLike<boolean>): void => {
    try {
      const call = completedCall(start, end);
      if (final !== undefined) call.final = final;
      tagalong.record(call);
    } catch (error) {
      tagalong.reportError(error);
    }
  };

  /** The call's start, or undefined when it is not this middleware's to record. */
  const begin = (params: CallParams, model: ModelInfo, stream: boolean): CallStart | undefined => {
    const state = claim(params);
    if (state === undefined) return undefined;
    // A retry of an attempt that failed: one call, timed from its first attempt.
    const startTime = supersede(params.prompt) ?? Date.now();
    return { model, params, metadata: state.prepared.metadata, stream, startTime };
  };

  /** Runs the model; a failure is recorded (provisionally, if the SDK may retry it) and rethrown. */
  const run = async <R>(start: CallStart, call: () => PromiseLike<R>): Promise<R> => {
    try {
      return await call();
    } catch (error) {
      const status = failedStatus(error);
      const final =
        status === "error" && mayBeRetried(error)
          ? provisionalOutcome(start.params.prompt, start.startTime)
          : undefined;
      finish(start, { status, output: [], error }, final);
      throw error;
    }
  };

  const wrapGenerate = async <R extends GenerateResult>({
    doGenerate,
    params,
    model,
  }: {
    doGenerate: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }): Promise<R> => {
    const start = begin(params, model, false);
    if (start === undefined) return doGenerate();
    const result = await run(start, doGenerate);
    let end: CallEnd | undefined;
    try {
      end = {
        status: "success",
        output: outputMessages(result.content),
        usage: normalizeUsage(result.usage),
        finishReason: normalizeFinishReason(result.finishReason),
        responseId: result.response?.id,
      };
    } catch (error) {
      tagalong.reportError(error);
    }
    if (end !== undefined) finish(start, end);
    return result;
  };

  const wrapStream = async <R extends StreamResult>({
    doStream,
    params,
    model,
  }: {
    doStream: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }): Promise<R> => {
    const start = begin(params, model, true);
    if (start === undefined) return doStream();
    const result = await run(start, doStream);
    return {
      ...result,
      stream: observed(result.stream, (end) => finish(start, end), tagalong.reportError),
    };
  };

  return { specificationVersion: "v3", transformParams, wrapGenerate, wrapStream };
}

/** The same stream, part for part, reporting the call's outcome once: when it ends, errors, or the reader cancels it. */
function observed<T extends StreamPart>(
  source: ReadableStream<T>,
  done: (end: CallEnd) => void,
  fail: (error: unknown) => void,
): ReadableStream<T> {
  const outcome = new StreamOutcome();
  return observeStream(source, {
    chunk: (part) => outcome.observe(part),
    end: (end) =>
      done(
        end.how === "done"
          ? outcome.end("success")
          : end.how === "cancel"
            ? outcome.end("aborted", end.reason)
            : outcome.end(failedStatus(end.error), end.error),
      ),
    fail,
  });
}
