// Background delivery for after-the-call destinations: a bounded queue of jobs, each a short chain of
// JSON POSTs, run with bounded concurrency, retries and timeouts. Nothing here ever reaches the
// caller's code: failures go to the host's reportError, counts to stats().
import { DeliveryError } from "./errors";
import { consoleLogger, debugEnabled } from "./logger";
import type { DeliveryStats, DestinationHost, FlushOptions, Logger } from "./types";

/** The delivery settings a user may tune on an after-the-call destination. */
export interface DeliveryOptions {
  /**
   * Jobs in flight at once (default 4). A job handed to a serverless wait-until hook runs on its own,
   * carried by the invocation that recorded it, and does not wait for a slot.
   */
  concurrency?: number;
  /** Jobs waiting or in flight before new ones are dropped, counted and reported (default 1000). */
  maxQueue?: number;
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number;
  /** Per-attempt timeout in ms, the answer's body included (default 10 000). */
  timeoutMs?: number;
  /** First retry delay in ms; doubles per attempt, with jitter (default 500). */
  backoffMs?: number;
  /** Longest computed retry delay in ms (default 30 000). */
  maxBackoffMs?: number;
  /** Longest wait a `Retry-After` answer may impose, in ms (default 60 000). */
  maxRetryAfterMs?: number;
  /**
   * When the process is about to exit normally (Node's `beforeExit`) with work pending, keep it alive
   * up to this many ms to finish; what is still pending then is abandoned and reported (default 5000;
   * 0 abandons and reports at once). Node fires `beforeExit` only once no request is in flight, so a
   * hung request first runs into `timeoutMs`. `process.exit()` and signals skip all this: await
   * `shutdown()` (or `flush()`) before them.
   */
  exitTimeoutMs?: number;
  /** The fetch to send with (default: the global fetch). */
  fetch?: typeof fetch;
}

export interface DeliveryQueueOptions extends DeliveryOptions {
  /** The destination's name, used in errors and log lines. */
  destination: string;
  /** Strings (API keys) scrubbed from every error message and log line. */
  secrets?: string[];
  /** Jitter source, [0, 1) (default Math.random). */
  random?: () => number;
}

/** One JSON POST of a job. */
export interface DeliveryRequest {
  /** Names the request in log lines and errors, e.g. "log-request". */
  label: string;
  url: string;
  headers?: Record<string, string>;
  body: unknown;
}

export interface DeliveryContext {
  /**
   * POSTs `body` as JSON, retrying network errors, timeouts, 408, 429 and 5xx with exponential backoff
   * and jitter (honouring `Retry-After`). Resolves with the parsed JSON answer (undefined if it is not
   * JSON); throws a DeliveryError when the request failed for good.
   */
  post(request: DeliveryRequest): Promise<unknown>;
}

/** A unit of delivery, e.g. one recorded call: its requests run in order through `ctx`. */
export type DeliveryJob = (ctx: DeliveryContext) => Promise<void>;

export interface DeliveryQueue {
  /**
   * Queues a job to run in the background; returns at once and never throws. Returns false when the
   * job was dropped (queue full, or shut down), which is counted and reported.
   */
  push(job: DeliveryJob): boolean;
  /** Resolves when every job pushed so far has been delivered or has failed for good. Never rejects. */
  flush(options?: FlushOptions): Promise<void>;
  /**
   * Refuses new jobs (they are counted as dropped and reported) and flushes; at `timeoutMs` (default
   * 5000) what is still pending is abandoned, counted and reported.
   */
  shutdown(options?: FlushOptions): Promise<void>;
  /**
   * Counts of jobs: `queued` waiting or in flight now, `sent` delivered, `failed` given up on,
   * `dropped` never accepted; `retried` counts retry attempts of single requests.
   */
  stats(): DeliveryStats;
  /** Takes the host's logger and error hook (createTagalong calls this through the destination). */
  attach(host: DestinationHost): void;
}

const DEFAULTS = {
  concurrency: 4,
  maxQueue: 1000,
  maxAttempts: 5,
  timeoutMs: 10_000,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 60_000,
  exitTimeoutMs: 5000,
};

type Timer = ReturnType<typeof setTimeout>;

/** Lets a pending timer not hold the process open (Node); a no-op where timers are numbers. */
function unref(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The server's own words on a failure, short: PromptLayer's `message`, a 422's `detail`, or the text. */
function describeAnswer(text: string): string {
  let said = text;
  try {
    const json = JSON.parse(text) as { message?: unknown; detail?: unknown };
    if (typeof json?.message === "string") said = json.message;
    else if (json?.detail !== undefined) said = JSON.stringify(json.detail);
  } catch {
    // Not JSON: the text as it came.
  }
  said = said.replace(/\s+/g, " ").trim();
  return said.length > 300 ? `${said.slice(0, 300)}...` : said;
}

interface Item {
  job: DeliveryJob;
  seq: number;
}

interface FlushWaiter {
  upTo: number;
  remaining: number;
  resolve: () => void;
}

type Attempt =
  | { ok: true; status: number; body: unknown }
  | {
      ok: false;
      status?: number;
      reason: string;
      retryable: boolean;
      retryAfterMs?: number;
      cause?: unknown;
    };

/** Queues with pending work, drained once when the process is about to exit normally. */
interface ExitDrain {
  drainForExit(): void;
}
const EXIT_REGISTRY = Symbol.for("tagalong.delivery-queue.exit-registry");

function exitRegistry(): Set<ExitDrain> | undefined {
  const proc = (globalThis as { process?: { on?: (event: string, fn: () => void) => unknown } }).process;
  if (typeof proc?.on !== "function") return undefined;
  const g = globalThis as unknown as Record<symbol, Set<ExitDrain> | undefined>;
  let registry = g[EXIT_REGISTRY];
  if (!registry) {
    const queues = new Set<ExitDrain>();
    registry = g[EXIT_REGISTRY] = queues;
    // One listener per process, however many queues and duplicate installs there are.
    proc.on("beforeExit", () => {
      for (const q of [...queues]) q.drainForExit();
    });
  }
  return registry;
}

export function createDeliveryQueue(options: DeliveryQueueOptions): DeliveryQueue {
  const name = options.destination;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULTS.concurrency);
  const maxQueue = Math.max(1, options.maxQueue ?? DEFAULTS.maxQueue);
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts);
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const backoffMs = options.backoffMs ?? DEFAULTS.backoffMs;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs;
  const exitTimeoutMs = options.exitTimeoutMs ?? DEFAULTS.exitTimeoutMs;
  const random = options.random ?? Math.random;
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);

  let logger: Logger | undefined;
  let waitUntil: DestinationHost["waitUntil"] | undefined;
  let reportError: (error: unknown) => void = (error) =>
    log().warn(error instanceof Error ? error.message : String(error));
  const log = (): Logger => (logger ??= consoleLogger());

  const counts: DeliveryStats = { queued: 0, sent: 0, retried: 0, failed: 0, dropped: 0, abandoned: 0 };
  const waiting: Item[] = [];
  let active = 0;
  let seq = 0;
  let pumpScheduled = false;
  let stopped = false;
  const flushWaiters: FlushWaiter[] = [];

  // Abandoning (at the exit deadline) bumps the epoch: every request of an older epoch stops at once.
  let epoch = 0;
  const inFlight = new Set<AbortController>();
  const sleepers = new Set<() => void>();

  const registry = exitRegistry();
  let exitDraining = false;

  const redact = (text: string): string => {
    for (const s of secrets) text = text.split(s).join("[redacted]");
    return text;
  };
  // One line per request, on topics `delivery` and the destination's name (DEBUG=tagalong:delivery).
  const debug = (message: () => string): void => {
    const l = log();
    if (debugEnabled(l, "delivery") || debugEnabled(l, name)) l.debug(redact(message()));
  };

  const report = (error: unknown): void => {
    try {
      reportError(error);
    } catch {
      // The host's hook never throws; belt and braces for a queue used on its own.
    }
  };

  // A full queue drops in bursts: the first drop is reported at once, the rest of the burst is summed
  // up when the queue has room again. Drops after shutdown are rare and each is reported.
  let dropRun: { reason: string; more: number } | undefined;
  const endDropRun = (): void => {
    if (dropRun && dropRun.more > 0) {
      report(
        new DeliveryError(`${name}: dropped ${dropRun.more} more deliveries: ${dropRun.reason}`, {
          destination: name,
          attempts: 0,
        }),
      );
    }
    dropRun = undefined;
  };
  const drop = (reason: string, coalesce: boolean): false => {
    counts.dropped++;
    if (coalesce && dropRun?.reason === reason) {
      dropRun.more++;
    } else {
      endDropRun();
      if (coalesce) dropRun = { reason, more: 0 };
      report(new DeliveryError(`${name}: dropped a delivery: ${reason}`, { destination: name, attempts: 0 }));
    }
    return false;
  };

  const pending = (): number => waiting.length + active;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = unref(setTimeout(wake, ms));
      sleepers.add(wake);
    });

  const attempt = async (url: string, init: RequestInit): Promise<Attempt> => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = unref(
      setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs),
    );
    inFlight.add(controller);
    try {
      const res = await (options.fetch ?? fetch)(url, { ...init, signal: controller.signal });
      const text = await res.text();
      if (res.ok) {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        return { ok: true, status: res.status, body };
      }
      const said = describeAnswer(text);
      return {
        ok: false,
        status: res.status,
        reason: `HTTP ${res.status}${said ? ` (${said})` : ""}`,
        retryable: isRetryableStatus(res.status),
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
      };
    } catch (error) {
      if (timedOut) return { ok: false, reason: `timed out after ${timeoutMs} ms`, retryable: true };
      const cause = (error as { cause?: { code?: unknown } })?.cause;
      const code = typeof cause?.code === "string" ? `: ${cause.code}` : "";
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: `network error (${message}${code})`, retryable: true, cause: error };
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
  };

  const delayFor = (tries: number, retryAfterMs: number | undefined): number => {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, maxRetryAfterMs);
    const base = Math.min(maxBackoffMs, backoffMs * 2 ** (tries - 1));
    return Math.round(base / 2 + (random() * base) / 2);
  };

  const abandoned = (label: string, url: string, tries: number): DeliveryError =>
    new DeliveryError(redact(`${name}: ${label} to ${url} abandoned: the process is exiting`), {
      destination: name,
      attempts: tries,
    });

  const makeContext = (jobEpoch: number): DeliveryContext => ({
    async post({ label, url, headers, body }) {
      let payload: string;
      try {
        payload = JSON.stringify(body);
      } catch (error) {
        throw new DeliveryError(`${name}: ${label} body is not serialisable as JSON`, {
          destination: name,
          attempts: 0,
          cause: error,
        });
      }
      const init: RequestInit = {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...headers },
        body: payload,
      };
      for (let tries = 1; ; tries++) {
        if (jobEpoch !== epoch) throw abandoned(label, url, tries - 1);
        const started = Date.now();
        const result = await attempt(url, init);
        if (jobEpoch !== epoch) throw abandoned(label, url, tries);
        const took = Date.now() - started;
        if (result.ok) {
          debug(() => `${name}: POST ${url} -> ${result.status} in ${took} ms (attempt ${tries})`);
          return result.body;
        }
        if (!result.retryable || tries >= maxAttempts) {
          debug(() => `${name}: POST ${url} -> ${result.reason} in ${took} ms, giving up`);
          const why = result.retryable ? `after ${tries} attempts` : "not retried";
          throw new DeliveryError(
            redact(`${name}: ${label} to ${url} failed with ${result.reason}, ${why}`),
            {
              destination: name,
              status: result.status,
              attempts: tries,
              cause: result.cause,
            },
          );
        }
        const delay = delayFor(tries, result.retryAfterMs);
        counts.retried++;
        debug(() => `${name}: POST ${url} -> ${result.reason} in ${took} ms, retry ${tries} in ${delay} ms`);
        await sleep(delay);
      }
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
    if (pending() < maxQueue) endDropRun();
    if (pending() === 0) registry?.delete(drainable);
  };

  const run = async (item: Item): Promise<void> => {
    const jobEpoch = epoch;
    try {
      await item.job(makeContext(jobEpoch));
      counts.sent++;
    } catch (error) {
      // Abandoned jobs are counted and summed up in one report by abandonAll.
      if (jobEpoch === epoch) {
        counts.failed++;
        report(error);
      }
    } finally {
      active--;
      settle(item);
      pump();
    }
  };

  function pump(): void {
    pumpScheduled = false;
    while (active < concurrency && waiting.length > 0) {
      const item = waiting.shift()!;
      active++;
      void run(item);
    }
  }

  // At the exit deadline: stop waiting jobs, wake sleeping retries, abort requests; report once.
  const abandonAll = (why = `the process exited (waited ${exitTimeoutMs} ms)`): void => {
    const notStarted = waiting.splice(0);
    const total = notStarted.length + active;
    if (total === 0) return;
    epoch++;
    for (const controller of [...inFlight]) controller.abort();
    for (const wake of [...sleepers]) wake();
    counts.abandoned += total;
    for (const item of notStarted) settle(item);
    // Running jobs see the new epoch on their next step and settle themselves.
    report(
      new DeliveryError(`${name}: abandoned ${total} deliveries still pending when ${why}`, {
        destination: name,
        attempts: 0,
      }),
    );
  };

  const drainable: ExitDrain = {
    drainForExit() {
      if (exitDraining || pending() === 0) return;
      if (exitTimeoutMs <= 0) return abandonAll();
      exitDraining = true;
      // A referenced timer keeps the process alive while the (unreferenced) retries and requests finish.
      const deadline = setTimeout(() => abandonAll(), exitTimeoutMs);
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
    const timeoutMs = flushOptions?.timeoutMs;
    if (timeoutMs === undefined) return done;
    let timer: Timer | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
    return Promise.race([done, deadline]).finally(() => clearTimeout(timer));
  }

  return {
    push(job) {
      if (stopped) return drop("the destination was shut down", false);
      if (pending() >= maxQueue) return drop(`the queue is full (maxQueue ${maxQueue})`, true);
      if (dropRun) endDropRun();
      const item: Item = { job, seq: ++seq };
      registry?.add(drainable);
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
          report(error);
        }
        return true;
      }
      waiting.push(item);
      if (!pumpScheduled) {
        pumpScheduled = true;
        // A macrotask: no byte is built or sent until the caller's own code has moved on.
        setTimeout(pump, 0);
      }
      return true;
    },
    flush,
    async shutdown(shutdownOptions) {
      stopped = true;
      const timeoutMs = shutdownOptions?.timeoutMs ?? DEFAULTS.exitTimeoutMs;
      await flush({ timeoutMs });
      abandonAll(`the destination shut down (waited ${timeoutMs} ms)`);
      endDropRun();
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
