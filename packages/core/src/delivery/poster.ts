// The wire side of a delivery queue: one request of a job POSTed as JSON through the circuit breaker and
// the retry policy until it is answered, fails for good or is abandoned; and what is under way (requests
// waiting for an answer, retries waiting for their turn), for a shutdown to cut short and to describe.
import { DeliveryError } from "../errors";
import type { DeliveryStats } from "../types";
import { attempt, type FailureReader, type Timer, unref } from "./attempt";
import type { Breaker } from "./breaker";
import type { RetryPolicy } from "./retry-policy";
import type { Cancel, Send } from "./transport";

/** One JSON POST of a job. */
export interface DeliveryRequest {
  /** Names the request in log lines and errors, e.g. "log-request". */
  label: string;
  url: string;
  headers?: Record<string, string>;
  body: unknown;
}

export interface PosterOptions {
  /** The destination's name, in errors and log lines. */
  name: string;
  send: Send;
  timeoutMs: number;
  maxRetryMs: number;
  breaker: Breaker;
  policy: RetryPolicy;
  /** The queue's counts: each retry is counted in `retried`. */
  counts: DeliveryStats;
  /** Takes the destination's secrets out of a message. */
  scrub: (text: string) => string;
  /** A log line on the delivery topics, built only when someone listens. */
  debug: (message: () => string) => void;
  describeFailure?: FailureReader;
}

const JSON_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  accept: "application/json",
};

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

export class Poster {
  /** Requests waiting for an answer, with when each went out. */
  private readonly inFlight = new Map<Cancel, number>();
  /** Retries waiting out their delay: each wakes its own. */
  private readonly sleepers = new Set<() => void>();
  /** A destination passes the same headers object with every post: it is checked once. */
  private readonly checkedHeaders = new WeakSet<object>();
  /** The last failure, in words (scrubbed), for the report of abandoned work. */
  lastError: string | undefined;

  constructor(private readonly o: PosterOptions) {}

  /**
   * POSTs `request` (serialised once, whatever the retries) until it is answered; retries network
   * errors, timeouts, 408, 429 and 5xx within the policy's budget, and waits while the circuit is open.
   * `current` says whether the job is still wanted: once it is not (the queue abandoned it), the post
   * throws at its next step.
   */
  async post({ label, url, headers, body }: DeliveryRequest, current: () => boolean): Promise<unknown> {
    const { name, breaker, policy, scrub, debug } = this.o;
    const payload = this.payload(label, body);
    const allHeaders = this.headers(label, headers);
    let tries = 0;
    let failures = 0;
    let firstFailure: number | undefined;
    for (;;) {
      if (!current()) throw this.abandoned(label, url, tries);
      const go = breaker.closed()
        ? "go"
        : await breaker.ready(firstFailure === undefined ? undefined : firstFailure + this.o.maxRetryMs);
      if (!current() || go === "released") throw this.abandoned(label, url, tries);
      if (go === "expired") {
        throw new DeliveryError(
          scrub(
            `${name}: ${label} to ${url} given up after ${seconds(Date.now() - firstFailure!)} (maxRetryMs) while ${name} was down; last error: ${breaker.state().lastFailure}`,
          ),
          { destination: name, attempts: tries },
        );
      }
      tries++;
      const started = Date.now();
      const result = await attempt(
        this.o.send,
        url,
        allHeaders,
        payload,
        this.o.timeoutMs,
        this.track,
        this.o.describeFailure,
      );
      if (!current()) throw this.abandoned(label, url, tries);
      const took = Date.now() - started;
      if (result.ok) {
        breaker.answered();
        debug(() => `${name}: POST ${url} -> ${result.status} in ${took} ms (attempt ${tries})`);
        return result.body;
      }
      this.lastError = scrub(`${label}: ${result.reason}`);
      if (result.retryable) breaker.failed(this.lastError, result.retryAfterMs);
      else breaker.answered();
      firstFailure ??= started;
      if (!result.retryable || !policy.withinBudget(firstFailure, tries, Date.now())) {
        debug(() => `${name}: POST ${url} -> ${result.reason} in ${took} ms, giving up`);
        const why = result.retryable
          ? `after ${tries} attempts over ${seconds(Date.now() - firstFailure)}`
          : "not retried";
        throw new DeliveryError(scrub(`${name}: ${label} to ${url} failed with ${result.reason}, ${why}`), {
          destination: name,
          status: result.status,
          attempts: tries,
        });
      }
      const delay = policy.delay(++failures, result.retryAfterMs);
      this.o.counts.retried++;
      debug(() => `${name}: POST ${url} -> ${result.reason} in ${took} ms, retry ${failures} in ${delay} ms`);
      await this.sleep(delay);
    }
  }

  /** Aborts every request waiting for an answer and wakes every waiting retry: their posts then see they were abandoned. */
  cutAll(): void {
    for (const request of [...this.inFlight.keys()]) request.abort?.();
    for (const wake of [...this.sleepers]) wake();
  }

  /** What the posts under way wait on, in words, for the report of abandoned work. */
  describe(): string[] {
    const parts: string[] = [];
    if (this.inFlight.size > 0) {
      const oldest = Math.min(...this.inFlight.values());
      parts.push(
        `${this.inFlight.size} waiting for an answer (the oldest for ${seconds(Date.now() - oldest)})`,
      );
    }
    if (this.sleepers.size > 0) parts.push(`${this.sleepers.size} waiting to retry`);
    return parts;
  }

  private payload(label: string, body: unknown): string {
    try {
      return JSON.stringify(body);
    } catch {
      throw new DeliveryError(`${this.o.name}: ${label} body is not serialisable as JSON`, {
        destination: this.o.name,
        attempts: 0,
      });
    }
  }

  private headers(label: string, headers: Record<string, string> | undefined): Record<string, string> {
    if (headers === undefined) return JSON_HEADERS;
    if (!this.checkedHeaders.has(headers)) {
      try {
        // A header fetch refuses (a key with a line break) fails every attempt: say so once, here.
        new Headers(headers);
      } catch (error) {
        throw new DeliveryError(
          this.o.scrub(
            `${this.o.name}: ${label} headers are not valid (${error instanceof Error ? error.message : String(error)})`,
          ),
          { destination: this.o.name, attempts: 0 },
        );
      }
      this.checkedHeaders.add(headers);
    }
    return { ...JSON_HEADERS, ...headers };
  }

  private abandoned(label: string, url: string, tries: number): DeliveryError {
    return new DeliveryError(this.o.scrub(`${this.o.name}: ${label} to ${url} abandoned`), {
      destination: this.o.name,
      attempts: tries,
    });
  }

  /** Tells the poster of an attempt's request (so it can be cut); returns what forgets it. */
  private readonly track = (request: Cancel): (() => void) => {
    this.inFlight.set(request, Date.now());
    return () => this.inFlight.delete(request);
  };

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer: Timer = unref(setTimeout(wake, ms));
      this.sleepers.add(wake);
    });
  }
}
