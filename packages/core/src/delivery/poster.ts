// The wire side of a delivery queue: one request of a job POSTed as JSON through the circuit breaker and
// the retry policy until it is answered, fails for good or is abandoned; what each job waits on (its
// JobWork), for abandoning it to cut short; and what is under way (requests waiting for an answer,
// retries waiting for their turn), for the report of abandoned work.
import { type Timer, unref } from "../adapter-kit/timer";
import { DeliveryError } from "../errors";
import type { DeliveryStats } from "../types";
import { type Attempt, attempt, type FailureReader } from "./attempt";
import { type Breaker, isProbe, type Pass } from "./breaker";
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

/**
 * One job's work in the poster: whether the queue still wants the job, and what the job waits on now
 * (a request, a retry's sleep, the open circuit). Abandoning the job (shutdown, the exit drain, its own
 * waitUntil deadline) cuts that wait at once, so the job ends there rather than at its next step.
 */
export class JobWork {
  private readonly waits = new Set<Cancel>();

  /** Whether the job has a deadline of its own (a last chance, spent or not). */
  readonly bounded: boolean;

  /**
   * `current` says whether the job is still wanted. `lastChance` (epoch ms), for a job with a deadline
   * of its own (a waitUntil's): a wait for a retry or for the breaker that would outlast it ends there
   * with one more attempt, spent once an attempt goes out at or after it.
   */
  constructor(
    readonly current: () => boolean,
    public lastChance?: number,
  ) {
    this.bounded = lastChance !== undefined;
  }

  /** Tells of a wait that `cut()` must end (its `abort` is set by the time it is cut); returns what forgets it. */
  track(wait: Cancel): () => void {
    this.waits.add(wait);
    return () => this.waits.delete(wait);
  }

  /** Ends what the job waits on: its request is aborted, its sleep and its wait for the breaker end. */
  cut(): void {
    for (const wait of [...this.waits]) wait.abort?.();
  }
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

export class Poster {
  /** Requests waiting for an answer, with when each went out. */
  private readonly inFlight = new Map<Cancel, number>();
  /** How many retries wait out their delay. */
  private sleeping = 0;
  /** A destination passes the same headers object with every post: it is checked once. */
  private readonly checkedHeaders = new WeakSet<object>();
  /** The last failure, in words (scrubbed), for the report of abandoned work. */
  lastError: string | undefined;

  constructor(private readonly o: PosterOptions) {}

  /**
   * POSTs `request` (serialised once, whatever the retries) until it is answered; retries network
   * errors, timeouts, 408, 429 and 5xx within the policy's budget, and waits while the circuit is open.
   * Once `work` is no longer current (the queue abandoned the job), the post throws at its next step,
   * except with an answer that arrived all the same: that is returned (the job is sent after all).
   */
  async post({ label, url, headers, body }: DeliveryRequest, work: JobWork): Promise<unknown> {
    const { name, breaker, policy, scrub, debug } = this.o;
    const payload = this.payload(label, body);
    const allHeaders = this.headers(label, headers);
    let tries = 0;
    let failures = 0;
    let firstFailure: number | undefined;
    for (;;) {
      if (!work.current()) throw this.abandoned(label, url, tries);
      const pass = breaker.closed()
        ? "go"
        : await this.ready(work, firstFailure === undefined ? undefined : firstFailure + this.o.maxRetryMs);
      if (pass === "released" || !work.current()) {
        // A probe that will not go out: the next waiting request goes in its place.
        if (isProbe(pass)) breaker.forgo(pass);
        throw this.abandoned(label, url, tries);
      }
      if (pass === "expired") {
        throw new DeliveryError(
          scrub(
            `${name}: ${label} to ${url} given up after ${seconds(Date.now() - firstFailure!)} (maxRetryMs) while ${name} was down; last error: ${breaker.state().lastFailure}`,
          ),
          { destination: name, attempts: tries },
        );
      }
      tries++;
      const started = Date.now();
      if (started >= (work.lastChance ?? Number.POSITIVE_INFINITY)) work.lastChance = undefined;
      const result = await attempt(
        this.o.send,
        url,
        allHeaders,
        payload,
        this.o.timeoutMs,
        this.tracker(work, pass),
        this.o.describeFailure,
      );
      const took = Date.now() - started;
      // Before anything else, whatever became of the job meanwhile: the breaker (and the probe) wait on it.
      this.inform(label, result, pass, work);
      if (result.ok) {
        debug(() => `${name}: POST ${url} -> ${result.status} in ${took} ms (attempt ${tries})`);
        return result.body;
      }
      if (!work.current()) throw this.abandoned(label, url, tries);
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
      await this.sleep(delay, work);
    }
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
    if (this.sleeping > 0) parts.push(`${this.sleeping} waiting to retry`);
    return parts;
  }

  /**
   * Tells the breaker what an attempt says of the service: an answer closes the circuit, a retryable
   * failure counts against it. A request cut because its job was abandoned got no answer and says
   * nothing of the service (if it was the probe, the cut freed it: see `tracker`).
   */
  private inform(label: string, result: Attempt, pass: Pass, work: JobWork): void {
    const { breaker } = this.o;
    if (result.ok) {
      breaker.answered();
      return;
    }
    if (result.status === undefined && !work.current()) return;
    this.lastError = this.o.scrub(`${label}: ${result.reason}`);
    if (result.retryable) breaker.failed(this.lastError, result.retryAfterMs, pass);
    else breaker.answered();
  }

  /** Waits for the breaker's pass while the circuit is open; abandoning the job ends the wait ("released"). */
  private async ready(work: JobWork, deadline: number | undefined): Promise<Pass | "expired" | "released"> {
    const wait: Cancel = {};
    const forget = work.track(wait);
    try {
      return await this.o.breaker.ready(deadline, wait, work.lastChance, work.bounded);
    } finally {
      forget();
    }
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

  /**
   * Tells the poster and the job of an attempt's request (so it can be cut); returns what forgets it.
   * A request cut is forgotten, and the probe it went out as is freed for the next waiting request,
   * then and there, not when its aborted request ends: on Workers that end is never seen once the
   * invocation has ended (it ends as soon as its deadline settles what it handed to waitUntil), and
   * the request would be reported as waiting for good, its probe out for good. Nor can one invocation
   * abort another's request (workerd throws "Cannot perform I/O on behalf of a different request"): a
   * shutdown there abandons and reports it all the same, and its own invocation's deadline ends it.
   */
  private tracker(work: JobWork, pass: Pass): (request: Cancel) => () => void {
    return (request) => {
      this.inFlight.set(request, Date.now());
      const forget = work.track({
        abort: () => {
          this.inFlight.delete(request);
          if (isProbe(pass)) this.o.breaker.forgo(pass);
          try {
            request.abort?.();
          } catch {}
        },
      });
      return () => {
        this.inFlight.delete(request);
        forget();
      };
    };
  }

  /** A retry's delay, at most until the job's last chance; abandoning the job wakes it early. */
  private sleep(delay: number, work: JobWork): Promise<void> {
    const ms = Math.min(delay, (work.lastChance ?? Number.POSITIVE_INFINITY) - Date.now());
    this.sleeping++;
    return new Promise((resolve) => {
      const wait: Cancel = {};
      const forget = work.track(wait);
      const timer: Timer = unref(setTimeout(() => wait.abort?.(), ms));
      wait.abort = () => {
        clearTimeout(timer);
        forget();
        this.sleeping--;
        resolve();
      };
    });
  }
}
