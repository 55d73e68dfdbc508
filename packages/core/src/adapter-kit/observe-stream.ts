/** How an observed stream ended: read to its end, failed (an abort shows as a failure), or cancelled by its reader. */
export type StreamEnd =
  | { readonly how: "done"; readonly at: number }
  | { readonly how: "error"; readonly at: number; readonly error: unknown }
  | { readonly how: "cancel"; readonly at: number; readonly reason: unknown };

/** Callbacks of `observeStream()`: each chunk as it passes, then how the stream ended. */
export interface StreamObserver<T> {
  /** Each chunk, as the reader pulls it. */
  chunk?(chunk: T): void;
  /** Once, when the stream ends, before the reader sees the end (so a record is made before the caller's `await` returns). */
  end(end: StreamEnd): void;
  /** A throw from `chunk` or `end`: Tagalong's failure, never the reader's. */
  fail(error: unknown): void;
}

/**
 * The same stream, chunk for chunk, watched on the way through: no read-ahead (highWaterMark 0), so
 * backpressure holds, and cancelling it cancels the source (a `break` out of a stream still closes the
 * connection at once). A reader rather than a TransformStream because a transformer cannot tell an
 * upstream error from a downstream cancel, and not every runtime calls `transformer.cancel`.
 */
export function observeStream<T>(source: ReadableStream<T>, observer: StreamObserver<T>): ReadableStream<T> {
  // Taken at the first read, not here: a stream made and never read leaves its source free for another reader.
  let sourceReader: ReadableStreamDefaultReader<T> | undefined;
  let ended = false;
  const end = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    try {
      observer.end(how);
    } catch (error) {
      observer.fail(error);
    }
  };
  const onChunk = observer.chunk;
  let controller!: ReadableStreamDefaultController<T>;
  // One reaction per chunk, shared by every pull (no async frame, no closure per read).
  const passed = (next: ReadableStreamReadResult<T>): void => {
    if (next.done) {
      end({ how: "done", at: Date.now() });
      controller.close();
      return;
    }
    if (onChunk !== undefined) {
      try {
        onChunk(next.value);
      } catch (error) {
        observer.fail(error);
      }
    }
    controller.enqueue(next.value);
  };
  const failed = (error: unknown): void => {
    end({ how: "error", at: Date.now(), error });
    controller.error(error);
  };
  return new ReadableStream<T>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        let read: Promise<ReadableStreamReadResult<T>>;
        try {
          read = (sourceReader ??= source.getReader()).read();
        } catch (error) {
          failed(error);
          return;
        }
        return read.then(passed, failed);
      },
      cancel(reason) {
        end({ how: "cancel", at: Date.now(), reason });
        return (sourceReader ??= source.getReader()).cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
