/** The longest delay a timer waits: a longer one (Infinity included) fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves when `work` settles or at `timeoutMs`, whichever comes first; never rejects. No deadline
 * for `undefined`, or for a value that is not a number a timer can wait (NaN, Infinity, or more than
 * about 24.8 days, which a timer would cut to 1 ms).
 */
export function settleWithin(work: Promise<unknown>, timeoutMs: number | undefined): Promise<void> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  if (timeoutMs === undefined || !(timeoutMs <= MAX_TIMER_MS)) return settled;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, timeoutMs));
  });
  return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
}

/** A shutdown's deadline: `timeoutMs`, or `fallback` when it is not a number (a NaN sets no deadline). */
export function shutdownDeadline(timeoutMs: number | undefined, fallback: number): number {
  return typeof timeoutMs === "number" && !Number.isNaN(timeoutMs) ? timeoutMs : fallback;
}
