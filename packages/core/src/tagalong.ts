import { withCallDebug } from "./debug";
import { InvalidMetadataError, TagalongError } from "./errors";
import { headerBytes } from "./header";
import { consoleLogger } from "./logger";
import { freezeMetadata, mergeMetadata } from "./merge";
import { checkOptions } from "./options";
import { currentScope, type ScopeFrame } from "./scope";
import type {
  CompletedCall,
  DeliveryStats,
  Destination,
  FlushOptions,
  Logger,
  Metadata,
  MetadataIssue,
  WaitUntil,
} from "./types";
import { checkMetadata, withoutIssues } from "./validate";

/** Options of `createTagalong()`. */
export interface TagalongOptions {
  /** Where the metadata goes: any of portkey(), requesty(), promptLayer({...}). */
  destinations: Destination[];
  /** Defaults for every call. */
  metadata?: Metadata;
  /** What to do with a field that breaks a rule: throw a TagalongError (default), or drop it and warn. */
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

/** What one call carries: its resolved metadata and every in-flight destination's additions. Frozen. */
export interface PreparedCall {
  readonly metadata: Readonly<Metadata>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

/** What `createTagalong()` returns: pass it to an adapter; `prepare()` a dry run, `flush()`, `shutdown()`, `stats()`. */
export interface Tagalong {
  readonly destinations: readonly Destination[];
  /** Whether any destination wants completed calls (adapters skip capturing them otherwise). */
  readonly recordsCalls: boolean;
  readonly logger: Logger;
  /**
   * Resolves a call's metadata (defaults < scopes < perCall), checks it against the model and every
   * destination, and encodes the in-flight forms. Throws InvalidMetadataError before anything is sent.
   */
  prepare(perCall?: Metadata): PreparedCall;
  /** Hands a finished call to the after-the-call destinations. Never throws, never waits. */
  record(call: CompletedCall): void;
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
  /** Delivery counts per after-the-call destination. */
  stats(): Record<string, DeliveryStats>;
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
function settleBy(work: Array<Promise<unknown> | undefined>, timeoutMs: number | undefined): Promise<void> {
  const all = Promise.allSettled(work).then(() => undefined);
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return all;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, timeoutMs));
  });
  return Promise.race([all, deadline]).finally(() => clearTimeout(timer));
}

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

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
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
  if (options.onInvalid !== undefined && options.onInvalid !== "throw" && options.onInvalid !== "drop") {
    throw new TagalongError(
      `createTagalong: onInvalid must be "throw" or "drop", got ${JSON.stringify(options.onInvalid)}`,
    );
  }
  return Object.freeze([...options.destinations]);
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
  const drop = options.onInvalid === "drop";
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const logger = options.logger ?? consoleLogger();
  const checkers = destinations.filter((d) => d.check);
  const encoders = destinations.filter((d) => d.encode);
  const recorders = destinations.filter((d) => d.record);
  const starters = destinations.filter((d) => d.start);
  const traceSources = destinations.filter((d) => d.defaultTrace);

  const reportError = (error: unknown): void => {
    try {
      if (options.onError) options.onError(error);
      else logger.warn(error instanceof Error ? error.message : String(error));
    } catch {
      // A throwing onError must not reach the caller's code either.
    }
  };
  const waitUntil = options.waitUntil ? () => options.waitUntil : vercelWaitUntil;
  for (const d of destinations) d.attach?.({ logger, reportError, waitUntil });

  const repair = (metadata: Metadata, issues: MetadataIssue[], where: string): Metadata => {
    if (!drop) throw new InvalidMetadataError(issues);
    logger.warn(`dropped invalid metadata ${where}: ${new InvalidMetadataError(issues).message}`);
    return withoutIssues(metadata, issues);
  };

  const modelChecked = (metadata: Metadata | undefined, where: string): Metadata | undefined => {
    if (metadata === undefined) return undefined;
    const issues = checkMetadata(metadata);
    return issues.length ? repair(metadata, issues, where) : metadata;
  };

  const destinationIssues = (metadata: Metadata): MetadataIssue[] => {
    const issues: MetadataIssue[] = [];
    for (const d of checkers) issues.push(...d.check!(metadata));
    return issues;
  };

  const encode = (metadata: Metadata): PreparedCall => {
    const headers: Record<string, string> = {};
    const body: Record<string, unknown> = {};
    for (const d of encoders) {
      const out = d.encode!(metadata);
      if (out.headers) Object.assign(headers, out.headers);
      if (out.body) Object.assign(body, out.body);
    }
    return { metadata, headers, body };
  };

  const sizeIssue = (prepared: PreparedCall): MetadataIssue | undefined => {
    const bytes = headerBytes(prepared.headers);
    if (bytes <= maxHeaderBytes) return undefined;
    return {
      path: "(headers)",
      rule: `${bytes} bytes of headers, the cap is ${maxHeaderBytes} (maxHeaderBytes)`,
    };
  };

  // Defaults are checked against the model and every destination once, here, where the user gives them.
  let defaults = modelChecked(options.metadata, "in createTagalong") ?? {};
  {
    const issues = destinationIssues(defaults);
    if (issues.length) defaults = repair(defaults, issues, "in createTagalong");
  }
  const frozenDefaults = freezeMetadata(mergeMetadata(defaults));

  const resolveAndEncode = (scope: ScopeFrame | undefined, perCall: Metadata | undefined): PreparedCall => {
    let metadata = mergeMetadata(frozenDefaults, scope?.metadata, modelChecked(perCall, "of this call"));
    const issues = destinationIssues(metadata);
    if (issues.length) metadata = repair(metadata, issues, "of this call");
    let prepared = encode(metadata);
    const tooBig = sizeIssue(prepared);
    if (tooBig) {
      if (!drop || metadata.extra === undefined) throw new InvalidMetadataError([tooBig]);
      logger.warn(`dropped metadata.extra: ${tooBig.rule}`);
      const { extra: _, ...rest } = metadata;
      prepared = encode(rest);
      const stillTooBig = sizeIssue(prepared);
      if (stillTooBig) throw new InvalidMetadataError([stillTooBig]);
    }
    freezeMetadata(prepared.metadata);
    return deepFreeze(prepared);
  };

  // Calls in the same scope without per-call metadata share one prepared form: the hot path is a lookup.
  const byScope = new WeakMap<ScopeFrame, PreparedCall>();
  let unscoped: PreparedCall | undefined;

  const resolve = (perCall?: Metadata): PreparedCall => {
    const scope = currentScope();
    if (perCall !== undefined) return resolveAndEncode(scope, perCall);
    if (scope === undefined) return (unscoped ??= resolveAndEncode(undefined, undefined));
    let prepared = byScope.get(scope);
    if (prepared === undefined) {
      prepared = resolveAndEncode(scope, undefined);
      byScope.set(scope, prepared);
    }
    return prepared;
  };

  const defaultTrace = (): string | undefined => {
    for (const d of traceSources) {
      try {
        const trace = d.defaultTrace!();
        if (trace !== undefined) return trace;
      } catch (error) {
        reportError(error);
      }
    }
    return undefined;
  };
  // A call that sets no trace, in no scope or defaults that set one, takes a destination's default trace.
  const withDefaultTrace = (perCall: Metadata | undefined): Metadata | undefined => {
    if ((perCall?.trace ?? currentScope()?.metadata.trace ?? frozenDefaults.trace) !== undefined)
      return perCall;
    const trace = defaultTrace();
    return trace === undefined ? perCall : { ...perCall, trace };
  };
  const resolveCall =
    traceSources.length === 0 ? resolve : (perCall?: Metadata) => resolve(withDefaultTrace(perCall));

  const prepare =
    starters.length === 0
      ? resolveCall
      : (perCall?: Metadata): PreparedCall => {
          const prepared = resolveCall(perCall);
          for (const d of starters) {
            try {
              d.start!(prepared.metadata);
            } catch (error) {
              reportError(error);
            }
          }
          return prepared;
        };

  return {
    destinations,
    recordsCalls: recorders.length > 0,
    logger,
    prepare: withCallDebug(prepare, logger, destinations),
    defaultTrace: traceSources.length === 0 ? () => undefined : defaultTrace,
    record(call) {
      for (const d of recorders) {
        try {
          d.record!(call);
        } catch (error) {
          reportError(error);
        }
      }
    },
    flush(flushOptions) {
      const timeoutMs = flushOptions?.timeoutMs;
      const call = (d: Destination) => (d.flush ? d.flush({ timeoutMs }) : undefined);
      return settleBy(destinations.map(safely(call, reportError)), timeoutMs);
    },
    shutdown(shutdownOptions) {
      const timeoutMs = shutdownOptions?.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
      const call = (d: Destination) =>
        d.shutdown ? d.shutdown({ timeoutMs }) : d.flush ? d.flush({ timeoutMs }) : undefined;
      return settleBy(destinations.map(safely(call, reportError)), timeoutMs);
    },
    stats() {
      const out: Record<string, DeliveryStats> = {};
      for (const d of destinations) if (d.stats) out[d.name] = d.stats();
      return out;
    },
    reportError,
  };
}
