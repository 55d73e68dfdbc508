/**
 * The AI SDK retries a failed attempt above the model (maxRetries, default 2), with the same prompt
 * array: a failure it may retry is recorded as provisional, superseded when the next attempt of that
 * prompt starts (the call is then logged once, from the first attempt's start), final otherwise.
 */
interface Provisional {
  readonly startTime: number;
  settle(final: boolean): void;
}
const provisional = new WeakMap<object, Provisional>();
// Longer than the SDK waits between attempts: its backoff (2 s, 4 s, ...) or a Retry-After up to 60 s.
const RETRY_WINDOW_MS = 65_000;

/** Whether the AI SDK may retry after this error (what its retry loop checks). */
export const mayBeRetried = (error: unknown): boolean =>
  (error as { isRetryable?: unknown } | undefined)?.isRetryable === true;

/** The earlier attempt of this prompt, superseded now that another starts: its start time, if any. */
export function supersede(prompt: object): number | undefined {
  const earlier = provisional.get(prompt);
  if (earlier === undefined) return undefined;
  provisional.delete(prompt);
  earlier.settle(false);
  return earlier.startTime;
}

/** A `final` promise for an attempt's failure the SDK may retry. */
export function provisionalOutcome(prompt: object, startTime: number): PromiseLike<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => settle(true), RETRY_WINDOW_MS);
    (timer as { unref?: () => void }).unref?.();
    const settle = (final: boolean): void => {
      clearTimeout(timer);
      if (provisional.get(prompt) === entry) provisional.delete(prompt);
      resolve(final);
    };
    const entry: Provisional = { startTime, settle };
    provisional.set(prompt, entry);
  });
}
