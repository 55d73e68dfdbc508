import { settleWithin, shutdownDeadline } from "./deadline";
import { withCallDebug } from "./debug";
import { mappingOf } from "./destinations/mapped";
import { InvalidMetadataError, TagalongError } from "./errors";
import { consoleLogger } from "./logger";
import { checkOptions, checkValues, throwsOnInvalid } from "./options";
import { type CallStats, createLedger, type Ledger, leaveOut } from "./policy";
import { createPreparer, type PreparedCall, type PrepareOptions, type Target } from "./prepare";
import { laterRecords } from "./record-later";
import { currentScope, freezeSnapshot } from "./scope";
import { findAsyncLocalStorage } from "./scope-store";
import type {
  CompletedCall,
  DeliveryStats,
  Destination,
  FlushOptions,
  Logger,
  Metadata,
  WaitUntil,
} from "./types";
import { readMetadata } from "./validate";

export type { PreparedCall, PrepareOptions } from "./prepare";

/** Options of `createTagalong()`. */
export interface TagalongOptions {
  /** Where the metadata goes: any of portkey(), requesty(), promptLayer({...}). */
  destinations: Destination[];
  /** Defaults for every call. */
  metadata?: Metadata;
  /**
   * What to do with a field a rule refuses. `"drop"` (default): leave it out of the form of each
   * destination that cannot carry it (every other destination still carries it; a field the model
   * refuses is left out of all), warn once per destination, field and rule through the logger, count
   * it in `stats()`, and let the call go out. `"throw"`: throw an InvalidMetadataError naming field,
   * rule and destination before anything is sent (for tests and CI).
   */
  onInvalid?: "throw" | "drop";
  /** Cap on the bytes of headers Tagalong adds to one request (default 8 KB; Node's own limit is 16 KB). */
  maxHeaderBytes?: number;
  /** Receives every failure that happens off the caller's path (delivery after the call). Never rethrown. */
  onError?: (error: unknown) => void;
  /**
   * Where Tagalong logs; defaults to the console at `TAGALONG_LOG_LEVEL` (warn), or at debug for the
   * topics `DEBUG=tagalong:<topic>` names.
   */
  logger?: Logger;
  /**
   * Keeps serverless invocations alive until background deliveries finish, e.g.
   * `import { waitUntil } from "cloudflare:workers"`. On Vercel it is found without this option.
   */
  waitUntil?: WaitUntil;
}

/**
 * Counts per destination: the calls it tagged, the fields it left out by rule, its deliveries, and the
 * calls it received but does not log (`skipped`: PromptLayer's embeddings calls).
 */
export type DestinationStats = CallStats & Partial<DeliveryStats> & { skipped?: number };

/** What `createTagalong()` returns: pass it to an adapter; `prepare()` a dry run, `flush()`, `shutdown()`, `stats()`. */
export interface Tagalong {
  /** Whether any destination wants completed calls (adapters skip capturing them otherwise). */
  readonly recordsCalls: boolean;
  readonly logger: Logger;
  /**
   * Resolves a call's metadata (defaults < scopes < implied < perCall), reads it once, checks it
   * against the model and every destination, and encodes the in-flight forms, each without what its
   * destination cannot carry. Throws InvalidMetadataError before anything is sent only when
   * `onInvalid` is "throw".
   */
  prepare(perCall?: Metadata, options?: PrepareOptions): PreparedCall;
  /** Hands a finished call to the after-the-call destinations. Never throws, never waits. */
  record(call: CompletedCall): void;
  /**
   * Hands a finished call over later: `build` runs in a later task, off the caller's path (or before
   * the next `flush()`, `shutdown()` or `stats()`, whichever comes first), and its result goes to
   * `record`. `build` must read only what cannot change by then (strings, its own copies), so the
   * record is what the call carried. It runs at once where a serverless `waitUntil` is in force, or
   * where a recorder reads the caller's context (`recordsInContext`: OpenTelemetry's spans).
   * Never throws, never waits.
   */
  recordLater(build: () => CompletedCall | undefined): void;
  /**
   * Resolves when everything recorded so far is delivered or has failed for good, or at
   * `timeoutMs` (default: no limit); what is still pending then keeps going in the background.
   * Never rejects.
   */
  flush(options?: FlushOptions): Promise<void>;
  /**
   * Stops every destination: flushes, and at `timeoutMs` (default 5000) abandons what is still
   * pending, counting it in `stats()` and reporting it to `onError` with its last error. Never rejects.
   */
  shutdown(options?: FlushOptions): Promise<void>;
  /**
   * Per destination: calls tagged, fields left out by rule, and for after-the-call destinations their
   * delivery counts (queued, sent, retried, failed, dropped).
   */
  stats(): Record<string, DestinationStats>;
  /** Reports a failure that happened off the caller's path to onError and the logger. Never throws. */
  reportError(error: unknown): void;
  /**
   * The trace a destination supplies here for a call that sets none (the active OpenTelemetry trace id,
   * with `openTelemetry({ propagateTraceId: true })`), or undefined. An adapter whose own trace is only
   * implied (LangChain's root run id) defers to it.
   */
  defaultTrace(): string | undefined;
}

const DEFAULT_MAX_HEADER_BYTES = 8 * 1024;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

/**
 * Resolves when every promise has settled or at `timeoutMs`, whichever comes first; never rejects.
 * The deadline holds even for a destination that ignores its own `timeoutMs`.
 */
const settleBy = (work: Array<Promise<unknown> | undefined>, timeoutMs: number | undefined): Promise<void> =>
  settleWithin(Promise.allSettled(work), timeoutMs);

// Vercel Functions expose the current request's context here (what @vercel/functions' waitUntil reads).
const VERCEL_REQUEST_CONTEXT = Symbol.for("@vercel/request-context");

/** The current Vercel request's waitUntil, found without depending on @vercel/functions. */
export function vercelWaitUntil(): WaitUntil | undefined {
  const context = (
    globalThis as unknown as Record<symbol, { get?: () => { waitUntil?: WaitUntil } | undefined }>
  )[VERCEL_REQUEST_CONTEXT];
  const hook = context?.get?.()?.waitUntil;
  return typeof hook === "function" ? hook : undefined;
}

/**
 * Warns of a misspelt flush or shutdown option (which would set no deadline) rather than throwing:
 * both promise never to reject.
 */
function warnOfOptions(where: string, options: unknown, logger: Logger): void {
  try {
    checkOptions(where, options, ["timeoutMs"]);
  } catch (error) {
    logger.warn((error as Error).message);
  }
}

/** A destination's flush or shutdown, with a throw or rejection reported instead of passed on. */
function safely(
  call: (d: Destination) => Promise<void> | undefined,
  reportError: (error: unknown) => void,
): (d: Destination) => Promise<void> | undefined {
  return (d) => {
    try {
      return call(d)?.catch(reportError);
    } catch (error) {
      reportError(error);
      return undefined;
    }
  };
}

const OPTION_KEYS = [
  "destinations",
  "metadata",
  "onInvalid",
  "maxHeaderBytes",
  "onError",
  "logger",
  "waitUntil",
] as const satisfies ReadonlyArray<keyof TagalongOptions>;

/** What a destination slot holds when it is not a destination, in words for the error. */
function notADestination(value: unknown): string | undefined {
  if (typeof value === "function") {
    const name = value.name || "a function";
    return `is the function ${name}, not a destination: call it (${name}(...))`;
  }
  if (typeof value !== "object" || value === null)
    return `is ${value === null ? "null" : typeof value}, not a destination`;
  const name = (value as { name?: unknown }).name;
  if (typeof name !== "string" || name === "") return "is an object without a name, not a destination";
  return undefined;
}

/** The options' destinations, refused with a TagalongError naming the mistake when they cannot work. */
function checkedDestinations(options: TagalongOptions): readonly Destination[] {
  if (typeof options !== "object" || options === null) {
    throw new TagalongError(
      "createTagalong: pass an options object, e.g. createTagalong({ destinations: [portkey()] })",
    );
  }
  checkOptions("createTagalong", options, OPTION_KEYS);
  if (!Array.isArray(options.destinations)) {
    throw new TagalongError("createTagalong: options.destinations must be an array of destinations");
  }
  const seen = new Set<string>();
  for (const [i, d] of options.destinations.entries()) {
    const mistake = notADestination(d);
    if (mistake) {
      throw new TagalongError(
        `createTagalong: destinations[${i}] ${mistake} (use portkey(), requesty(), ...)`,
      );
    }
    if (seen.has(d.name)) {
      throw new TagalongError(
        `createTagalong: destinations[${i}] repeats the destination "${d.name}"; list each once`,
      );
    }
    seen.add(d.name);
  }
  throwsOnInvalid("createTagalong", options.onInvalid);
  // A NaN cap would be no cap at all (a 431 from the server), a negative one a refused call under "drop".
  checkValues("createTagalong", options, { maxHeaderBytes: 0, onError: "function", waitUntil: "function" });
  // A logger without one of them threw from the user's call the first time it was used.
  const logger = options.logger as Record<string, unknown> | undefined;
  if (
    logger !== undefined &&
    !["debug", "info", "warn", "error"].every((m) => typeof logger?.[m] === "function")
  ) {
    throw new TagalongError("createTagalong: logger must have debug, info, warn and error methods");
  }
  return Object.freeze([...options.destinations]);
}

/** Every destination as the preparer sees it, with its declaration when it was declared as data. */
function targetsOf(destinations: readonly Destination[]): Target[] {
  return destinations.map((destination) => {
    const mapping = mappingOf(destination);
    return mapping ? { destination, mapping } : { destination };
  });
}

/** onError if given, else the logger; never throws. */
function errorReporter(options: TagalongOptions, logger: Logger): (error: unknown) => void {
  return (error) => {
    try {
      if (options.onError) options.onError(error);
      else logger.warn(error instanceof Error ? error.message : String(error));
    } catch {
      // A throwing onError must not reach the caller's code either.
    }
  };
}

/** Calls every start hook with the call's metadata, keeping their failures off the caller's path. */
function withStartHooks(
  prepare: Tagalong["prepare"],
  starters: readonly Destination[],
  reportError: (error: unknown) => void,
): Tagalong["prepare"] {
  if (starters.length === 0) return prepare;
  return (perCall, options) => {
    const prepared = prepare(perCall, options);
    for (const d of starters) {
      try {
        d.start!(prepared.metadata);
      } catch (error) {
        reportError(error);
      }
    }
    return prepared;
  };
}

/** The first default trace a destination offers for a call that sets none; failures are reported. */
function defaultTraceOf(
  destinations: readonly Destination[],
  reportError: (error: unknown) => void,
): (() => string | undefined) | undefined {
  const sources = destinations.filter((d) => d.defaultTrace);
  if (sources.length === 0) return undefined;
  return () => {
    for (const d of sources) {
      try {
        const trace = d.defaultTrace!();
        if (trace !== undefined) return trace;
      } catch (error) {
        reportError(error);
      }
    }
    return undefined;
  };
}

/** Hands a finished call to each recorder, without the fields that recorder cannot carry. */
function recorderOf(
  recorders: readonly Destination[],
  ledger: Ledger,
  reportError: (error: unknown) => void,
): Tagalong["record"] {
  return (call) => {
    for (const d of recorders) {
      try {
        const issues = d.check?.(call.metadata) ?? [];
        ledger.tagged(d.name);
        d.record!(issues.length === 0 ? call : { ...call, metadata: leaveOut(call.metadata, issues) });
      } catch (error) {
        reportError(error);
      }
    }
  };
}

// What adapters may know of a Tagalong beyond its face, found across duplicate installs of core.
const INTERNALS = Symbol.for("tagalong.internals");

interface Internals {
  /** Names of the destinations that add to a request in flight. */
  inFlight: readonly string[];
  /** Captures the caller's async context, where a recorder reads it and the runtime can (`callerContext`). */
  snapshot?: () => (record: () => void) => void;
}

/**
 * The names of the destinations that add headers or body fields to a request in flight, for an adapter
 * that must say which of them a call on some path could not reach.
 */
export function inFlightDestinations(tagalong: Tagalong): readonly string[] {
  return (tagalong as unknown as { [INTERNALS]?: Internals })[INTERNALS]?.inFlight ?? [];
}

/**
 * The caller's async context, captured on the caller's path for a call that an adapter records later,
 * out of it (LangChain's background queue): runs the record back in it. Only where a recorder reads
 * the caller's context (`recordsInContext`: OpenTelemetry's span parent) and the runtime can capture
 * one (`AsyncLocalStorage.snapshot`); otherwise undefined, and the call is recorded where it ends.
 */
export function callerContext(tagalong: Tagalong): ((record: () => void) => void) | undefined {
  return (tagalong as unknown as { [INTERNALS]?: Internals })[INTERNALS]?.snapshot?.();
}

/**
 * Creates the object every adapter takes: where the metadata goes (`destinations`), the defaults for
 * every call, and what to do with metadata a destination refuses. Misconfiguration (an uncalled
 * factory, a duplicate destination, an unknown option) throws a TagalongError here, not at the first call.
 * @example
 * import { createTagalong, portkey, promptLayer, requesty } from "@tagalong/core";
 *
 * const tagalong = createTagalong({
 *   destinations: [portkey(), requesty(), promptLayer({ apiKey: process.env.PROMPTLAYER_API_KEY! })],
 *   metadata: { environment: "production" }, // defaults for every call
 * });
 * // wrapOpenAI(client, tagalong), tagalongMiddleware(tagalong), new TagalongCallbackHandler(tagalong)
 * await tagalong.shutdown(); // before the process exits: delivers what is queued
 */
export function createTagalong(options: TagalongOptions): Tagalong {
  const destinations = checkedDestinations(options);
  const logger = options.logger ?? consoleLogger();
  const reportError = errorReporter(options, logger);
  const waitUntil = options.waitUntil ? () => options.waitUntil : vercelWaitUntil;
  for (const d of destinations) d.attach?.({ logger, reportError, waitUntil });

  const defaultTrace = defaultTraceOf(destinations, reportError);
  const ledger = createLedger(
    logger,
    destinations.map((d) => d.name),
    destinations.filter((d) => !d.record).map((d) => d.name),
  );
  const defaults = readMetadata(options.metadata === undefined ? {} : options.metadata);
  const strict = options.onInvalid === "throw";
  if (strict && defaults.issues.length > 0) throw new InvalidMetadataError(defaults.issues);
  const preparer = createPreparer({
    targets: targetsOf(destinations),
    defaults: freezeSnapshot(defaults.metadata),
    defaultIssues: defaults.issues,
    strict,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    ledger,
    defaultTrace,
  });
  const recorders = destinations.filter((d) => d.record);
  const prepare = withStartHooks(
    (perCall, prepareOptions) => preparer(currentScope(), perCall, prepareOptions),
    destinations.filter((d) => d.start),
    reportError,
  );

  const record = recorderOf(recorders, ledger, reportError);
  const inContext = recorders.some((d) => d.recordsInContext === true);
  const later = laterRecords(record, reportError, waitUntil, inContext);

  const tagalong: Tagalong = {
    recordsCalls: recorders.length > 0,
    logger,
    prepare: withCallDebug(prepare, logger, destinations),
    record,
    recordLater: later.hold,
    flush(flushOptions) {
      warnOfOptions("flush", flushOptions, logger);
      later.runHeld();
      const timeoutMs = flushOptions?.timeoutMs;
      const call = (d: Destination) => (d.flush ? d.flush({ timeoutMs }) : undefined);
      return settleBy(destinations.map(safely(call, reportError)), timeoutMs);
    },
    shutdown(shutdownOptions) {
      warnOfOptions("shutdown", shutdownOptions, logger);
      later.runHeld();
      const timeoutMs = shutdownDeadline(shutdownOptions?.timeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS);
      const call = (d: Destination) =>
        d.shutdown ? d.shutdown({ timeoutMs }) : d.flush ? d.flush({ timeoutMs }) : undefined;
      return settleBy(destinations.map(safely(call, reportError)), timeoutMs);
    },
    stats() {
      later.runHeld();
      const out: Record<string, DestinationStats> = {};
      for (const d of destinations) {
        const calls = ledger.stats.get(d.name)!;
        out[d.name] = { tagged: calls.tagged, leftOut: { ...calls.leftOut }, ...d.stats?.() };
      }
      return out;
    },
    reportError,
    defaultTrace: defaultTrace ?? (() => undefined),
  };
  const internals: Internals = { inFlight: destinations.filter((d) => d.encode).map((d) => d.name) };
  const Als = inContext ? findAsyncLocalStorage() : undefined;
  if (typeof Als?.snapshot === "function") internals.snapshot = () => Als.snapshot!();
  Object.defineProperty(tagalong, INTERNALS, { value: internals });
  return tagalong;
}
