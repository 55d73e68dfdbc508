// The settings of a delivery queue: what a user may tune on an after-the-call destination, and the
// defaults, sized for a remote API answering in 50-300 ms.
import { MAX_TIMER_MS } from "../deadline";
import { checkValues } from "../options";

/** The delivery settings a user may tune on an after-the-call destination. */
export interface DeliveryOptions {
  /**
   * Deliveries in flight at once (default 128: about 2,500 calls/s at 50 ms a request, 400 at 300 ms).
   * Requests reuse keep-alive connections (the runtime's fetch pools them per origin). A delivery handed
   * to a serverless wait-until hook runs on its own, carried by the invocation that recorded it.
   */
  concurrency?: number;
  /**
   * Calls waiting or in flight before new ones are dropped, counted in `stats().dropped` and reported
   * (default 10,000: a burst of 10,000 calls, or several minutes of an outage at a steady rate).
   */
  maxQueue?: number;
  /**
   * How long one delivery keeps being retried after its first failure, in ms (default 600,000: 10
   * minutes). Retries are bounded by time, not by attempts: while the service is down a circuit
   * breaker holds every delivery and probes at intervals, so an outage shorter than this loses nothing
   * that fits in the queue.
   */
  maxRetryMs?: number;
  /** Attempts per request, the first included (default: no limit; `maxRetryMs` bounds retries). */
  maxAttempts?: number;
  /**
   * Per-attempt timeout in ms, the answer's body included (default 30,000). Long enough for slow
   * ingestion: a request answered within it counts as sent, however late; one cut off is retried,
   * and if the service had stored it all the same, that retry is a duplicate.
   */
  timeoutMs?: number;
  /**
   * How long the first call of a batch waits before deliveries start, in ms (default 100): calls then
   * go out together, and calls arriving one by one are not each followed by a delivery's work on the
   * caller's thread. A full batch (`concurrency` calls) starts at once, and so does everything at a
   * flush, shutdown or exit. 0 starts each delivery on the next macrotask.
   */
  lingerMs?: number;
  /** First retry delay (and probe interval) in ms; doubles per failure, with jitter (default 500). */
  backoffMs?: number;
  /** Longest computed retry delay or probe interval in ms (default 30,000). */
  maxBackoffMs?: number;
  /** Longest wait a `Retry-After` answer may impose, in ms (default 60,000); a shorter one than `backoffMs` waits `backoffMs`. */
  maxRetryAfterMs?: number;
  /**
   * When the process is about to exit normally (Node's `beforeExit`) with work pending, keep it alive
   * up to this many ms to finish; what is still pending then is abandoned and reported with its cause
   * (default 5000; 0 abandons and reports at once). `process.exit()` and signals skip all this: await
   * `shutdown()` (it has a deadline) before them.
   */
  exitTimeoutMs?: number;
  /**
   * On serverless runtimes with a wait-until hook, how long a delivery handed to it may run, in ms
   * (default 25,000: Cloudflare Workers cancel that work about 30 s after the response). A delivery
   * still pending then is abandoned and reported (one waiting for a retry or for the circuit breaker's
   * next probe is tried once more at 90% of it); a call the AI SDK may retry is held at most 80% of
   * it before it is logged as final. On Vercel, whose waitUntil lasts as long as the function's
   * `maxDuration`, raise it to ride out longer outages.
   */
  waitUntilMs?: number;
  /** The fetch to send with (default: the global fetch). */
  fetch?: typeof fetch;
}

export const DELIVERY_DEFAULTS = {
  concurrency: 128,
  maxQueue: 10_000,
  maxRetryMs: 600_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  timeoutMs: 30_000,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 60_000,
  exitTimeoutMs: 5000,
  lingerMs: 100,
  waitUntilMs: 25_000,
} as const;

/** Consecutive failed attempts (network errors, timeouts, 408, 429, 5xx) that open the circuit. */
export const BREAKER_THRESHOLD = 5;

export type DeliverySettings = { -readonly [K in keyof typeof DELIVERY_DEFAULTS]: number };

// The least each setting takes (NaN, a string or less is refused when the queue is made), and fetch.
const RULES = {
  concurrency: 1,
  maxQueue: 1,
  maxRetryMs: 0,
  maxAttempts: 1,
  timeoutMs: 1,
  backoffMs: 0,
  maxBackoffMs: 0,
  maxRetryAfterMs: 0,
  exitTimeoutMs: 0,
  lingerMs: 0,
  waitUntilMs: 0,
  fetch: "function",
} as const satisfies Record<keyof DeliveryOptions, number | "function">;

/** A time setting in ms: at most what a timer can wait, so that "no limit" (Infinity) is one. */
const duration = (value: number | undefined, fallback: number): number =>
  Math.min(MAX_TIMER_MS, value ?? fallback);

/** The settings of `where`'s queue; a TagalongError naming the option for a value out of its range. */
export function deliverySettings(where: string, options: DeliveryOptions): DeliverySettings {
  checkValues(where, options, RULES);
  const d = DELIVERY_DEFAULTS;
  return {
    concurrency: Math.floor(options.concurrency ?? d.concurrency),
    maxQueue: Math.floor(options.maxQueue ?? d.maxQueue),
    maxRetryMs: duration(options.maxRetryMs, d.maxRetryMs),
    maxAttempts: options.maxAttempts ?? d.maxAttempts,
    timeoutMs: duration(options.timeoutMs, d.timeoutMs),
    backoffMs: duration(options.backoffMs, d.backoffMs),
    maxBackoffMs: duration(options.maxBackoffMs, d.maxBackoffMs),
    maxRetryAfterMs: duration(options.maxRetryAfterMs, d.maxRetryAfterMs),
    exitTimeoutMs: duration(options.exitTimeoutMs, d.exitTimeoutMs),
    lingerMs: duration(options.lingerMs, d.lingerMs),
    waitUntilMs: duration(options.waitUntilMs, d.waitUntilMs),
  };
}
