import type { StreamEnd } from "@tagalong/core/adapter";
import type { StreamAccumulator } from "./stream-output";

/** The members of the SDK's `Stream` used here (openai 5, 6 and 7): what its iteration starts from. */
interface SdkStream {
  iterator?: (this: unknown, ...args: unknown[]) => AsyncIterator<unknown>;
  controller?: { signal?: AbortSignal };
  tee?: (this: unknown) => SdkStream[];
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
  let watched: WatchedIterator | undefined;
  s!.iterator = function (...args) {
    const source = iterate.apply(this, args);
    if (watched !== undefined) return source;
    watched = new WatchedIterator(source, s!, watch);
    return watched;
  };
  const tee = s!.tee;
  if (typeof tee === "function") {
    s!.tee = function () {
      const first = watched === undefined;
      const branches = tee.call(this);
      return first && watched !== undefined ? stoppableBranches(branches, watched) : branches;
    };
  }
  return true;
}

/**
 * The branches `tee()` made over `source` (the watched iteration), each of whose iterators can be
 * stopped: openai 5 and 6 give them no `return()`, so leaving both early would never end the watch.
 * Once both branches returned, `source` returns (the stream is cancelled), as openai 7's own do.
 */
function stoppableBranches(branches: SdkStream[], source: WatchedIterator): SdkStream[] {
  let open = branches.length;
  for (const branch of branches) {
    const iterate = branch.iterator;
    if (typeof iterate !== "function") continue;
    let returned = false;
    branch.iterator = function (...args) {
      const iterator = iterate.apply(this, args);
      if (typeof iterator.return === "function") return iterator;
      iterator.return = (value?: unknown) => {
        if (!returned) {
          returned = true;
          if (--open === 0) return source.return(value);
        }
        return Promise.resolve({ done: true, value });
      };
      return iterator;
    };
  }
  return branches;
}

/**
 * The SDK's iterator, passed through: each result is seen before the reader gets it. A class, so a
 * watched stream allocates this object and two bound handlers, not a closure per member.
 */
class WatchedIterator implements AsyncIterator<unknown>, AsyncIterable<unknown> {
  readonly #source: AsyncIterator<unknown>;
  readonly #stream: SdkStream;
  readonly #watch: EventWatch;
  #ended = false;
  readonly #onNext: (result: IteratorResult<unknown>) => IteratorResult<unknown>;
  readonly #onThrow: (error: unknown) => never;

  constructor(source: AsyncIterator<unknown>, stream: SdkStream, watch: EventWatch) {
    this.#source = source;
    this.#stream = stream;
    this.#watch = watch;
    this.#onNext = (result) => this.#passed(result);
    this.#onThrow = (error) => this.#threw(error);
  }

  next(...args: [] | [unknown]): Promise<IteratorResult<unknown>> {
    return this.#source.next(...args).then(this.#onNext, this.#onThrow);
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.#end({ how: "cancel", at: Date.now(), reason: undefined });
    const source = this.#source;
    return source.return ? source.return(value) : Promise.resolve({ done: true, value });
  }

  throw(error?: unknown): Promise<IteratorResult<unknown>> {
    const source = this.#source;
    return source.throw ? source.throw(error) : Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #passed(result: IteratorResult<unknown>): IteratorResult<unknown> {
    if (result.done) {
      // The SDK ends its iteration quietly when the request was aborted mid-stream.
      const signal = this.#stream.controller?.signal;
      this.#end(
        signal?.aborted === true
          ? { how: "error", at: Date.now(), error: signal.reason }
          : { how: "done", at: Date.now() },
      );
    } else if (!this.#ended) {
      try {
        this.#watch.accumulator.push(result.value);
      } catch (error) {
        this.#watch.fail(error);
      }
    }
    return result;
  }

  #threw(error: unknown): never {
    // An error event in the stream: the SDK throws it as an APIError with no status, carrying the event's error.
    const thrown = error as { status?: unknown; error?: unknown } | undefined;
    if (thrown?.status === undefined && typeof thrown?.error === "object" && thrown.error !== null) {
      this.#watch.accumulator.fail(thrown.error);
    }
    this.#end({ how: "error", at: Date.now(), error });
    throw error;
  }

  #end(how: StreamEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#watch.ended(how);
  }
}
