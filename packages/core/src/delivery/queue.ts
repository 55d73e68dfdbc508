// The scheduler: a bounded queue of jobs (one recorded call each, a short chain of JSON POSTs) run with
// bounded concurrency through the retry policy and the circuit breaker. Nothing here ever reaches the
// caller's code: failures go to the host's reportError, counts to stats().
import { DeliveryError } from "../errors";
import { consoleLogger, debugEnabled } from "../logger";
import { macrotask } from "../macrotask";
import { scrubSecrets } from "../redact";
import type { DeliveryStats, DestinationHost, FlushOptions, Logger } from "../types";
import { attempt, type FailureReader, unref } from "./attempt";
import { circuitBreaker } from "./breaker";
import { type ExitDrain, exitRegistry } from "./exit";
import { BREAKER_THRESHOLD, type DeliveryOptions, deliverySettings } from "./options";
import { retryPolicy } from "./retry-policy";
import { reporter } from "./stats";
import { type Cancel, fetchSend, nodeSend, type Send } from "./transport";

/** Options of `createDeliveryQueue()`: the delivery options, the destination's name and its secrets. */
export interface DeliveryQueueOptions extends DeliveryOptions {
  /** The destination's name, used in errors and log lines. */
  destination: string;
  /** Strings (API keys) scrubbed from every error message and log line. */
  secrets?: string[];
  /** Jitter source, [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * How to read the service's failure answer (the body of a non-2xx, as text) into words for the
   * error: e.g. the JSON field the service puts its complaint in. Returning undefined (or leaving this
   * out) uses the generic reading: a JSON `message`, `error.message`, `error` or `detail` string, else
   * the text. Either way the words are whitespace-folded and cut to 300 characters.
   */
  describeFailure?: FailureReader;
}

/** One JSON POST of a job. */
export interface DeliveryRequest {
  /** Names the request in log lines and errors, e.g. "log-request". */
  label: string;
  url: string;
  headers?: Record<string, string>;
  body: unknown;
}

/** What a delivery job gets: `post()` a JSON request through the queue's retries and time limits. */
export interface DeliveryContext {
  /**
   * POSTs `body` as JSON (serialized once, whatever the retries), retrying network errors, timeouts,
   * 408, 429 and 5xx with exponential backoff and jitter (honouring `Retry-After`) for up to
   * `maxRetryMs`, and holding while the circuit is open. Resolves with the parsed JSON answer
   * (undefined if it is not JSON); throws a DeliveryError when the request failed for good.
   */
  post(request: DeliveryRequest): Promise<unknown>;
  /**
   * Waits for `promise` off the caller's path, but resolves with `fallback` as soon as a flush,
   * shutdown or exit drain begins (at once if one is under way): what a flush waits for is never held.
   */
  settle<T>(promise: PromiseLike<T>, fallback: T): Promise<T>;
}

/**
 * A unit of delivery, e.g. one recorded call: its requests run in order through `ctx`. Resolving
 * `false` means there was nothing to deliver after all (counted neither sent nor failed).
 */
export type DeliveryJob = (ctx: DeliveryContext) => Promise<unknown>;

/** A delivery queue: `push()` jobs; `flush()`, `shutdown()` and `stats()` for its destination. */
export interface DeliveryQueue {
  /**
   * Queues a job to run in the background; returns at once and never throws. Returns false when the
   * job was dropped (queue full, or shut down), which is counted and reported.
   */
  push(job: DeliveryJob): boolean;
  /**
   * Resolves when every job pushed so far has been delivered or has failed for good, or at
   * `timeoutMs` (what is pending then keeps going). Never rejects.
   */
  flush(options?: FlushOptions): Promise<void>;
  /**
   * Refuses new jobs (they are counted as dropped and reported) and flushes; at `timeoutMs` (default
   * 5000) what is still pending is abandoned, counted and reported with its cause.
   */
  shutdown(options?: FlushOptions): Promise<void>;
  /** Counts of jobs (see DeliveryStats). */
  stats(): DeliveryStats;
  /** Takes the host's logger and error hook (createTagalong calls this through the destination). */
  attach(host: DestinationHost): void;
}

type Timer = ReturnType<typeof setTimeout>;

interface Item {
  job: DeliveryJob;
  seq: number;
}

interface FlushWaiter {
  upTo: number;
  remaining: number;
  resolve: () => void;
}

const DEFAULT_SHUTDOWN_MS = 5000;
const JSON_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  accept: "application/json",
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/**
 * A destination's background delivery: bounded, concurrent, retried with backoff, drained on exit;
 * what fails for good reaches the host's `onError` as a DeliveryError. For writing a destination.
 */
export function createDeliveryQueue(options: DeliveryQueueOptions): DeliveryQueue {
  const name = options.destination;
  const settings = deliverySettings(options);
  const { concurrency, maxQueue, timeoutMs, exitTimeoutMs, lingerMs } = settings;
  // A given fetch is used as given; otherwise Node's http client where this is Node, else fetch.
  const send: Send = options.fetch
    ? fetchSend(options.fetch)
    : (nodeSend() ?? fetchSend((input, init) => fetch(input, init)));
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const policy = retryPolicy(settings, options.random ?? Math.random);
  const breaker = circuitBreaker(policy, BREAKER_THRESHOLD);

  let logger: Logger | undefined;
  let waitUntil: DestinationHost["waitUntil"] | undefined;
  let reportError: (error: unknown) => void = (error) =>
    log().warn(error instanceof Error ? error.message : String(error));
  const log = (): Logger => (logger ??= consoleLogger());
  const reports = reporter(name, (error) => reportError(error));
  const counts = reports.counts;
  const scrub = (text: string): string => scrubSecrets(text, secrets);
  // One line per request, on topics `delivery` and the destination's name (DEBUG=tagalong:delivery);
  // built only when someone listens.
  const debug = (message: () => string): void => {
    const l = log();
    if (debugEnabled(l, "delivery") || debugEnabled(l, name)) l.debug(scrub(message()));
  };

  // Waiting jobs: an array read from `head`, compacted now and then (shift() is O(n) on long arrays).
  let waiting: Array<Item | undefined> = [];
  let head = 0;
  const waitingCount = (): number => waiting.length - head;
  const takeNext = (): Item | undefined => {
    if (head >= waiting.length) return undefined;
    const item = waiting[head];
    waiting[head++] = undefined;
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    } else if (head >= 4096 && head * 2 >= waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
    return item;
  };

  let active = 0;
  // Jobs abandoned while running: still winding down (an aborted request settles a tick later), no
  // longer pending.
  let abandonedRunning = 0;
  let seq = 0;
  let macroScheduled = false;
  let lingerTimer: Timer | undefined;
  let microScheduled = false;
  let stopped = false;
  const flushWaiters: FlushWaiter[] = [];
  // Jobs holding a delivery until it is final (ctx.settle): released by a flush, shutdown or exit.
  const held = new Set<() => void>();

  // Abandoning (shutdown's deadline, the exit drain's) bumps the epoch: older jobs stop at once.
  let epoch = 0;
  const inFlight = new Map<Cancel, number>();
  const sleepers = new Set<() => void>();
  let lastError: string | undefined;

  const registry = exitRegistry();
  let exitDraining = false;

  const pending = (): number => waitingCount() + active - abandonedRunning;

  const releaseHeld = (): void => {
    for (const release of [...held]) release();
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer: Timer = unref(setTimeout(wake, ms));
      sleepers.add(wake);
    });

  const track = (request: Cancel): (() => void) => {
    inFlight.set(request, Date.now());
    return () => inFlight.delete(request);
  };

  /** What the pending work is waiting on, for the reports of abandoned work. */
  const pendingCause = (): string => {
    const circuit = breaker.state();
    if (circuit.open && circuit.since !== undefined) {
      return `${name} has been failing for ${seconds(Date.now() - circuit.since)}, last error: ${circuit.lastFailure}`;
    }
    const parts: string[] = [];
    if (inFlight.size > 0) {
      const oldest = Math.min(...inFlight.values());
      parts.push(`${inFlight.size} waiting for an answer (the oldest for ${seconds(Date.now() - oldest)})`);
    }
    if (sleepers.size > 0) parts.push(`${sleepers.size} waiting to retry`);
    if (waitingCount() > 0) parts.push(`${waitingCount()} not started`);
    if (lastError !== undefined) parts.push(`last error: ${lastError}`);
    return parts.join("; ");
  };

  const abandonedError = (label: string, url: string, tries: number): DeliveryError =>
    new DeliveryError(scrub(`${name}: ${label} to ${url} abandoned`), {
      destination: name,
      attempts: tries,
    });

  // A destination passes the same headers object with every post: it is checked once.
  const checked = new WeakSet<object>();
  const requestHeaders = (
    label: string,
    headers: Record<string, string> | undefined,
  ): Record<string, string> => {
    if (headers === undefined) return JSON_HEADERS;
    if (!checked.has(headers)) {
      try {
        // A header fetch refuses (a key with a line break) fails every attempt: say so once, here.
        new Headers(headers);
      } catch (error) {
        throw new DeliveryError(
          scrub(
            `${name}: ${label} headers are not valid (${error instanceof Error ? error.message : String(error)})`,
          ),
          { destination: name, attempts: 0 },
        );
      }
      checked.add(headers);
    }
    return { ...JSON_HEADERS, ...headers };
  };

  const makeContext = (jobEpoch: number): DeliveryContext => ({
    async post({ label, url, headers, body }) {
      let payload: string;
      try {
        payload = JSON.stringify(body);
      } catch {
        throw new DeliveryError(`${name}: ${label} body is not serialisable as JSON`, {
          destination: name,
          attempts: 0,
        });
      }
      const allHeaders = requestHeaders(label, headers);
      let tries = 0;
      let failures = 0;
      let firstFailure: number | undefined;
      for (;;) {
        if (jobEpoch !== epoch) throw abandonedError(label, url, tries);
        const go = breaker.closed()
          ? "go"
          : await breaker.ready(firstFailure === undefined ? undefined : firstFailure + settings.maxRetryMs);
        if (jobEpoch !== epoch || go === "released") throw abandonedError(label, url, tries);
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
          send,
          url,
          allHeaders,
          payload,
          timeoutMs,
          track,
          options.describeFailure,
        );
        if (jobEpoch !== epoch) throw abandonedError(label, url, tries);
        const took = Date.now() - started;
        if (result.ok) {
          breaker.answered();
          debug(() => `${name}: POST ${url} -> ${result.status} in ${took} ms (attempt ${tries})`);
          return result.body;
        }
        lastError = scrub(`${label}: ${result.reason}`);
        if (result.retryable) breaker.failed(lastError, result.retryAfterMs);
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
        counts.retried++;
        debug(
          () => `${name}: POST ${url} -> ${result.reason} in ${took} ms, retry ${failures} in ${delay} ms`,
        );
        await sleep(delay);
      }
    },
    settle(promise, fallback) {
      // A flush under way waits for this job: it must not be held. The fallback comes a macrotask
      // later, so a promise that has already settled still wins.
      const later = (resolve: (value: typeof fallback) => void): void => macrotask(() => resolve(fallback));
      if (stopped || exitDraining || flushWaiters.length > 0 || jobEpoch !== epoch) {
        return new Promise((resolve) => {
          Promise.resolve(promise).then(resolve, () => resolve(fallback));
          later(resolve);
        });
      }
      return new Promise((resolve) => {
        const release = (): void => {
          held.delete(release);
          later(resolve);
        };
        held.add(release);
        Promise.resolve(promise).then(
          (value) => {
            held.delete(release);
            resolve(value);
          },
          () => release(),
        );
      });
    },
  });

  const settle = (item: Item): void => {
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const w = flushWaiters[i]!;
      if (item.seq <= w.upTo && --w.remaining === 0) {
        flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
    if (reports.dropping && pending() < maxQueue) reports.endDropRun();
    if (pending() === 0) registry?.delete(drainable);
  };

  const run = async (item: Item): Promise<void> => {
    const jobEpoch = epoch;
    try {
      const outcome = await item.job(makeContext(jobEpoch));
      if (jobEpoch === epoch) {
        if (outcome !== false) counts.sent++;
      } else if (outcome !== false) {
        // Delivered in the instant it was abandoned: it counts as sent after all.
        counts.abandoned--;
        counts.sent++;
      }
    } catch (error) {
      // Abandoned jobs are counted and summed up in one report by abandonAll.
      if (jobEpoch === epoch) {
        counts.failed++;
        reports.report(error);
      }
    } finally {
      active--;
      if (jobEpoch !== epoch) abandonedRunning--;
      settle(item);
      if (waitingCount() > 0) next();
    }
  };

  /**
   * A job finished and others wait. They start at once when a full batch waits (a backlog: every free
   * slot is filled as it frees) or a flush is under way; otherwise with the batch they belong to, when
   * the linger timer fires. Starting each as a slot frees would turn a steady flow of calls back into
   * one delivery's work after every call, the very thing batches are for.
   */
  function next(): void {
    if (waitingCount() >= concurrency || flushWaiters.length > 0 || lingerMs <= 0) pump();
    else armLinger();
  }

  function armLinger(): void {
    if (lingerTimer !== undefined) return;
    lingerTimer = unref(setTimeout(lingerPump, lingerMs));
  }

  function pump(): void {
    while (active < concurrency && waitingCount() > 0) {
      const item = takeNext()!;
      active++;
      void run(item);
    }
  }

  const macroPump = (): void => {
    macroScheduled = false;
    pump();
  };
  const microPump = (): void => {
    microScheduled = false;
    pump();
  };
  const lingerPump = (): void => {
    lingerTimer = undefined;
    pump();
  };
  /** Starts waiting jobs now (a flush, shutdown or exit drain asked for them). */
  const startNow = (): void => {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    lingerTimer = undefined;
    pump();
  };

  // Jobs start in batches, on a later macrotask: no byte is built or sent until the caller's own code
  // has moved on, and calls arriving one by one are not each followed by a delivery's work on the same
  // thread. A batch starts when `concurrency` jobs wait, `lingerMs` after the first of them, or at a
  // flush. If a full batch builds up before a macrotask comes (a caller whose every await resolves in
  // microtasks never yields to one), it starts from a microtask instead.
  const schedule = (): void => {
    if (active >= concurrency) return;
    if (waitingCount() < concurrency && lingerMs > 0) {
      armLinger();
      return;
    }
    if (!macroScheduled) {
      macroScheduled = true;
      macrotask(macroPump);
    }
    if (!microScheduled && waitingCount() >= concurrency) {
      microScheduled = true;
      queueMicrotask(microPump);
    }
  };

  // Shutdown's or the exit drain's deadline: stop waiting jobs, wake sleeping retries and held ones,
  // abort requests; report once, with what the work was waiting on.
  const abandonAll = (why: string): void => {
    const total = pending();
    if (total === 0) return;
    const cause = pendingCause();
    epoch++;
    const notStarted: Item[] = [];
    for (let item = takeNext(); item; item = takeNext()) notStarted.push(item);
    for (const request of [...inFlight.keys()]) request.abort?.();
    for (const wake of [...sleepers]) wake();
    breaker.release();
    releaseHeld();
    counts.abandoned += total;
    abandonedRunning = active;
    for (const item of notStarted) settle(item);
    // Running jobs see the new epoch on their next step and settle themselves.
    reports.report(
      new DeliveryError(
        scrub(`${name}: abandoned ${total} deliveries still pending when ${why}${cause ? `: ${cause}` : ""}`),
        { destination: name, attempts: 0 },
      ),
    );
  };

  const drainable: ExitDrain = {
    drainForExit() {
      if (exitDraining || pending() === 0) return;
      if (exitTimeoutMs <= 0) return abandonAll("the process exited (waited 0 ms)");
      exitDraining = true;
      releaseHeld();
      // A referenced timer keeps the process alive while the (unreferenced) retries and requests finish.
      const deadline = setTimeout(
        () => abandonAll(`the process exited (waited ${exitTimeoutMs} ms)`),
        exitTimeoutMs,
      );
      void flush().then(() => {
        clearTimeout(deadline);
        exitDraining = false;
      });
    },
  };

  function flush(flushOptions?: FlushOptions): Promise<void> {
    const remaining = pending();
    if (remaining === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => flushWaiters.push({ upTo: seq, remaining, resolve }));
    startNow();
    releaseHeld();
    const limit = flushOptions?.timeoutMs;
    if (limit === undefined || !Number.isFinite(limit)) return done;
    let timer: Timer | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, limit));
    });
    return Promise.race([done, deadline]).finally(() => clearTimeout(timer));
  }

  return {
    push(job) {
      if (stopped) return reports.drop("the destination was shut down", false);
      if (pending() >= maxQueue) return reports.drop(`the queue is full (maxQueue ${maxQueue})`, true);
      if (reports.dropping) reports.endDropRun();
      const item: Item = { job, seq: ++seq };
      if (registry && pending() === 0) registry.add(drainable);
      const keepAlive = waitUntil?.();
      if (keepAlive) {
        // Serverless: the job runs on its own, started by a timer of the invocation that recorded it,
        // which stays alive until the job is delivered or has failed for good. It never waits for a slot
        // in the shared queue: Workers cancel an invocation's timers and requests when it ends, so a job
        // started or continued by another invocation would die with that one.
        active++;
        const delivered = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => run(item));
        try {
          keepAlive(delivered);
        } catch (error) {
          reports.report(error);
        }
        return true;
      }
      waiting.push(item);
      schedule();
      return true;
    },
    flush,
    async shutdown(shutdownOptions) {
      stopped = true;
      const limit = shutdownOptions?.timeoutMs ?? DEFAULT_SHUTDOWN_MS;
      await flush({ timeoutMs: limit });
      abandonAll(`the destination shut down (waited ${limit} ms)`);
      reports.endDropRun();
      registry?.delete(drainable);
    },
    stats() {
      return { ...counts, queued: pending() };
    },
    attach(host) {
      logger = host.logger;
      reportError = host.reportError;
      waitUntil = host.waitUntil;
    },
  };
}
