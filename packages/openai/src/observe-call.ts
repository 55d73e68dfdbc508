import {
  errorInfo,
  failedStatus,
  isAbortError,
  type StreamEnd,
  type Tagalong,
  timeoutOf,
} from "@tagalong/core/adapter";
import { type CallOutcome, type CallRecord, completedCall, sentCall } from "./completed-call";
import { SseDecoder } from "./sse";
import { type EventWatch, watchEvents } from "./stream-events";
import { type StreamAccumulator, sseEvents, streamAccumulator } from "./stream-output";
import { type BodyWatch, bodyWatchOf, watchBody } from "./watched-body";

type Loose = Record<string, any>;

/** What the SDK's request machinery resolves with (its `APIResponseProps`), read loosely. */
export interface ResponseProps {
  response: Response;
  options?: {
    stream?: boolean;
    __streamClass?: unknown;
    __synthesizeEventData?: unknown;
    __streamMode?: unknown;
  };
}

/** The members of the SDK's `APIPromise` used here (openai 5, 6 and 7). */
interface APIPromiseShape {
  responsePromise?: unknown;
  parseResponse?: (this: unknown, client: unknown, props: ResponseProps) => unknown;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

const isEventStream = (response: Response): boolean =>
  /event-stream/i.test(response.headers.get("content-type") ?? "");

let warnedUnobservable = false;

/**
 * Watches one call's outcome without touching what the caller holds. The SDK's `APIPromise` wraps a
 * promise of the final HTTP response (after retries): its `responsePromise` field in openai 5, 6 and 7.
 * Chaining on that inner promise, not on the APIPromise, keeps `.withResponse()`, `.asResponse()` and
 * lazy parsing as they are. Our reaction is registered first (right after the SDK created the promise,
 * before the caller could await it), so it runs before the SDK's parser: it watches where the body is
 * read (`watchBody`). When the SDK's parser reads it, the call is recorded from what the SDK parsed:
 * the value (plain calls) or the events its `Stream` yields (streamed calls), so the body is neither
 * copied nor parsed twice. Any other reader reads an observed copy, and the call is recorded from its
 * bytes. Returns at once.
 *
 * The APIPromise then reads the promise our reaction returns in place of the inner one, which settles
 * as the inner one did: a failed call is recorded, and still rejects unhandled when the caller never
 * awaits it, as it does without Tagalong.
 */
export function observeCall(apiPromise: unknown, call: CallRecord, tagalong: Tagalong): void {
  const promise = apiPromise as APIPromiseShape | undefined;
  const responsePromise = promise?.responsePromise;
  if (!isThenable(responsePromise)) {
    if (!warnedUnobservable) {
      warnedUnobservable = true;
      tagalong.logger.warn(
        "wrapOpenAI: this openai version's APIPromise has no responsePromise; calls are tagged but not recorded",
      );
    }
    return;
  }
  promise!.responsePromise = observedResponse(responsePromise, call, tagalong, promise);
}

/**
 * The call's response promise, observed: settles as `responsePromise` does, after our reaction.
 * `promise` is the call's APIPromise when it exists already (openai 5 and 6), whose parser is watched.
 */
export function observedResponse(
  responsePromise: PromiseLike<unknown>,
  call: CallRecord,
  tagalong: Tagalong,
  promise?: APIPromiseShape,
): Promise<unknown> {
  // Only openai 7 makes the APIPromise after its response promise is observed.
  const watch = new CallWatch(call, tagalong, promise === undefined);
  return Promise.resolve(responsePromise).then(
    (value) => {
      // Only model calls that were tagged (beginCall ran) are recorded.
      if (call.apiType === undefined) return value;
      const props = value as ResponseProps;
      try {
        const { response } = props;
        if (response.body === null) return value;
        watch.response = response;
        watch.stream = props.options?.stream === true;
        props.response = watchBody(response, watch);
        // Only now, and only for the SDK's own stream of a response watched in place: the parse runs
        // after this reaction.
        watch.sdkStream = watch.stream && props.response === response && sdkStream(props.options);
        if (watch.sdkStream && promise !== undefined) watchStreamParsing(promise);
      } catch (error) {
        tagalong.reportError(error);
      }
      return value;
    },
    (error: unknown) => {
      // A call refused before it was sent (bad metadata) never reached a provider: nothing to record.
      if (call.apiType !== undefined) watch.record(failedCall, error, Date.now());
      throw error;
    },
  );
}

/** The SDK's own parser of an APIPromise whose `parseResponse` is `watchedParse`. */
const SDK_PARSE = Symbol("tagalong.openai.sdk-parse");

type WatchedPromise = APIPromiseShape & { [SDK_PARSE]?: APIPromiseShape["parseResponse"] };

/**
 * Watches where the SDK parses this call's streamed body into its `Stream`: the APIPromise's
 * `parseResponse`, through which the promises openai 5 and 6 derive from it (`_thenUnwrap`) parse
 * too. (openai 7's derived promises parse through the client's `parseResponseWithTimeout`, which
 * wrapOpenAI's subclass watches with `parseWatched`.)
 *
 * The promise gets a function shared by all calls, and the call's state is found through the response
 * it parses: a per-call closure stored on the promise measurably raised the garbage collector's time
 * per call (it keeps the call's objects reachable from the SDK's promise).
 */
function watchStreamParsing(promise: WatchedPromise): void {
  const parse = promise.parseResponse;
  if (typeof parse !== "function" || parse === watchedParse) return;
  promise[SDK_PARSE] = parse;
  promise.parseResponse = watchedParse;
}

function watchedParse(this: unknown, client: unknown, props: ResponseProps): unknown {
  return parseWatched((this as WatchedPromise)[SDK_PARSE]!, this, client, props);
}

/**
 * The SDK's `parse(client, props)` of a response, watched: when it is a watched call's stream and
 * nothing else read its body yet, the body goes to the SDK as it is and the events of the `Stream`
 * it returns are watched.
 */
export function parseWatched(
  parse: (this: unknown, client: unknown, props: ResponseProps) => unknown,
  self: unknown,
  client: unknown,
  props: ResponseProps,
): unknown {
  const watch = bodyWatchOf(props.response) as CallWatch | undefined;
  if (watch !== undefined && watch.by === undefined && watch.parses) {
    // openai 7 parses a plain body under its own `timeout`: how that parse settles is what the caller gets.
    const parsed = parse.call(self, client, props);
    watch.sdkParsing = true;
    Promise.resolve(parsed).then(
      () => watch.sdkParsed(undefined),
      (error: unknown) => watch.sdkParsed(error),
    );
    return parsed;
  }
  if (watch === undefined || watch.by !== undefined || !watch.sdkStream)
    return parse.call(self, client, props);
  watch.by = "sdk";
  return Promise.resolve(parse.call(self, client, props)).then((stream) => watch.streamParsed(stream));
}

/** Whether the SDK parses this streamed response into its plain `Stream` of events (not a custom class or mode). */
function sdkStream(options: ResponseProps["options"]): boolean {
  return (
    options?.__streamClass === undefined &&
    options?.__synthesizeEventData === undefined &&
    options?.__streamMode === undefined
  );
}

/**
 * One model call being watched: its response body (`BodyWatch`), the events of its stream
 * (`EventWatch`), and how each way of reading ends in its record. Made per call; its methods are
 * shared, so watching allocates this object and little else.
 */
class CallWatch implements BodyWatch, EventWatch {
  by?: "sdk" | "copy";
  copy?: Response;
  /** The SDK's response, once it arrived (the body is watched from then on). */
  response?: Response;
  /** Whether the SDK was asked for a stream. */
  stream = false;
  /** Whether the SDK parses the stream into its plain `Stream` of events (whose events are then watched). */
  sdkStream = false;
  /** openai 7: the SDK's parse of this plain body (`parseWatched`) has not settled yet. */
  sdkParsing = false;
  /** How the SDK's parse of this plain body failed, once it settled. */
  sdkError?: unknown;
  /** A plain body cut short while the SDK's parse had not settled: recorded once it has. */
  heldEnd?: StreamEnd;
  #accumulator?: StreamAccumulator;

  constructor(
    readonly call: CallRecord,
    readonly tagalong: Tagalong,
    /** openai 7: its `Stream` ends at exactly `[DONE]` (openai 5 and 6: at any data beginning with it) and words its errors its own way. */
    readonly openai7: boolean,
  ) {}

  get parses(): boolean {
    return !this.stream;
  }

  parse(text: Promise<string>, json: boolean): Promise<unknown> {
    return text.then(
      (body) => this.read(body, json),
      (error) => this.failed(error),
    );
  }

  get accumulator(): StreamAccumulator {
    return (this.#accumulator ??= streamAccumulator(this.call.apiType!));
  }

  /**
   * The SDK read a plain body to its end as `text`: returns the value its reader gets (`json`: parsed).
   * The call is recorded from the text, which nothing can change, so its record is built later, off
   * the caller's path, from that and the request as sent (`sentCall`).
   */
  read(text: string, json: boolean): unknown {
    const end: StreamEnd = { how: "done", at: Date.now() };
    let value: unknown = text;
    if (json) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        this.failed(error);
      }
    }
    const call = this.call;
    const tagalong = this.tagalong;
    if (!json && isEventStream(this.response!))
      this.record(sseOutcome, [new TextEncoder().encode(text)], end);
    else if (typeof call.sentBody === "string" && typeof tagalong.recordLater === "function") {
      tagalong.recordLater(() => completedCall(sentCall(call) ?? call, plainOutcome({ text }, end)));
    } else this.record(plainOutcome, { text }, end);
    return value;
  }

  /**
   * The SDK's parse of a plain body failed: a body that is not JSON was read to its end; anything else
   * cut it short (with the call's signal's timeout as the error when that did).
   */
  failed(error: unknown): never {
    const at = Date.now();
    const end: StreamEnd =
      (error as Error | undefined)?.name === "SyntaxError"
        ? { how: "done", at }
        : stoppedBy(this.call, { how: "error", at, error });
    if (end.how === "error" && isAbortError(end.error) && this.sdkParsing) this.heldEnd = end;
    else this.record(plainOutcome, { text: "" }, this.asSdkFailed(end));
    throw error;
  }

  /** The SDK's parse of this plain body settled (`error` when it failed): a held end is recorded now. */
  sdkParsed(error: unknown): void {
    this.sdkParsing = false;
    this.sdkError = error;
    const end = this.heldEnd;
    if (end === undefined) return;
    this.heldEnd = undefined;
    this.record(plainOutcome, { text: "" }, this.asSdkFailed(end));
  }

  /**
   * A body cut short by an abort, when the SDK's parse failed with an error of its own: that error,
   * which the caller got (openai 7 aborts a body its `timeout` cut short with no reason, and throws
   * `APIConnectionTimeoutError`).
   */
  asSdkFailed(end: StreamEnd): StreamEnd {
    const error = this.sdkError;
    if (end.how !== "error" || !isAbortError(end.error) || error === undefined || isAbortError(error))
      return end;
    return { how: "error", at: end.at, error };
  }

  /** The SDK parsed a streamed body into its `Stream`: its events are watched, or else its reads go through the copy. */
  streamParsed(stream: unknown): unknown {
    if (!watchEvents(stream, this)) this.by = undefined;
    return stream;
  }

  /**
   * The SDK's stream ended: what its events added up to is final, so the record is built later, off
   * the caller's path, like a plain call's (and from the request as sent).
   */
  ended(stop: StreamEnd): void {
    const { call, tagalong, accumulator } = this;
    const end = stoppedBy(call, stop);
    if (typeof call.sentBody === "string" && typeof tagalong.recordLater === "function") {
      tagalong.recordLater(() => completedCall(sentCall(call) ?? call, accumulatedOutcome(accumulator, end)));
    } else this.record(accumulatedOutcome, accumulator, end);
  }

  copied(chunks: Uint8Array[], stop: StreamEnd): void {
    const end = stoppedBy(this.call, stop);
    if (this.stream || isEventStream(this.response!)) this.record(sseOutcome, chunks, end);
    else this.record(plainOutcome, { chunks }, end);
  }

  fail(error: unknown): void {
    this.tagalong.reportError(error);
  }

  /**
   * Builds and hands over the completed call from `outcome(input, end)`; a failure here is
   * Tagalong's, so it goes to reportError.
   */
  record<T, E>(outcome: (this: CallWatch, input: T, end: E) => CallOutcome, input: T, end: E): void {
    try {
      this.tagalong.record(completedCall(this.call, outcome.call(this, input, end)));
    } catch (error) {
      this.tagalong.reportError(error);
    }
  }
}

/** A call whose request failed (no answer, an HTTP error, an abort or a timeout before the answer). */
function failedCall(this: CallWatch, thrown: unknown, end: number): CallOutcome {
  const error = failureOf(this.call, thrown);
  return {
    status: failedStatus(error),
    error: errorInfo(error),
    stream: this.call.params?.stream === true,
    end,
  };
}

/**
 * What failed the call: `error`, or, when that is the SDK's abort and a timeout aborted the call's
 * signal, the timeout (the SDK reports it as its own abort, and aborts a body with no reason).
 */
function failureOf(call: CallRecord, error: unknown): unknown {
  return (isAbortError(error) && timeoutOf(call.signal)) || error;
}

/** How a call's body ended, with its signal's timeout as the error when that cut the body short. */
function stoppedBy(call: CallRecord, end: StreamEnd): StreamEnd {
  if (end.how !== "error") return end;
  const error = failureOf(call, end.error);
  return error === end.error ? end : { how: "error", at: end.at, error };
}

/** A plain (not streamed) body as its reader got it: the text, or the raw chunks. */
type PlainBody = { text: string } | { chunks: Uint8Array[] };

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** A plain call's outcome from the body its reader got and how the read ended. */
function plainOutcome(body: PlainBody, end: StreamEnd): CallOutcome {
  let response: Loose | undefined;
  let complete = true;
  // A body cut short does not parse: the call then has no output.
  try {
    const text = "text" in body ? body.text : new TextDecoder().decode(concat(body.chunks));
    response = JSON.parse(text) as Loose;
  } catch {
    complete = false;
  }
  return outcome(response, complete, undefined, end, false);
}

/**
 * A streamed call's outcome from the bytes its reader saw and how the body ended, its events read as
 * the SDK's `Stream` reads them: where it threw for an event that is not JSON, the stream ended with
 * that error, as it does when the SDK's own events are watched.
 */
function sseOutcome(this: CallWatch, chunks: Uint8Array[], end: StreamEnd): CallOutcome {
  const accumulator = this.accumulator;
  const events = sseEvents(accumulator, this.openai7);
  const decoder = new SseDecoder(events.push);
  for (const chunk of chunks) decoder.push(chunk);
  if (end.how === "done") decoder.end();
  const error = events.malformed;
  return accumulatedOutcome(accumulator, error === undefined ? end : { how: "error", at: end.at, error });
}

/** A streamed call's outcome from what its events added up to and how the stream ended. */
function accumulatedOutcome(accumulator: StreamAccumulator, end: StreamEnd): CallOutcome {
  const result = accumulator.result();
  return outcome(result.response, result.complete, result.error, end, true);
}

function outcome(
  response: Loose | undefined,
  complete: boolean,
  error: CallOutcome["error"],
  end: StreamEnd,
  stream: boolean,
): CallOutcome {
  if (!stream && !complete && end.how === "done") {
    error = { type: "SyntaxError", message: "the response body is not JSON" };
  }
  let status: CallOutcome["status"] = error ? "error" : "success";
  // Stopping (or failing) before the answer was complete; a body read to its end counts as complete.
  if (!complete && end.how !== "done" && !error) {
    if (end.how === "cancel") status = "aborted";
    else {
      status = isAbortError(end.error) ? "aborted" : "error";
      error = errorInfo(end.error);
    }
  }
  return { status, response, error, stream, end: end.at };
}
