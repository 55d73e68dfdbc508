// When to try again: exponential backoff with jitter, Retry-After honoured within a cap, and a time
// budget per request instead of a count of attempts. The circuit breaker (breaker.ts) decides when the
// service as a whole is worth trying.
import type { DeliverySettings } from "./options";

export interface RetryPolicy {
  /**
   * The delay before the `failures`-th retry (1-based): `backoffMs` doubling up to `maxBackoffMs`, half
   * of it fixed and half jitter; or the service's `Retry-After`, capped at `maxRetryAfterMs`, and never
   * shorter than `backoffMs` (a service answering `Retry-After: 0` to every request is not hammered).
   */
  delay(failures: number, retryAfterMs?: number): number;
  /** Whether a request that first failed at `firstFailure` may be tried again at `now`. */
  withinBudget(firstFailure: number, attempts: number, now: number): boolean;
}

export function retryPolicy(settings: DeliverySettings, random: () => number): RetryPolicy {
  const { backoffMs, maxBackoffMs, maxRetryAfterMs, maxRetryMs, maxAttempts } = settings;
  return {
    delay(failures, retryAfterMs) {
      if (retryAfterMs !== undefined) return Math.max(backoffMs, Math.min(retryAfterMs, maxRetryAfterMs));
      const step = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(30, failures - 1));
      return Math.round(step / 2 + (random() * step) / 2);
    },
    withinBudget(firstFailure, attempts, now) {
      return attempts < maxAttempts && now - firstFailure < maxRetryMs;
    },
  };
}
