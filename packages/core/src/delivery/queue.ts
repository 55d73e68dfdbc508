// The scheduler: a bounded queue of jobs (one recorded call each, a short chain of JSON POSTs) run with
// bounded concurrency, their requests posted through the retry policy and the circuit breaker
// (poster.ts). Nothing here ever reaches the caller's code: failures go to the host's reportError,
// counts to stats(). The engine is a class whose methods name its parts: taking jobs (push), starting
// them in batches (schedule, pump), running one (run, finished), waiting for them (flush, the held
// deliveries of `settle`), and giving up on them (abandonAll: shutdown's and the exit drain's deadline).

import { type Timer, unref } from "../adapter-kit/timer";
import { settleWithin, shutdownDeadline } from "../deadline";
import { DeliveryError } from "../errors";
import { consoleLogger, debugEnabled } from "../logger";
import { macrotask } from "../macrotask";
import { scrubSecrets } from "../redact";
import type { DeliveryStats, DestinationHost, FlushOptions, Logger } from "../types";
import type { FailureReader } from "./attempt";
import { type Breaker, circuitBreaker } from "./breaker";
import { type ExitDrain, exitRegistry } from "./exit";
import { JobLine } from "./job-line";
import { BREAKER_THRESHOLD, type DeliveryOptions, type DeliverySettings, deliverySettings } from "./options";
import { type DeliveryRequest, JobWork, Poster, seconds } from "./poster";
import { retryPolicy } from "./retry-policy";
import { type Reporter, reporter } from "./stats";
import { fetchSend, nodeSend, type Send } from "./transport";

export type { DeliveryRequest } from "./poster";

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

interface Item {
  job: DeliveryJob;
  seq: number;
  /** Carried by a serverless invocation's waitUntil: its hold (ctx.settle) is bounded (`waitUntilMs`). */
  keptAlive?: boolean;
  /** Carried by a waitUntil: when its wait for a retry or the breaker ends with one more attempt (epoch ms). */
  lastChance?: number;
  /** What it waits on while it runs, for abandoning it to cut. */
  work?: JobWork;
  /**
   * Given up on (shutdown's or the exit drain's deadline, or its own `waitUntilMs`): counted and
   * reported then, and settled for the flushes; what it was waiting on is cut, and it stops there.
   */
  abandoned?: boolean;
}

interface FlushWaiter {
  upTo: number;
  remaining: number;
  resolve: () => void;
}

const DEFAULT_SHUTDOWN_MS = 5000;
/**
 * The share of `waitUntilMs` a job carried by a waitUntil may hold a delivery that is not yet final
 * (ctx.settle): 20 s of the default 25, longer than the AI SDK's default retries take (2 retries, 2 s
 * and 4 s apart, and the requests), and over before the platform cancels the work.
 */
const WAIT_UNTIL_HOLD = 0.8;
/**
 * The share of `waitUntilMs` after which a job carried by a waitUntil stops waiting for a retry or the
 * breaker's next probe and makes one more attempt (22.5 s of the default 25): time for an answer
 * before its deadline, so that a service back meanwhile gets the delivery rather than its abandonment.
 */
const WAIT_UNTIL_LAST_CHANCE = 0.9;

/**
 * A destination's background delivery: bounded, concurrent, retried with backoff, drained on exit;
 * what fails for good reaches the host's `onError` as a DeliveryError. For writing a destination.
 */
export function createDeliveryQueue(options: DeliveryQueueOptions): DeliveryQueue {
  const engine = new DeliveryEngine(options);
  // The engine's own methods, callable detached (`const { flush } = queue`); its state stays inside.
  return {
    push: (job) => engine.push(job),
    flush: (flushOptions) => engine.flush(flushOptions),
    shutdown: (shutdownOptions) => engine.shutdown(shutdownOptions),
    stats: () => engine.stats(),
    attach: (host) => engine.attach(host),
  };
}

class DeliveryEngine implements ExitDrain {
  private readonly name: string;
  private readonly settings: DeliverySettings;
  private readonly breaker: Breaker;
  private readonly poster: Poster;
  private readonly reports: Reporter;
  private readonly secrets: string[];

  // The host's, once attached.
  private logger: Logger | undefined;
  private waitUntil: DestinationHost["waitUntil"] | undefined;
  private reportError: (error: unknown) => void = (error) =>
    this.log().warn(error instanceof Error ? error.message : String(error));

  private readonly waiting = new JobLine<Item>();
  /** Jobs started (a waitUntil's, from when they are pushed) and not yet ended. */
  private readonly running = new Set<Item>();
  /** Running jobs held until their delivery is final (ctx.settle): their slots are free meanwhile. */
  private holding = 0;
  /**
   * Jobs of the shared queue abandoned while running: still winding down (an aborted request settles a
   * tick later), no longer pending. (One an invocation carries leaves `running` when abandoned.)
   */
  private abandonedRunning = 0;
  private seq = 0;
  private macroScheduled = false;
  private microScheduled = false;
  private lingerTimer: Timer | undefined;
  private stopped = false;
  private readonly flushWaiters: FlushWaiter[] = [];
  /** Jobs holding a delivery until it is final (ctx.settle): released by a flush, shutdown or exit. */
  private readonly held = new Set<() => void>();
  private readonly registry = exitRegistry();
  private exitDraining = false;

  constructor(options: DeliveryQueueOptions) {
    this.name = options.destination;
    this.settings = deliverySettings(options.destination, options);
    this.secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
    this.reports = reporter(this.name, (error) => this.reportError(error));
    const policy = retryPolicy(this.settings, options.random ?? Math.random);
    this.breaker = circuitBreaker(policy, BREAKER_THRESHOLD, this.settings.backoffMs);
    // A given fetch is used as given; otherwise Node's http client where this is Node, else fetch.
    const send: Send = options.fetch
      ? fetchSend(options.fetch)
      : (nodeSend() ?? fetchSend((input, init) => fetch(input, init)));
    this.poster = new Poster({
      name: this.name,
      send,
      timeoutMs: this.settings.timeoutMs,
      maxRetryMs: this.settings.maxRetryMs,
      breaker: this.breaker,
      policy,
      counts: this.reports.counts,
      scrub: (text) => this.scrub(text),
      debug: (message) => this.debug(message),
      describeFailure: options.describeFailure,
    });
  }

  // --- the face: DeliveryQueue ---

  push(job: DeliveryJob): boolean {
    const { reports } = this;
    if (this.stopped) return reports.drop("the destination was shut down", false);
    const { maxQueue } = this.settings;
    if (this.pending() >= maxQueue) return reports.drop(`the queue is full (maxQueue ${maxQueue})`, true);
    if (reports.dropping && this.drained()) reports.endDropRun();
    const item: Item = { job, seq: ++this.seq };
    if (this.registry && this.pending() === 0) this.registry.add(this);
    const keepAlive = this.waitUntil?.();
    if (keepAlive) {
      // Serverless: the job runs on its own, started by a timer of the invocation that recorded it,
      // which stays alive until the job is delivered or has failed for good. It never waits for a slot
      // in the shared queue: Workers cancel an invocation's timers and requests when it ends, so a job
      // started or continued by another invocation would die with that one.
      this.running.add(item);
      item.keptAlive = true;
      item.lastChance = Date.now() + this.settings.waitUntilMs * WAIT_UNTIL_LAST_CHANCE;
      const delivered = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.run(item));
      try {
        keepAlive(this.withinInvocation(item, delivered));
      } catch (error) {
        reports.report(error);
      }
      return true;
    }
    this.waiting.push(item);
    this.schedule();
    return true;
  }

  flush(flushOptions?: FlushOptions): Promise<void> {
    const remaining = this.pending();
    if (remaining === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) =>
      this.flushWaiters.push({ upTo: this.seq, remaining, resolve }),
    );
    this.startNow();
    this.releaseHeld();
    let timeoutMs = flushOptions?.timeoutMs;
    // In a serverless invocation (a wait-until hook in force) a flush waits at most `waitUntilMs`, by
    // when every job another invocation carries has settled, and by a timer of this invocation's own:
    // on Workers an invocation with nothing of its own pending is cancelled as hung, and the flush of
    // one whose jobs are done would wait for another's, which only that one's timers settle.
    if (this.waitUntil?.() !== undefined)
      timeoutMs = Math.min(timeoutMs ?? Number.POSITIVE_INFINITY, this.settings.waitUntilMs);
    return settleWithin(done, timeoutMs);
  }

  async shutdown(shutdownOptions?: FlushOptions): Promise<void> {
    this.stopped = true;
    const limit = shutdownDeadline(shutdownOptions?.timeoutMs, DEFAULT_SHUTDOWN_MS);
    await this.flush({ timeoutMs: limit });
    this.abandonAll(`the destination shut down (waited ${limit} ms)`);
    this.reports.endDropRun();
    this.registry?.delete(this);
  }

  stats(): DeliveryStats {
    return { ...this.reports.counts, queued: this.pending() };
  }

  attach(host: DestinationHost): void {
    this.logger = host.logger;
    this.reportError = host.reportError;
    this.waitUntil = host.waitUntil;
  }

  /** The process is about to exit (ExitDrain): deliver what is pending, within `exitTimeoutMs`. */
  drainForExit(): void {
    if (this.exitDraining || this.pending() === 0) return;
    const { exitTimeoutMs } = this.settings;
    if (exitTimeoutMs <= 0) {
      this.abandonAll("the process exited (waited 0 ms)");
      return;
    }
    this.exitDraining = true;
    this.releaseHeld();
    // A referenced timer keeps the process alive while the (unreferenced) retries and requests finish.
    const deadline = setTimeout(
      () => this.abandonAll(`the process exited (waited ${exitTimeoutMs} ms)`),
      exitTimeoutMs,
    );
    void this.flush().then(() => {
      clearTimeout(deadline);
      this.exitDraining = false;
    });
  }

  // --- running a job ---

  private pending(): number {
    return this.waiting.size + this.running.size - this.abandonedRunning;
  }

  /**
   * Whether a full queue has drained enough to end a burst of drops (half of `maxQueue`): a queue
   * that a steady overload keeps full frees a slot and drops again with every delivery, and is
   * reported once, not twice per delivery.
   */
  private drained(): boolean {
    return this.pending() <= this.settings.maxQueue / 2;
  }

  private async run(item: Item): Promise<void> {
    const live = (): boolean => !item.abandoned;
    const { counts } = this.reports;
    item.work = new JobWork(live, item.lastChance);
    try {
      // Given up on before it began (a waitUntil's job, pushed just before a shutdown's deadline).
      if (item.abandoned) return;
      const outcome = await item.job(this.context(item.work, item));
      if (live()) {
        if (outcome !== false) counts.sent++;
      } else if (outcome !== false) {
        // Delivered in the instant it was abandoned: it counts as sent after all.
        counts.abandoned--;
        counts.sent++;
      }
    } catch (error) {
      // Abandoned jobs are counted and reported by abandonAll or expire.
      if (live()) {
        counts.failed++;
        this.reports.report(error);
      }
    } finally {
      this.running.delete(item);
      // An abandoned job was finished when it was abandoned: the flushes stopped waiting for it then.
      if (!item.abandoned) this.finished(item);
      else if (!item.keptAlive) this.abandonedRunning--;
      if (this.waiting.size > 0) this.next();
    }
  }

  /** What job `item` posts and waits through, while its `work` is current (not abandoned). */
  private context(work: JobWork, item: Item): DeliveryContext {
    return {
      post: (request) => this.poster.post(request, work),
      settle: (promise, fallback) => this.settleWithin(work.current, item, promise, fallback),
    };
  }

  /** A job is done (delivered, failed or abandoned), once: the flushes waiting for it, the drop run, the exit drain. */
  private finished(item: Item): void {
    const waiters = this.flushWaiters;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (item.seq <= w.upTo && --w.remaining === 0) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
    if (this.reports.dropping && this.drained()) this.reports.endDropRun();
    if (this.pending() === 0) this.registry?.delete(this);
  }

  /** DeliveryContext.settle: `promise`, unless a flush, shutdown or exit drain wants the job done first. */
  private settleWithin<T>(
    current: () => boolean,
    { seq, keptAlive }: Item,
    promise: PromiseLike<T>,
    fallback: T,
  ): Promise<T> {
    // A flush under way that waits for this job (one begun after it was pushed): it must not be held.
    // The fallback comes a macrotask later, so a promise that has already settled still wins.
    const later = (resolve: (value: T) => void): void => macrotask(() => resolve(fallback));
    const awaited = this.flushWaiters.some((w) => seq <= w.upTo);
    if (this.stopped || this.exitDraining || awaited || !current()) {
      return new Promise((resolve) => {
        Promise.resolve(promise).then(resolve, () => resolve(fallback));
        later(resolve);
      });
    }
    // Held for as long as a framework may retry (the AI SDK: a minute; under a waitUntil, at most
    // most of waitUntilMs, or the platform would cancel it unsent), the job leaves its slot to
    // the jobs that wait, and takes it back (over `concurrency` if need be) when it goes on. A pump
    // under way fills the slot itself; otherwise a microtask does (not this call: a job the pump
    // started would start the next one inside it, a stack as deep as the queue is long).
    const { held } = this;
    this.holding++;
    queueMicrotask(this.freed);
    let bound: Timer | undefined;
    return new Promise<T>((resolve) => {
      const release = (): void => {
        held.delete(release);
        later(resolve);
      };
      held.add(release);
      if (keptAlive) bound = unref(setTimeout(release, this.settings.waitUntilMs * WAIT_UNTIL_HOLD));
      Promise.resolve(promise).then(
        (value) => {
          held.delete(release);
          resolve(value);
        },
        () => release(),
      );
    }).finally(() => {
      clearTimeout(bound);
      this.holding--;
    });
  }

  private releaseHeld(): void {
    for (const release of [...this.held]) release();
  }

  // --- starting jobs ---

  /**
   * Jobs start in batches, on a later macrotask: no byte is built or sent until the caller's own code
   * has moved on, and calls arriving one by one are not each followed by a delivery's work on the same
   * thread. A batch starts when `concurrency` jobs wait, `lingerMs` after the first of them, or at a
   * flush. If a full batch builds up before a macrotask comes (a caller whose every await resolves in
   * microtasks never yields to one), it starts from a microtask instead.
   */
  private schedule(): void {
    const { concurrency, lingerMs } = this.settings;
    if (!this.hasFreeSlot()) return;
    const waiting = this.waiting.size;
    if (waiting < concurrency && lingerMs > 0) {
      this.armLinger();
      return;
    }
    if (!this.macroScheduled) {
      this.macroScheduled = true;
      macrotask(this.macroPump);
    }
    if (!this.microScheduled && waiting >= concurrency) {
      this.microScheduled = true;
      queueMicrotask(this.microPump);
    }
  }

  /**
   * A job finished and others wait. They start at once when a full batch waits (a backlog: every free
   * slot is filled as it frees) or a flush is under way; otherwise with the batch they belong to, when
   * the linger timer fires. Starting each as a slot frees would turn a steady flow of calls back into
   * one delivery's work after every call, the very thing batches are for.
   */
  private next(): void {
    const { concurrency, lingerMs } = this.settings;
    if (this.waiting.size >= concurrency || this.flushWaiters.length > 0 || lingerMs <= 0) this.pump();
    else this.armLinger();
  }

  private armLinger(): void {
    if (this.lingerTimer !== undefined) return;
    this.lingerTimer = unref(setTimeout(this.lingerPump, this.settings.lingerMs));
  }

  /** Whether a job may start: running jobs, less those held (their slots are free), are under `concurrency`. */
  private hasFreeSlot(): boolean {
    return this.running.size - this.holding < this.settings.concurrency;
  }

  /** Starts waiting jobs while slots are free. */
  private pump(): void {
    while (this.hasFreeSlot() && this.waiting.size > 0) {
      const item = this.waiting.take()!;
      this.running.add(item);
      void this.run(item);
    }
  }

  private readonly macroPump = (): void => {
    this.macroScheduled = false;
    this.pump();
  };

  private readonly microPump = (): void => {
    this.microScheduled = false;
    this.pump();
  };

  /** A held job left its slot: the waiting jobs may have it. */
  private readonly freed = (): void => {
    if (this.waiting.size > 0) this.next();
  };

  private readonly lingerPump = (): void => {
    this.lingerTimer = undefined;
    this.pump();
  };

  /** Starts waiting jobs now (a flush, shutdown or exit drain asked for them). */
  private startNow(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.pump();
  }

  // --- giving up ---

  /**
   * What a waitUntil is handed: the job, or its deadline (`waitUntilMs` after it was pushed) if that
   * comes first, when it is abandoned and reported while the invocation still runs.
   */
  private withinInvocation(item: Item, delivered: Promise<void>): Promise<void> {
    let timer: Timer | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = unref(
        setTimeout(() => {
          this.expire(item);
          resolve();
        }, this.settings.waitUntilMs),
      );
    });
    return Promise.race([delivered.finally(() => clearTimeout(timer)), deadline]);
  }

  /** A job carried by a waitUntil reached its deadline: abandon it and say so. */
  private expire(item: Item): void {
    if (item.abandoned) return;
    const cause = this.pendingCause();
    this.abandon(item);
    this.reports.counts.abandoned++;
    this.reports.report(
      new DeliveryError(
        this.scrub(
          `${this.name}: abandoned a delivery still pending ${seconds(this.settings.waitUntilMs)} after it was handed to waitUntil (the platform cancels what outlasts the invocation)${cause ? `: ${cause}` : ""}`,
        ),
        { destination: this.name, attempts: 0 },
      ),
    );
  }

  /**
   * Shutdown's or the exit drain's deadline: stop waiting jobs, wake sleeping retries and held ones,
   * abort requests; report once, with what the work was waiting on.
   */
  private abandonAll(why: string): void {
    const total = this.pending();
    if (total === 0) return;
    const cause = this.pendingCause();
    const notStarted: Item[] = [];
    for (let item = this.waiting.take(); item; item = this.waiting.take()) notStarted.push(item);
    this.releaseHeld();
    this.reports.counts.abandoned += total;
    for (const item of this.running) if (!item.abandoned) this.abandon(item);
    for (const item of notStarted) this.finished(item);
    this.reports.report(
      new DeliveryError(
        this.scrub(
          `${this.name}: abandoned ${total} deliveries still pending when ${why}${cause ? `: ${cause}` : ""}`,
        ),
        { destination: this.name, attempts: 0 },
      ),
    );
  }

  /**
   * Gives up on a started job: it is no longer pending, and done for the flushes that wait for it
   * (a flush begun later does not count it). What it waits on is cut, so it winds down at once,
   * without a request, a retry or a wait for the breaker outliving the report.
   */
  private abandon(item: Item): void {
    item.abandoned = true;
    // A job an invocation carries leaves the queue at once: on Workers its run never ends once that
    // invocation has (what its cut request would have run next never runs), and kept here it would
    // hold its recorded call for the isolate's life.
    if (item.keptAlive) this.running.delete(item);
    else this.abandonedRunning++;
    item.work?.cut();
    this.finished(item);
  }

  /** What the pending work is waiting on, for the report of abandoned work. */
  private pendingCause(): string {
    const circuit = this.breaker.state();
    if (circuit.open && circuit.since !== undefined) {
      return `${this.name} has been failing for ${seconds(Date.now() - circuit.since)}, last error: ${circuit.lastFailure}`;
    }
    const parts = this.poster.describe();
    if (this.waiting.size > 0) parts.push(`${this.waiting.size} not started`);
    if (this.poster.lastError !== undefined) parts.push(`last error: ${this.poster.lastError}`);
    return parts.join("; ");
  }

  // --- words ---

  private log(): Logger {
    return (this.logger ??= consoleLogger());
  }

  private scrub(text: string): string {
    return scrubSecrets(text, this.secrets);
  }

  /** One line per request, on topics `delivery` and the destination's name (DEBUG=tagalong:delivery); built only when someone listens. */
  private debug(message: () => string): void {
    const l = this.log();
    if (debugEnabled(l, "delivery") || debugEnabled(l, this.name)) l.debug(this.scrub(message()));
  }
}
