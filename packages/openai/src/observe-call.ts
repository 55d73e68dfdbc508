import type { Tagalong } from "@tagalong/core";
import { type CallOutcome, type CallRecord, completedCall } from "./completed-call";
import { SseDecoder } from "./sse";
import { streamAccumulator } from "./stream-output";

type Loose = Record<string, any>;

/** What the SDK's request machinery resolves with (its `APIResponseProps`), read loosely. */
interface ResponseProps {
  response: Response;
  options: { stream?: boolean };
  controller?: AbortController;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

function isAbortError(error: unknown): boolean {
  return (error as Error | undefined)?.name === "AbortError";
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
 * Chaining on that inner promise, rather than on the APIPromise, keeps `.withResponse()`,
 * `.asResponse()` and lazy parsing as they are. Our reaction is registered first (right after the SDK
 * created the promise, before the caller could await it), so it runs before the SDK's parser and can
 * `clone()` the response; the copy is read in the background. Returns at once.
 *
 * Note: because this handles the inner promise, a failed call whose APIPromise the caller never
 * awaits does not surface as an unhandled rejection (it is recorded as an error instead).
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
    (props) => {
      // Only model calls that were tagged (beginCall ran) are recorded.
      if (call.apiType === undefined) return;
      try {
        const { response, options, controller } = props as ResponseProps;
        const copy = response.clone();
        const stream =
          options?.stream === true || /event-stream/i.test(response.headers.get("content-type") ?? "");
        void readCopy(copy, stream, call, tagalong, controller?.signal);
      } catch (error) {
        tagalong.reportError(error);
      }
    },
    (error: unknown) => {
      // A call refused before it was sent (bad metadata) never reached a provider: nothing to record.
      if (call.apiType === undefined) return;
      const outcome: CallOutcome = {
        status: isUserAbort(error) ? "aborted" : "error",
        error: errorInfo(error),
        stream: call.params?.stream === true,
        end: Date.now(),
      };
      record(call, outcome, tagalong);
    },
  );
}

function record(call: CallRecord, outcome: CallOutcome, tagalong: Tagalong): void {
  try {
    tagalong.record(completedCall(call, outcome));
  } catch (error) {
    tagalong.reportError(error);
  }
}

/** Reads our copy of the response body to its end (or until the call is aborted) and records the call. */
async function readCopy(
  copy: Response,
  stream: boolean,
  call: CallRecord,
  tagalong: Tagalong,
  signal: AbortSignal | undefined,
): Promise<void> {
  let outcome: CallOutcome;
  if (!stream) {
    try {
      const text = await copy.text();
      outcome = { status: "success", response: JSON.parse(text) as Loose, stream, end: Date.now() };
    } catch (error) {
      outcome = {
        status: signal?.aborted || isAbortError(error) ? "aborted" : "error",
        error: errorInfo(error),
        stream,
        end: Date.now(),
      };
    }
    record(call, outcome, tagalong);
    return;
  }
  const accumulator = streamAccumulator(call.apiType!);
  let parseError: unknown;
  const decoder = new SseDecoder((event) => {
    if (parseError !== undefined) return;
    try {
      accumulator.push(event);
    } catch (error) {
      parseError = error;
    }
  });
  let status: CallOutcome["status"] = "success";
  let error: CallOutcome["error"];
  try {
    for await (const chunk of copy.body as unknown as AsyncIterable<Uint8Array>) decoder.push(chunk);
    decoder.end();
  } catch (e) {
    status = signal?.aborted || isAbortError(e) ? "aborted" : "error";
    error = errorInfo(e);
  }
  if (parseError !== undefined) tagalong.reportError(parseError);
  const result = accumulator.result();
  if (result.error && status === "success") {
    status = "error";
    error = result.error;
  }
  record(call, { status, response: result.response, error, stream, end: Date.now() }, tagalong);
}
