import type { Tagalong } from "@tagalong/core";
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

function errorInfo(error: unknown): { type: string; message: string } {
  if (error instanceof Error) {
    const ctor = error.constructor?.name;
    return { type: ctor && ctor !== "Error" ? ctor : error.name, message: error.message };
  }
  return { type: "Error", message: String(error) };
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
export function observeCall(
  apiPromise: unknown,
  call: CallRecord,
  tagalong: Tagalong,
  isUserAbort: (error: unknown) => boolean,
): void {
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
        props.response = observedResponse(response, (chunks, end) =>
          record(call, () => readOutcome(call, chunks, end, stream, isUserAbort), tagalong),
        );
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
          status: isUserAbort(error) ? "aborted" : "error",
          error: errorInfo(error),
          stream: call.params?.stream === true,
          end,
        }),
        tagalong,
      );
    },
  );
}

/** How a body ended: read to its end, cancelled by its reader, or failed (an abort shows as a failure). */
type BodyEnd =
  | { how: "done"; at: number }
  | { how: "cancel"; at: number }
  | { how: "error"; at: number; error: unknown };

/**
 * A response like `original` (status, headers, url) whose body hands each chunk to the reader as it
 * is pulled (no buffering ahead, so backpressure holds) and keeps a reference to it. Cancelling it
 * cancels the original (a `break` out of a stream still closes the connection at once). Chunks are only
 * collected while they flow; `onEnd` parses them once, when the body ends, before the reader sees the
 * end: so the call is recorded before the caller's `await` returns, and a `flush()` right after it
 * waits for its delivery.
 */
function observedResponse(original: Response, onEnd: (chunks: Uint8Array[], end: BodyEnd) => void): Response {
  const reader = original.body!.getReader();
  const chunks: Uint8Array[] = [];
  let ended = false;
  const end = (how: BodyEnd) => {
    if (ended) return;
    ended = true;
    onEnd(chunks, how);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          end({ how: "error", at: Date.now(), error });
          controller.error(error);
          return;
        }
        if (result.done) {
          end({ how: "done", at: Date.now() });
          controller.close();
          return;
        }
        chunks.push(result.value);
        controller.enqueue(result.value);
      },
      cancel(reason) {
        end({ how: "cancel", at: Date.now() });
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
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

/** The call's outcome from the bytes its reader saw and how the body ended. */
function readOutcome(
  call: CallRecord,
  chunks: Uint8Array[],
  end: BodyEnd,
  stream: boolean,
  isUserAbort: (error: unknown) => boolean,
): CallOutcome {
  let response: Loose | undefined;
  let complete: boolean;
  let error: CallOutcome["error"];
  if (!stream) {
    // A body cut short does not parse: the call then has no output.
    try {
      response = JSON.parse(new TextDecoder().decode(concat(chunks))) as Loose;
      complete = true;
    } catch {
      complete = false;
    }
  } else {
    const accumulator = streamAccumulator(call.apiType!);
    const decoder = new SseDecoder((event) => accumulator.push(event));
    for (const chunk of chunks) decoder.push(chunk);
    if (end.how === "done") decoder.end();
    const result = accumulator.result();
    response = result.response;
    complete = result.complete;
    error = result.error;
  }
  if (!stream && !complete && end.how === "done") {
    error = { type: "SyntaxError", message: "the response body is not JSON" };
  }
  let status: CallOutcome["status"] = error ? "error" : "success";
  // Stopping (or failing) before the answer was complete; a body read to its end counts as complete.
  if (!complete && end.how !== "done" && !error) {
    if (end.how === "cancel" || isUserAbort(end.error)) status = "aborted";
    else status = "error";
    if (end.how === "error") error = errorInfo(end.error);
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
