import type { StreamEnd } from "@tagalong/core/adapter";
import type { StreamAccumulator } from "./stream-output";

/** The members of the SDK's `Stream` used here (openai 5, 6 and 7): what its iteration starts from. */
interface SdkStream {
  iterator?: (this: unknown, ...args: unknown[]) => AsyncIterator<unknown>;
  controller?: { signal?: AbortSignal };
}

/** Where the events of a watched stream go: added up as they pass, then how the stream ended. */
export interface EventWatch {
  readonly accumulator: StreamAccumulator;
  /** Once, when the iteration ends, before the reader sees the end. */
  ended(end: StreamEnd): void;
  /** A throw while adding up an event: Tagalong's failure, never the reader's. */
  fail(error: unknown): void;
}

/**
 * The events of the SDK's `Stream`, watched as its first iteration pulls them (`tee()`,
 * `toReadableStream()` and the stream helpers all iterate through its `iterator`): each is added up
 * as it passes, before the reader gets it, and `watch.ended` runs when the iteration ends, before the
 * reader sees the end. A second iteration (which the SDK refuses) is not watched. False when `stream`
 * is not such a `Stream`.
 */
export function watchEvents(stream: unknown, watch: EventWatch): boolean {
  const s = stream as SdkStream | undefined;
  const iterate = s?.iterator;
  if (typeof iterate !== "function") return false;
  let started = false;
  s!.iterator = function (...args) {
    const source = iterate.apply(this, args);
    if (started) return source;
    started = true;
    return watchedIterator(source, s!, watch);
  };
  return true;
}

function watchedIterator(
  source: AsyncIterator<unknown>,
  stream: SdkStream,
  watch: EventWatch,
): AsyncIterator<unknown> & AsyncIterable<unknown> {
  const { accumulator } = watch;
  let ended = false;
  const end = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    watch.ended(how);
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
        watch.fail(error);
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
