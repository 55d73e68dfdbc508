import { checkOptions, checkValues } from "./options";
import type { Tagalong } from "./tagalong";
import type { FlushOptions } from "./types";

/**
 * Wraps a serverless handler (AWS Lambda and other runtimes without waitUntil, which freeze as soon as
 * the handler returns) so that it flushes Tagalong's background deliveries before it resolves, waiting
 * at most `options.timeoutMs` (default: no limit; what is left then resumes with the next invocation,
 * if the runtime thaws the same instance). The handler's own result or error passes through unchanged;
 * flushing never throws.
 */
export function flushAfter<A extends unknown[], R>(
  tagalong: Pick<Tagalong, "flush">,
  handler: (...args: A) => R,
  options?: FlushOptions,
): (...args: A) => Promise<Awaited<R>> {
  // A misspelt deadline would be none: the invocation would wait as long as deliveries are retried.
  checkOptions("flushAfter", options, ["timeoutMs"]);
  checkValues("flushAfter", options, { timeoutMs: 0 });
  return async (...args: A): Promise<Awaited<R>> => {
    try {
      return await handler(...args);
    } finally {
      await tagalong.flush(options);
    }
  };
}
