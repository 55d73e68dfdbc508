import {
  errorInfo,
  failedStatus,
  isAbortError,
  observeStream,
  type StreamEnd,
  type Tagalong,
} from "@tagalong/core/adapter";
import { type CallOutcome, type CallRecord, completedCall } from "./completed-call";
import { SseDecoder } from "./sse";
import { type StreamAccumulator, sseEvents, streamAccumulator } from "./stream-output";

type Loose = Record<string, any>;

/** What the SDK's request machinery resolves with (its `APIResponseProps`), read loosely. */
interface ResponseProps {
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
  _thenUnwrap?: (this: unknown, transform: unknown) => APIPromiseShape;
}

/** The members of the SDK's `Stream` used here (openai 5, 6 and 7): what its iteration starts from. */
interface SdkStream {
  iterator?: (this: unknown, ...args: unknown[]) => AsyncIterator<unknown>;
  controller?: { signal?: AbortSignal };
}

/**
 * How a streamed call is watched: through the events the SDK's own `Stream` parsed ("events"), or,
 * when something else reads the body (an `.asResponse()` reader, an unknown stream class, a frozen
 * response), through an observed copy of its bytes ("bytes"). The first to start wins.
 */
type Watch = { by?: "events" | "bytes" };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

let warnedUnobservable = false;

/**
 * Watches one call's outcome without touching what the caller holds. The SDK's `APIPromise` wraps a
 * promise of the final HTTP response (after retries): its `responsePromise` field in openai 5, 6 and 7.
 * Chaining on that inner promise, not on the APIPromise, keeps `.withResponse()`, `.asResponse()` and
 * lazy parsing as they are. Our reaction is registered first (right after the SDK created the promise,
 * before the caller could await it), so it runs before the SDK's parser: it watches where the body is
 * read (see `watchedResponse`). A streamed body the SDK parses is watched through the events its
 * `Stream` yields (`parseResponse` is the APIPromise's parser, which `_thenUnwrap` copies call by call).
 * Returns at once.
 *
 * Because this handles the inner promise, a failed call whose APIPromise the caller never awaits is
 * recorded as an error rather than surfacing as an unhandled rejection.
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
  const watch: Watch = {};
  watchParsing(promise!, call, watch, tagalong);
  responsePromise.then(
    (value) => {
      // Only model calls that were tagged (beginCall ran) are recorded.
      if (call.apiType === undefined) return;
      const props = value as ResponseProps;
      try {
        const { response } = props;
        if (response.body === null) return;
        if (props.options?.stream === true) {
          props.response =
            watchedResponse(response, watch, streamReaders(call, tagalong)) ??
            streamCopy(response, watch, call, tagalong);
        } else if (/event-stream/i.test(response.headers.get("content-type") ?? "")) {
          props.response = streamCopy(response, watch, call, tagalong);
        } else {
          props.response =
            watchedResponse(response, watch, plainReaders(call, tagalong)) ??
            observedResponse(
              response,
              response.body,
              (chunks, end) => record(call, () => plainOutcome({ chunks }, end), tagalong),
              tagalong.reportError,
            );
        }
      } catch (error) {
        tagalong.reportError(error);
      }
    },
    (error: unknown) => {
      // A call refused before it was sent (bad metadata) never reached a provider: nothing to record.
      if (call.apiType === undefined) return;
      const end = Date.now();
      record(
        call,
        () => ({
          status: failedStatus(error),
          error: errorInfo(error),
          stream: call.params?.stream === true,
          end,
        }),
        tagalong,
      );
    },
  );
}

/**
 * Watches where the SDK parses a streamed body of this call into its `Stream`: the APIPromise's
 * `parseResponse`, and that of every promise its `_thenUnwrap` derives when it is the promise's own
 * (openai 7: a derived promise parses through the SDK's parser directly, not through the first
 * promise's `parseResponse`; openai 5 and 6 derive through it). The first parse that starts wins:
 * the body then goes to the SDK as it is, and the events its `Stream` yields are watched; a result
 * that is no such `Stream` leaves the body to the observed copy, which the `Stream` reads lazily.
 */
function watchParsing(promise: APIPromiseShape, call: CallRecord, watch: Watch, tagalong: Tagalong): void {
  const parse = promise.parseResponse;
  if (typeof parse === "function") {
    promise.parseResponse = function (client, props) {
      // Only the SDK's own stream of a model call, before anything else read its body.
      if (watch.by !== undefined || call.apiType === undefined || !sdkStream(props.options)) {
        return parse.call(this, client, props);
      }
      watch.by = "events";
      return Promise.resolve(parse.call(this, client, props)).then((stream) => {
        if (!watchEvents(stream, call, tagalong)) watch.by = undefined;
        return stream;
      });
    };
  }
  const unwrap = Object.hasOwn(promise, "_thenUnwrap") ? promise._thenUnwrap : undefined;
  if (typeof unwrap === "function") {
    promise._thenUnwrap = function (transform) {
      const derived = unwrap.call(this, transform);
      watchParsing(derived, call, watch, tagalong);
      return derived;
    };
  }
}

/** Whether the SDK parses this response into its plain `Stream` of events (not a custom class or mode). */
function sdkStream(options: ResponseProps["options"]): boolean {
  return (
    options?.stream === true &&
    options.__streamClass === undefined &&
    options.__synthesizeEventData === undefined &&
    options.__streamMode === undefined
  );
}

/** A streamed body watched through an observed copy of its bytes, SSE-decoded when it ends. */
function streamCopy(response: Response, watch: Watch, call: CallRecord, tagalong: Tagalong): Response {
  watch.by = "bytes";
  return observedResponse(
    response,
    response.body!,
    (chunks, end) => record(call, () => streamedOutcome(call, chunks, end), tagalong),
    tagalong.reportError,
  );
}

/**
 * The events of the SDK's `Stream`, watched as its first iteration pulls them (`tee()`,
 * `toReadableStream()` and the stream helpers all iterate through `iterator`): each is added up as it
 * passes, before the reader gets it, and the call is recorded when the iteration ends, before the
 * reader sees the end. A second iteration (which the SDK refuses) is not watched. False when `stream`
 * is not such a `Stream`.
 */
function watchEvents(stream: unknown, call: CallRecord, tagalong: Tagalong): boolean {
  const s = stream as SdkStream | undefined;
  const iterate = s?.iterator;
  if (typeof iterate !== "function") return false;
  let started = false;
  s!.iterator = function (...args) {
    const source = iterate.apply(this, args);
    if (started) return source;
    started = true;
    return watchedIterator(source, s!, call, tagalong);
  };
  return true;
}

function watchedIterator(
  source: AsyncIterator<unknown>,
  stream: SdkStream,
  call: CallRecord,
  tagalong: Tagalong,
): AsyncIterator<unknown> & AsyncIterable<unknown> {
  const accumulator = streamAccumulator(call.apiType!);
  let ended = false;
  const end = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    record(call, () => accumulatedOutcome(accumulator, how), tagalong);
  };
  const onNext = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (result.done) {
      // The SDK ends its iteration quietly when the request was aborted mid-stream.
      const signal = stream.controller?.signal;
      end(
        signal?.aborted === true
          ? { how: "error", at: Date.now(), error: signal.reason }
          : { how: "done", at: Date.now() },
      );
    } else if (!ended) {
      try {
        accumulator.push(result.value);
      } catch (error) {
        tagalong.reportError(error);
      }
    }
    return result;
  };
  const onThrow = (error: unknown): never => {
    // An error event in the stream: the SDK throws it as an APIError with no status, carrying the event's error.
    const thrown = error as { status?: unknown; error?: unknown } | undefined;
    if (thrown?.status === undefined && typeof thrown?.error === "object" && thrown.error !== null) {
      accumulator.fail(thrown.error);
    }
    end({ how: "error", at: Date.now(), error });
    throw error;
  };
  return {
    next: (...args: [] | [unknown]) => source.next(...args).then(onNext, onThrow),
    return: (value?: unknown) => {
      end({ how: "cancel", at: Date.now(), reason: undefined });
      return source.return ? source.return(value) : Promise.resolve({ done: true, value });
    },
    throw: (error?: unknown) => (source.throw ? source.throw(error) : Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * A response like `original` (status, headers, url) whose body passes each chunk to the reader as it
 * is pulled (the kit's observed stream) and keeps a reference to it. `onEnd` parses the chunks once,
 * when the body ends, before the reader sees the end: so the call is recorded before the caller's
 * `await` returns, and a `flush()` right after it waits for its delivery.
 */
function observedResponse(
  original: Response,
  source: ReadableStream<Uint8Array>,
  onEnd: (chunks: Uint8Array[], end: StreamEnd) => void,
  onFail: (error: unknown) => void,
): Response {
  const chunks: Uint8Array[] = [];
  const body = observeStream(source, {
    chunk: (chunk) => chunks.push(chunk),
    end: (end) => onEnd(chunks, end),
    fail: onFail,
  });
  const copy = new Response(body, {
    status: original.status,
    statusText: original.statusText,
    headers: original.headers,
  });
  // What a constructed Response cannot take in its init: keep the original's values.
  Object.defineProperties(copy, {
    url: { value: original.url },
    redirected: { value: original.redirected },
    type: { value: original.type },
  });
  return copy;
}

/** A plain (not streamed) body as its reader got it: the value `json()` parsed, the text, or the raw chunks. */
type PlainBody = { parsed: unknown } | { text: string } | { chunks: Uint8Array[] };

/**
 * How one response's body is watched: `copy` makes the observed copy that readers go through;
 * `own` are readers watched on the original itself (a plain body's `json()` and `text()`).
 */
interface Readers {
  copy(original: Response, source: ReadableStream<Uint8Array>): Response;
  own?(original: Response, copy: () => Response): PropertyDescriptorMap;
}

const BODY_READERS = ["arrayBuffer", "blob", "bytes", "formData", "json", "text"] as const;

/**
 * The SDK's own response, watched where it is read, so the body is neither re-streamed nor parsed
 * twice on the caller's path: `readers.own` (a plain body's `json()` and `text()`), or the events of
 * the SDK's `Stream` once `watch.by` is "events" (`.body` is then the body itself). Any other read
 * (`.body`, `arrayBuffer()`... on an `.asResponse()`) goes through an observed copy made only then.
 * Undefined when the response cannot be given these (it is frozen).
 */
function watchedResponse(original: Response, watch: Watch, readers: Readers): Response | undefined {
  // A response that cannot take them (frozen by a custom fetch) is observed through a copy instead.
  if (!Object.isExtensible(original)) return undefined;
  const source = original.body!;
  let copy: Response | undefined;
  const viaCopy = (): Response => {
    if (copy === undefined) {
      watch.by ??= "bytes";
      copy = readers.copy(original, source);
    }
    return copy;
  };
  const own = (value: unknown): PropertyDescriptor => ({ value, configurable: true, writable: true });
  const props: PropertyDescriptorMap = {
    body: { configurable: true, get: () => (watch.by === "events" ? source : viaCopy().body) },
  };
  for (const name of BODY_READERS) {
    const read = (original as unknown as Record<string, unknown>)[name];
    if (typeof read === "function") props[name] = own(() => (viaCopy() as any)[name]());
  }
  if (readers.own) Object.assign(props, readers.own(original, viaCopy));
  Object.defineProperties(original, props);
  return original;
}

/** A streamed body read other than by the SDK's `Stream`: through the copy, SSE-decoded when it ends. */
function streamReaders(call: CallRecord, tagalong: Tagalong): Readers {
  return {
    copy: (original, source) =>
      observedResponse(
        original,
        source,
        (chunks, end) => record(call, () => streamedOutcome(call, chunks, end), tagalong),
        tagalong.reportError,
      ),
  };
}

/**
 * A plain body: `json()` (openai 5 and 6) hands over the value the SDK parsed, `text()` (openai 7) the
 * text. The call is recorded when that read settles, before the SDK sees the result (so before the
 * caller's `await` returns), from what arrived then.
 */
function plainReaders(call: CallRecord, tagalong: Tagalong): Readers {
  let ended = false;
  const end = (body: PlainBody, how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    record(call, () => plainOutcome(body, how), tagalong);
  };
  // A read that failed: a body that is not JSON was read to its end; anything else cut it short.
  const failed = (error: unknown): void =>
    end(
      { text: "" },
      (error as Error | undefined)?.name === "SyntaxError"
        ? { how: "done", at: Date.now() }
        : { how: "error", at: Date.now(), error },
    );
  const own = (value: unknown): PropertyDescriptor => ({ value, configurable: true, writable: true });
  return {
    copy: (original, source) =>
      observedResponse(original, source, (chunks, how) => end({ chunks }, how), tagalong.reportError),
    own: (original) => {
      const { json, text } = original;
      return {
        json: own(() =>
          json.call(original).then(
            (parsed: unknown) => {
              end({ parsed }, { how: "done", at: Date.now() });
              return parsed;
            },
            (error: unknown) => {
              failed(error);
              throw error;
            },
          ),
        ),
        text: own(() =>
          text.call(original).then(
            (read: string) => {
              end({ text: read }, { how: "done", at: Date.now() });
              return read;
            },
            (error: unknown) => {
              failed(error);
              throw error;
            },
          ),
        ),
      };
    },
  };
}

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
  if ("parsed" in body) response = body.parsed as Loose;
  else {
    // A body cut short does not parse: the call then has no output.
    try {
      const text = "text" in body ? body.text : new TextDecoder().decode(concat(body.chunks));
      response = JSON.parse(text) as Loose;
    } catch {
      complete = false;
    }
  }
  return outcome(response, complete, undefined, end, false);
}

/** A streamed call's outcome from the bytes its reader saw and how the body ended. */
function streamedOutcome(call: CallRecord, chunks: Uint8Array[], end: StreamEnd): CallOutcome {
  const accumulator = streamAccumulator(call.apiType!);
  const decoder = new SseDecoder(sseEvents(accumulator));
  for (const chunk of chunks) decoder.push(chunk);
  if (end.how === "done") decoder.end();
  return accumulatedOutcome(accumulator, end);
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

/** Builds and hands over the completed call; a failure here is Tagalong's, so it goes to reportError. */
function record(call: CallRecord, outcome: () => CallOutcome, tagalong: Tagalong): void {
  try {
    tagalong.record(completedCall(call, outcome()));
  } catch (error) {
    tagalong.reportError(error);
  }
}
