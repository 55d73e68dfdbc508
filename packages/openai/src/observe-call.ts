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
import { streamAccumulator } from "./stream-output";

type Loose = Record<string, any>;

/** What the SDK's request machinery resolves with (its `APIResponseProps`), read loosely. */
interface ResponseProps {
  response: Response;
  options?: { stream?: boolean };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

let warnedUnobservable = false;

/**
 * Watches one call's outcome without touching what the caller holds. The SDK's `APIPromise` wraps a
 * promise of the final HTTP response (after retries): its `responsePromise` field in openai 5, 6 and 7.
 * Chaining on that inner promise, not on the APIPromise, keeps `.withResponse()`, `.asResponse()` and
 * lazy parsing as they are. Our reaction is registered first (right after the SDK created the promise,
 * before the caller could await it), so it runs before the SDK's parser: it swaps in a response whose
 * body passes the bytes through as they are read (see `observedResponse`). Returns at once.
 *
 * Because this handles the inner promise, a failed call whose APIPromise the caller never awaits is
 * recorded as an error rather than surfacing as an unhandled rejection.
 */
export function observeCall(apiPromise: unknown, call: CallRecord, tagalong: Tagalong): void {
  const responsePromise = (apiPromise as { responsePromise?: unknown } | undefined)?.responsePromise;
  if (!isThenable(responsePromise)) {
    if (!warnedUnobservable) {
      warnedUnobservable = true;
      tagalong.logger.warn(
        "wrapOpenAI: this openai version's APIPromise has no responsePromise; calls are tagged but not recorded",
      );
    }
    return;
  }
  responsePromise.then(
    (value) => {
      // Only model calls that were tagged (beginCall ran) are recorded.
      if (call.apiType === undefined) return;
      const props = value as ResponseProps;
      try {
        const { response } = props;
        if (response.body === null) return;
        const stream =
          props.options?.stream === true || /event-stream/i.test(response.headers.get("content-type") ?? "");
        props.response = stream
          ? observedResponse(
              response,
              response.body,
              (chunks, end) => record(call, () => streamedOutcome(call, chunks, end), tagalong),
              tagalong.reportError,
            )
          : (parsedResponse(
              response,
              (body, end) => record(call, () => plainOutcome(body, end), tagalong),
              tagalong.reportError,
            ) ??
            observedResponse(
              response,
              response.body,
              (chunks, end) => record(call, () => plainOutcome({ chunks }, end), tagalong),
              tagalong.reportError,
            ));
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

const BODY_READERS = ["arrayBuffer", "blob", "bytes", "formData"] as const;

/**
 * The SDK's own response, watched where the SDK reads it: `json()` (openai 5 and 6) hands over the
 * value the SDK parsed, `text()` (openai 7) the text, so the body is neither re-streamed nor parsed
 * twice on the caller's path. `onEnd` runs when that read settles, before the SDK sees the result (the
 * call is recorded before the caller's `await` returns, from what arrived then). Any other way of
 * reading the body (`.body`, `arrayBuffer()`... on an `.asResponse()`) goes through an observed copy
 * made only then, as streams do. Undefined when the response cannot be given these (it is frozen).
 */
function parsedResponse(
  original: Response,
  onEnd: (body: PlainBody, end: StreamEnd) => void,
  onFail: (error: unknown) => void,
): Response | undefined {
  let ended = false;
  const end = (body: PlainBody, how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    try {
      onEnd(body, how);
    } catch (error) {
      onFail(error);
    }
  };
  // A read that failed: a body that is not JSON was read to its end; anything else cut it short.
  const failed = (error: unknown): void =>
    end(
      { text: "" },
      (error as Error | undefined)?.name === "SyntaxError"
        ? { how: "done", at: Date.now() }
        : { how: "error", at: Date.now(), error },
    );
  const source = original.body!;
  let copy: Response | undefined;
  const viaCopy = (): Response =>
    (copy ??= observedResponse(original, source, (chunks, how) => end({ chunks }, how), onFail));
  const { json, text } = original;
  const own = (value: unknown): PropertyDescriptor => ({ value, configurable: true, writable: true });
  const props: PropertyDescriptorMap = {
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
    body: { configurable: true, get: () => viaCopy().body },
  };
  for (const name of BODY_READERS) {
    const read = (original as unknown as Record<string, unknown>)[name];
    if (typeof read === "function") props[name] = own(() => (viaCopy() as any)[name]());
  }
  // A response that cannot take them (frozen by a custom fetch) is observed through a copy instead.
  if (!Object.isExtensible(original)) return undefined;
  Object.defineProperties(original, props);
  return original;
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
  const decoder = new SseDecoder((event) => accumulator.push(event));
  for (const chunk of chunks) decoder.push(chunk);
  if (end.how === "done") decoder.end();
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
