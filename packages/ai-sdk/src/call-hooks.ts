import {
  failedStatus,
  hasKeys,
  isObject,
  observeStream,
  type Tagalong,
  type WarnOnce,
} from "@tagalong/core/adapter";
import type { CallState } from "./call-state";
import {
  type CallEnd,
  type CallStart,
  completedCall,
  normalizeFinishReason,
  normalizeUsage,
  outputMessages,
  StreamOutcome,
} from "./completed-call";
import { surelySent, warnWithoutFetch } from "./fetch-channel";
import { type HeldFailure, mayBeRetried, provisionalOutcome, retryContent, supersede } from "./retried-calls";
import type { CallParams, EmbedResult, GenerateResult, ModelInfo, StreamPart, StreamResult } from "./spec";

/** What the wrap hooks do around one claimed call: record it, and check its filed body fields were taken. */
export interface CallHooks {
  generate<R extends GenerateResult>(
    state: CallState,
    call: () => PromiseLike<R>,
    params: CallParams,
    model: ModelInfo,
  ): Promise<R>;
  stream<R extends StreamResult>(
    state: CallState,
    call: () => PromiseLike<R>,
    params: CallParams,
    model: ModelInfo,
  ): Promise<R>;
  embed<R extends EmbedResult>(
    state: CallState,
    call: () => PromiseLike<R>,
    params: CallParams,
    model: ModelInfo,
  ): Promise<R>;
}

/** How a generated call ended. */
const generated = (result: GenerateResult): CallEnd => ({
  status: "success",
  output: outputMessages(result.content),
  usage: normalizeUsage(result.usage),
  finishReason: normalizeFinishReason(result.finishReason),
  responseId: result.response?.id,
});

/** How an embedding call ended: no output, its usage as input tokens. */
const embedded = (result: EmbedResult): CallEnd => {
  const tokens = result.usage?.tokens;
  return { status: "success", output: [], usage: tokens === undefined ? undefined : { inputTokens: tokens } };
};

/**
 * After the provider answered, its request has been sent (unless a middleware inside ours answered,
 * as a cache does): a call whose body fields were filed for a fetch and not taken went out through a
 * fetch that is not `tagalongFetch`, or one that could not add them (said with its reason). Fields
 * placed in the provider options as well (a model another middleware wraps) count as sent when the
 * request body the provider reports has them, our keys in an object field included; those it lacks are
 * named. Said once per provider. Not asked of a failed call: the provider may have refused it before
 * sending anything.
 */
function checkFiled(state: CallState, model: ModelInfo, warnOnce: WarnOnce, result: unknown): void {
  const { filed } = state;
  if (filed === undefined || filed.taken || !hasKeys(filed.fields) || !surelySent(model, filed)) return;
  if (filed.missed !== undefined) {
    const { missed } = filed;
    warnOnce(
      `${model.provider} fetch missed`,
      () =>
        `@tagalong/ai-sdk: tagalongFetch could not add ${Object.keys(filed.fields).join(", ")} to a request of ${model.provider}: ${missed}`,
    );
    return;
  }
  const lacking = filed.placed ? lackedFields(result, filed.fields) : filed.fields;
  if (lacking !== undefined) warnWithoutFetch(warnOnce, model.provider, lacking);
}

/**
 * What of the fields the request body a provider reports with its result (`request.body`) surely
 * lacks: those it does not have (the others reached the wire), else the name of one it has as an
 * object without some of our keys (a middleware inside ours set that provider option itself, after
 * ours were placed, as `defaultSettingsMiddleware` does); `undefined` when it has them all or cannot
 * tell. One level deep, as `tagalongFetch` merges a field the body has.
 */
function lackedFields(
  result: unknown,
  fields: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> | string | undefined {
  let body = (result as { request?: { body?: unknown } } | undefined)?.request?.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!isObject(body)) return undefined;
  let absent: Record<string, unknown> | undefined;
  let partial: string | undefined;
  for (const name in fields) {
    const ours = fields[name];
    const theirs = body[name];
    if (theirs === undefined) (absent ??= {})[name] = ours;
    else if (partial === undefined && isObject(ours) && isObject(theirs)) {
      for (const key in ours) {
        if (theirs[key] === undefined) {
          partial = name;
          break;
        }
      }
    }
  }
  return absent ?? partial;
}

/** The wrap hooks' work for one middleware. */
export function callHooks(tagalong: Tagalong, warnOnce: WarnOnce): CallHooks {
  const recording = tagalong.recordsCalls;

  const finish = (start: CallStart, end: CallEnd, final?: PromiseLike<boolean>): void => {
    try {
      const call = completedCall(start, end);
      if (final !== undefined) call.final = final;
      tagalong.record(call);
    } catch (error) {
      tagalong.reportError(error);
    }
  };

  const begin = (
    state: CallState,
    params: CallParams,
    model: ModelInfo,
    stream: boolean,
  ): CallStart | undefined => {
    if (!recording) return undefined;
    // A retry of an attempt that failed: one call, timed from its first attempt.
    const { metadata } = state.prepared;
    const startTime = supersede(state.retryKeys, retryContent(params), metadata) ?? Date.now();
    return { model, params, metadata, stream, startTime, sent: state.filed };
  };

  /** Runs the model; a failure is recorded (provisionally, if the SDK may retry it) and rethrown. */
  const run = async <R>(
    state: CallState,
    start: CallStart | undefined,
    call: () => PromiseLike<R>,
    model: ModelInfo,
  ): Promise<R> => {
    let result: R;
    try {
      result = await call();
    } catch (error) {
      if (start !== undefined) {
        const status = failedStatus(error);
        const final =
          status === "error" && mayBeRetried(error)
            ? provisionalOutcome(state.retryKeys, retryContent(start.params), start.metadata, start.startTime)
                .final
            : undefined;
        finish(start, { status, output: [], error }, final);
      }
      throw error;
    }
    checkFiled(state, model, warnOnce, result);
    return result;
  };

  /** Runs a call answered at once, and records how it ended. */
  const settled = async <R>(
    state: CallState,
    call: () => PromiseLike<R>,
    params: CallParams,
    model: ModelInfo,
    ended: (result: R) => CallEnd,
  ): Promise<R> => {
    const start = begin(state, params, model, false);
    try {
      const result = await run(state, start, call, model);
      if (start !== undefined) {
        let end: CallEnd | undefined;
        try {
          end = ended(result);
        } catch (error) {
          tagalong.reportError(error);
        }
        if (end !== undefined) finish(start, end);
      }
      return result;
    } finally {
      state.filed?.release();
    }
  };

  return {
    generate: (state, call, params, model) => settled(state, call, params, model, generated),
    embed: (state, call, params, model) => settled(state, call, params, model, embedded),

    async stream<R extends StreamResult>(
      state: CallState,
      call: () => PromiseLike<R>,
      params: CallParams,
      model: ModelInfo,
    ): Promise<R> {
      const start = begin(state, params, model, true);
      let result: R;
      try {
        result = (await run(state, start, call, model)) as R;
      } catch (error) {
        state.filed?.release();
        throw error;
      }
      // The stream's body still reads under the call's signal when no tagalongFetch took it: keep it
      // following the caller's until the stream ends.
      const filed = state.filed !== undefined && !state.filed.taken ? state.filed : undefined;
      if (start === undefined && filed === undefined) return result;
      // Only ai 7 (a V4 model) retries a stream that carried an error part (`streamRetries`): it
      // cancels the stream and starts the next attempt at once, so the failure is held from that part on.
      const retries = start !== undefined && model.specificationVersion === "v4";
      let held: HeldFailure | undefined;
      return {
        ...result,
        stream: observed(
          result.stream,
          {
            failed: retries
              ? () => {
                  held = provisionalOutcome(
                    state.retryKeys,
                    retryContent(params),
                    start.metadata,
                    start.startTime,
                  );
                }
              : undefined,
            end: (end, cancelled) => {
              filed?.release();
              if (start === undefined) return;
              // Not cancelled: it was not retried, and is final.
              if (held !== undefined && !cancelled) held.settle(true);
              finish(start, end, cancelled ? held?.final : undefined);
            },
          },
          tagalong.reportError,
        ),
      };
    },
  };
}

/** What `observed` reports of a stream. */
interface StreamWatch {
  /** At the first error part. */
  readonly failed?: (() => void) | undefined;
  /** Once: when it ends, errors or is cancelled (`cancelled`). */
  readonly end: (end: CallEnd, cancelled: boolean) => void;
}

/** The same stream, part for part, reporting the call's outcome once: when it ends, errors, or the reader cancels it. */
function observed<T extends StreamPart>(
  source: ReadableStream<T>,
  watch: StreamWatch,
  fail: (error: unknown) => void,
): ReadableStream<T> {
  const outcome = new StreamOutcome(watch.failed);
  return observeStream(source, {
    chunk: (part) => outcome.observe(part),
    end: (end) => {
      if (end.how === "done") watch.end(outcome.end("success"), false);
      else if (end.how === "cancel") watch.end(outcome.end("aborted", end.reason), true);
      else watch.end(outcome.end(failedStatus(end.error), end.error), false);
    },
    fail,
  });
}
