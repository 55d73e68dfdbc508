import type { Tagalong } from "./tagalong";

/**
 * Wraps a serverless handler (AWS Lambda and other runtimes without waitUntil, which freeze as soon as
 * the handler returns) so that it flushes Tagalong's background deliveries before it resolves. The
 * handler's own result or error passes through unchanged; flushing never throws.
 */
export function flushAfter<A extends unknown[], R>(
  tagalong: Pick<Tagalong, "flush">,
  handler: (...args: A) => R,
): (...args: A) => Promise<Awaited<R>> {
  return async (...args: A): Promise<Awaited<R>> => {
    try {
      return await handler(...args);
    } finally {
      await tagalong.flush();
    }
  };
}
