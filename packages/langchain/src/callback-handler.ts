import {
  type CompletedCall,
  callCredentials,
  callerContext,
  errorInfo,
  failedStatus,
  inFlightDestinations,
  isAbortError,
  openAIParameters,
  type PreparedCall,
  realmSingleton,
  type Tagalong,
  timeoutOf,
  unref,
  type WarnOnce,
  warnOnce,
} from "@tagalong/core/adapter";
import { type CallScope, RUN_CONFIG, runConfigurable } from "./call-scope";
import { type LLMResultLike, type MessageLike, readResult, toChatMessages } from "./messages";
import { prepareRun } from "./run-prepare";

/**
 * Marks a TagalongCallbackHandler across duplicate installs of this package. Its value is the version
 * of the protocol below between withTagalong and a handler: copies that speak another one do not
 * take each other's handlers for theirs.
 */
export const HANDLER = Symbol.for("tagalong.langchain.handler");
const PROTOCOL = 2;
/** withTagalong's entry into a handler: a model run begins on the caller's path. */
export const ENTER_RUN = Symbol.for("tagalong.langchain.enter-run");
/** withTagalong's word to a second TagalongCallbackHandler on a run: another one has it. */
export const LEAVE_RUN = Symbol.for("tagalong.langchain.leave-run");
/** withTagalong's word to a TagalongCallbackHandler of another Tagalong: the request carries that one's metadata. */
export const PASS_RUN = Symbol.for("tagalong.langchain.pass-run");
/** withTagalong's question to a background TagalongCallbackHandler: which model run began with this run config? */
export const FIND_RUN = Symbol.for("tagalong.langchain.find-run");
/** withTagalong's word that a run's stream was left early (a `break`, an abort): LangChain ends no such run. */
export const CANCEL_RUN = Symbol.for("tagalong.langchain.cancel-run");

// Runs whose end never came (an abandoned stream) must not pile up.
const MAX_RUNS = 10_000;
/** How long a background handler waits for the end of a run whose signal aborted (see `aborted`). */
const CANCEL_GRACE_MS = 2_000;

/**
 * Sets a run's entry in a map of runs, the oldest going first once MAX_RUNS are held (handed to
 * `evicted`, to release what it holds).
 */
function setCapped<V>(runs: Map<string, V>, runId: string, value: V, evicted?: (value: V) => void): void {
  if (runs.size >= MAX_RUNS) {
    const oldest = runs.entries().next().value;
    if (oldest !== undefined) {
      runs.delete(oldest[0]);
      evicted?.(oldest[1]);
    }
  }
  runs.set(runId, value);
}

const noop = (): void => {};

/** A run's entry evicted unended: it stops listening to its signal. */
const releaseRun = (run: RunState): void => run.model?.unlisten?.();

/** Who records one model run for a Tagalong, and whether another of its handlers saw the run too. */
interface RunRecorder {
  owner: object;
  shared: boolean;
}

/** One Tagalong's model runs, each by the handler that records it. */
interface TagalongRuns {
  readonly runs: Map<string, RunRecorder>;
  /**
   * The Tagalong has a background handler: LangChain may hand it a run's start after another handler
   * ended the run, so ended runs are kept (until MAX_RUNS newer) for it to find.
   */
  background: boolean;
  /**
   * The run withTagalong entered for a request of several runs (the legacy LLM's `generate` of several
   * prompts: one request, one run manager), by the call options LangChain handed all of them: another
   * handler of the Tagalong may record the other runs.
   */
  batches?: WeakMap<object, ModelRun>;
}

/**
 * Each Tagalong's model runs by the handler that records them: the first of its handlers to see the
 * run begin, or the one withTagalong enters the run through. Shared by every handler and every install
 * of this package in the realm, so two handlers of one Tagalong on one run record it once (handlers of
 * two Tagalongs are two sets of destinations: each records it). A run only one handler saw is removed
 * at its end, unless the Tagalong has a background handler; one several saw stays (a handler's end may
 * come after another's) until MAX_RUNS newer. Versioned: the shape is shared.
 */
const recorders = realmSingleton(
  "tagalong.langchain.run-recorders.v2",
  () => new WeakMap<Tagalong, TagalongRuns>(),
);

function recordersOf(tagalong: Tagalong): TagalongRuns {
  let runs = recorders.get(tagalong);
  if (runs === undefined) {
    runs = { runs: new Map(), background: false };
    recorders.set(tagalong, runs);
  }
  return runs;
}

/**
 * The run a handler saw begin with these call options, as a run manager, if any: @langchain/core 1.4
 * streams a run's chat-model events without handing the model its run manager. The handlers of the
 * run's config and of the `model` are asked, on this path only, so that no other call pays to index
 * its run (a background handler's start ran before the model's request unless LangChain's queue is
 * behind).
 */
export function startedRun(options: unknown, model: { callbacks?: unknown }): RunManagerLike | undefined {
  const config = (options as Record<symbol, { callbacks?: unknown } | undefined> | null | undefined)?.[
    RUN_CONFIG
  ];
  if (config === undefined) return undefined;
  let found: (RunManagerLike & { handlers: unknown[] }) | undefined;
  for (const handler of [...handlersOf(config.callbacks), ...handlersOf(model.callbacks)]) {
    if (!isHandler(handler) || found?.handlers.includes(handler)) continue;
    const run = handler[FIND_RUN]?.(config);
    if (run === undefined) continue;
    if (found === undefined) found = { ...run, handlers: [handler] };
    else found.handlers.push(handler);
  }
  return found;
}

/** The handlers of a config's or a model's `callbacks`: a list of them, or LangChain's callback manager. */
function handlersOf(callbacks: unknown): readonly unknown[] {
  if (Array.isArray(callbacks)) return callbacks;
  const handlers = (callbacks as { handlers?: unknown } | null | undefined)?.handlers;
  return Array.isArray(handlers) ? handlers : [];
}

/** The keys this adapter records in `CompletedCall.context`; an `extra` key of the same name is shadowed. */
const CONTEXT_KEYS = ["langchain_run_id", "langchain_parent_run_id"] as const;

/** Options of `new TagalongCallbackHandler(tagalong, options)`. */
export interface TagalongCallbackHandlerOptions {
  /**
   * Let LangChain await this handler's callbacks (default true). They are synchronous bookkeeping,
   * so awaiting them costs a tick; in exchange each model run's trace id and timing are exact and
   * metadata errors are found on the caller's path, inside its `withMetadata` scopes. With false,
   * LangChain runs them in its background queue like other handlers.
   */
  awaitHandlers?: boolean;
  /** Use the LangChain trace (the root run's id) as `metadata.trace` when none is set (default true). */
  traceFromRuns?: boolean;
}

/** The part of a LangChain run manager that withTagalong reads. */
export interface RunManagerLike {
  runId: string;
  handlers?: readonly unknown[];
  metadata?: Record<string, unknown>;
  tags?: string[];
  parentRunId?: string;
  _parentRunId?: string;
}

interface ModelRun {
  startTime: number;
  metadata?: Record<string, unknown>;
  tags?: string[];
  /** The run config's `configurable`, where the call options keep it (a model from withTagalong). */
  configurable?: Record<string, unknown>;
  prepared?: PreparedCall;
  /** Why the metadata could not be prepared (an InvalidMetadataError, as a rule). */
  error?: unknown;
  /** withTagalong threw `error` into the chain itself. */
  errorRaised?: boolean;
  /**
   * The scope withTagalong ran the model's request in: the run's metadata went onto the wire, and
   * its fetch noted there the API the request addressed and the headers it sent (credentials to
   * keep out of an error).
   */
  scope?: CallScope;
  // What a CompletedCall needs; kept only when the Tagalong records calls.
  kind?: "chat" | "llm";
  /** The model's LangChain integration (its `_llmType()`, the third part of its serialized id): `openai`. */
  integration?: string;
  input?: readonly MessageLike[] | readonly string[];
  invocationParams?: Record<string, unknown>;
  /** The model's response came in parts (LangChain reported one to the run's handlers). */
  streamed?: boolean;
  /** LangChain handed this handler the run's start (awaited: before the model began its request). */
  started?: boolean;
  /** The call options LangChain handed the run's handlers (`extra.options`, the same object for all). */
  handedOptions?: unknown;
  /** The model's stream was left early (`CANCEL_RUN`): the run ends as aborted, with the abort's reason. */
  cancelled?: { reason: unknown };
  /** Stops listening to the abort of the run's signal (when the Tagalong records calls). */
  unlisten?: () => void;
  /** withTagalong made the run's request with another Tagalong's metadata (`PASS_RUN`). */
  passed?: boolean;
  /**
   * The caller's async context, captured on the caller's path where a recorder reads it
   * (`callerContext`: OpenTelemetry's span parent): the run's end, out of LangChain's queue (a
   * background handler) or out of the abort of its signal (whoever called `abort()`), is recorded back in it.
   */
  inCaller?: (record: () => void) => void;
}

interface RunState {
  parentRunId?: string;
  rootRunId: string;
  model?: ModelRun;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * withTagalong prepared a run, and the run got its answer, but no request reached withTagalong's
 * fetch carrying the run: the model's client fetches another way, or this version of the model class
 * hands the OpenAI SDK other request options. Its metadata did not reach the wire: said once.
 */
export function warnNotCarried(warn: WarnOnce, destinations: readonly string[]): void {
  if (destinations.length === 0) return;
  warn(
    "(not carried)",
    () =>
      `withTagalong: a model run got its answer but its request did not reach withTagalong's fetch carrying the run, so its metadata did not reach ${destinations.join(
        ", ",
      )}. The model's OpenAI client fetches another way (its fetch replaced after construction?), or this version of the model class passes the SDK other request options; please report the model class and its version.`,
  );
}

/** Whether `handler` is a TagalongCallbackHandler (of any copy of this package). */
export function isHandler(handler: unknown): handler is TagalongCallbackHandler {
  return (
    typeof handler === "object" &&
    handler !== null &&
    (handler as Record<symbol, unknown>)[HANDLER] === PROTOCOL
  );
}

/**
 * The first TagalongCallbackHandler among a run's handlers, if any; given a Tagalong, the first of
 * that Tagalong's.
 */
export function findHandler(
  handlers: readonly unknown[] | undefined,
  tagalong?: Tagalong,
): TagalongCallbackHandler | undefined {
  if (!handlers) return undefined;
  for (const handler of handlers) {
    if (isHandler(handler) && (tagalong === undefined || handler.tagalong === tagalong)) return handler;
  }
  return undefined;
}

/**
 * A LangChain callback handler that labels every LLM and chat-model run with Tagalong metadata:
 * the `tagalong` key of `RunnableConfig.metadata` (a Metadata), the other user keys as `extra`,
 * `RunnableConfig.tags` as tags and the LangChain trace as `trace`. It records each finished run
 * for after-the-call destinations (PromptLayer). A handler only observes, so in-flight destinations
 * (Portkey's header, Requesty's body field) also need the model class from `withTagalong`.
 *
 * It is structurally a LangChain `BaseCallbackHandler` and imports nothing from `@langchain/core`,
 * so one handler works with every installed copy and major of it. It never throws into the chain.
 * @example
 * import { ChatOpenAI } from "@langchain/openai";
 * import { createTagalong, portkey } from "@tagalong/core";
 * import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
 *
 * const tagalong = createTagalong({ destinations: [portkey()] });
 * const ChatModel = withTagalong(ChatOpenAI);
 * const model = new ChatModel({ model: "gpt-4o-mini" });
 * await model.invoke("Hi", {
 *   callbacks: [new TagalongCallbackHandler(tagalong)],
 *   metadata: { tagalong: { user: "u_42" } },
 * });
 */
export class TagalongCallbackHandler {
  readonly name = "TagalongCallbackHandler";
  readonly tagalong: Tagalong;
  awaitHandlers: boolean;
  raiseError = false;
  ignoreLLM = false;
  ignoreChain: boolean;
  ignoreAgent: boolean;
  ignoreRetriever: boolean;
  ignoreCustomEvent = true;
  lc_serializable = false;
  readonly [HANDLER] = PROTOCOL;

  private readonly traceFromRuns: boolean;
  private readonly runs = new Map<string, RunState>();
  private readonly warnOnce: WarnOnce;
  private readonly inFlightDestinations: string[];
  private readonly recorders: TagalongRuns;
  /**
   * Runs whose signal aborted while this background handler could not tell if they had ended
   * (`aborted`), each with the timer of its own wait for its end.
   */
  private readonly abortedRuns = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(tagalong: Tagalong, options: TagalongCallbackHandlerOptions = {}) {
    this.tagalong = tagalong;
    this.awaitHandlers = options.awaitHandlers ?? true;
    this.traceFromRuns = options.traceFromRuns ?? true;
    // Only a trace needs the runs around the model's; without one, skip their callbacks entirely.
    this.ignoreChain = this.ignoreAgent = this.ignoreRetriever = !this.traceFromRuns;
    this.inFlightDestinations = [...inFlightDestinations(tagalong)];
    this.warnOnce = warnOnce(tagalong.logger);
    this.recorders = recordersOf(tagalong);
    if (!this.awaitHandlers) {
      this.recorders.background = true;
      // LangChain runs a background handler's callbacks in its queue, which a batch or nested runs
      // leave behind the caller: a model run could begin before the handler saw its ancestors, and
      // take an inner run for its root; and the queue runs a callback in the async context its
      // previous one left (another caller's withMetadata scope). LangChain hands a tracer (a handler
      // with `_addRunToRunMap`) each run's start on the caller's path, before it queues the
      // callbacks (every @langchain/core release from 0.3.0 on calls these five hooks): the run's
      // place in the trace is noted there, and a model run is prepared there (`startModelRun`).
      // LangChain calls these outside its error handling: they never throw. With traceFromRuns
      // false, LangChain skips the chain, tool and retriever ones (ignoreChain...).
      Object.assign(this, {
        _addRunToRunMap: noop,
        _createRunForChainStart: this.startRun,
        _createRunForToolStart: this.startRun,
        _createRunForRetrieverStart: this.startRun,
        _createRunForLLMStart: this.startModelRun,
        _createRunForChatModelStart: this.startModelRun,
      });
    }
  }

  /** LangChain copies handlers in places; every copy must share the runs. */
  copy(): this {
    return this;
  }

  // --- runs around the model's (chains, graph nodes, tools, retrievers): only their place in the trace ---

  private readonly startRun = (_run: unknown, _input: unknown, runId: string, parentRunId?: string): void => {
    this.safely(() => this.track(runId, parentRunId));
  };
  /**
   * A background handler's model run, handed on the caller's path (see the constructor): noted with
   * its metadata, tags and call options, and, if the Tagalong records calls and no other of its
   * handlers has the run, prepared here, inside the caller's withMetadata scopes and tracing context.
   * Its start, and its end, may come much later, out of LangChain's queue.
   */
  private readonly startModelRun = (
    _llm: unknown,
    _input: unknown,
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    tags: string[] | undefined,
    metadata: Record<string, unknown> | undefined,
  ): void => {
    this.safely(() => {
      // Noted with what withTagalong's FIND_RUN looks for, already now.
      const [run, model] = this.noteModel(runId, parentRunId, extraParams, tags, metadata);
      if (!this.tagalong.recordsCalls) return;
      const owner = this.recorders.runs.get(runId)?.owner;
      if (owner !== undefined && owner !== this) return;
      model.inCaller ??= callerContext(this.tagalong);
      this.prepareKept(run, model);
    });
  };
  private readonly endRun = (_outputOrError: unknown, runId: string): void => {
    this.runs.delete(runId);
  };
  handleChainStart = this.startRun;
  handleChainEnd = this.endRun;
  handleChainError = this.endRun;
  handleToolStart = this.startRun;
  handleToolEnd = this.endRun;
  handleToolError = this.endRun;
  handleRetrieverStart = this.startRun;
  handleRetrieverEnd = this.endRun;
  handleRetrieverError = this.endRun;

  // --- model runs ---

  handleChatModelStart(
    llm: unknown,
    messages: unknown[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.safely(() =>
      this.beginModel(
        "chat",
        llm,
        messages[0] as MessageLike[],
        runId,
        parentRunId,
        extraParams,
        tags,
        metadata,
      ),
    );
  }

  handleLLMStart(
    llm: unknown,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.safely(() => this.beginModel("llm", llm, prompts, runId, parentRunId, extraParams, tags, metadata));
  }

  /**
   * A part of a streamed response. Without withTagalong this is the only sign that the run streamed:
   * `invocation_params.stream` is set only for a model built with `streaming: true`, not for `.stream()`.
   * (LangChain calls every handler's here whether it has one or not; this adds one lookup.)
   */
  handleLLMNewToken(_token: unknown, _index: unknown, runId: string): void {
    this.noteStreamed(runId);
  }

  /** The same for LangChain's chat-model stream events (the path a handler preferring them selects). */
  handleChatModelStreamEvent(_event: unknown, runId: string): void {
    this.noteStreamed(runId);
  }

  handleLLMEnd(
    output: LLMResultLike,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    extra?: { cached?: boolean },
  ): void {
    this.safely(() => this.endModel(runId, output, undefined, extra?.cached === true));
  }

  handleLLMError(
    error: unknown,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    extra?: { cached?: boolean },
  ): void {
    this.safely(() => this.endModel(runId, undefined, error, extra?.cached === true));
  }

  // --- withTagalong's side ---

  /**
   * @internal The model begins its request with call `options`: the scope to run it in (the run's
   * prepared call), or its metadata error thrown. The run's end reads what the request's fetch noted
   * in the scope. The options may be carried in place when this handler saw the run's start and they
   * are not the object the run's handlers were handed (LangChain copies them for the chat model's
   * `_generate`): then nothing else sees them.
   */
  [ENTER_RUN](runManager: RunManagerLike, options?: unknown, batched = false): CallScope {
    const runId = runManager.runId;
    this.claim(runId, true);
    const [run, model] = this.modelRun(runManager, options, batched);
    try {
      // Each entry its own scope (a request not yet sent); the run's end reads the last one.
      model.scope = {
        runId,
        prepared: this.prepare(run, model),
        timed: !this.awaitHandlers,
        inPlace: model.started === true && options !== undefined && options !== model.handedOptions,
      };
      return model.scope;
    } catch (error) {
      model.errorRaised = true;
      throw error;
    }
  }

  /**
   * @internal The run's stream was left early, by its reader (a `break`) or by the call's signal
   * (`reason`): LangChain ends no such run, so it ends here, as aborted; for a background handler not
   * yet handed its start, once it is.
   */
  [CANCEL_RUN](runId: string, reason?: unknown): void {
    this.safely(() => {
      const model = this.runs.get(runId)?.model;
      if (model === undefined) return;
      // The run's request (or stream) had already ended: LangChain's end of it is on its way.
      if (model.scope?.endTime !== undefined) return;
      model.cancelled = { reason };
      if (model.started === true) this.endModel(runId, undefined, reason, false);
    });
  }

  /**
   * @internal withTagalong makes the run's request with the metadata of another Tagalong's handler;
   * this one records the run, but its in-flight destinations do not get it.
   */
  [PASS_RUN](runManager: RunManagerLike, options: unknown, batched: boolean): void {
    this.safely(() => {
      this.modelRun(runManager, options, batched)[1].passed = true;
    });
  }

  /** @internal The model run this handler saw begin with call options keeping `config`. */
  [FIND_RUN](config: object): RunManagerLike | undefined {
    for (const [runId, run] of this.runs) {
      const model = run.model;
      if ((model?.handedOptions as Record<symbol, unknown> | undefined)?.[RUN_CONFIG] === config) {
        return { runId, parentRunId: run.parentRunId, metadata: model!.metadata, tags: model!.tags };
      }
    }
    return undefined;
  }

  /** @internal Another TagalongCallbackHandler on this run prepares and records it. */
  [LEAVE_RUN](runId: string): void {
    this.runs.get(runId)?.model?.unlisten?.();
    this.runs.delete(runId);
  }

  // --- internals ---

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.tagalong.reportError(error);
    }
  }

  /**
   * Makes this handler the recorder of a model run, unless another handler of its Tagalong already is;
   * `entered`: withTagalong enters the run through this one, which then records it.
   */
  private claim(runId: string, entered: boolean): void {
    const recorders = this.recorders.runs;
    const known = recorders.get(runId);
    if (known !== undefined) {
      if (known.owner !== this) known.shared = true;
      if (entered) known.owner = this;
      return;
    }
    setCapped(recorders, runId, { owner: this, shared: false });
  }

  /** Whether this handler records the run that ended (forgotten when no other handler saw it, nor may yet). */
  private recordsRun(runId: string): boolean {
    const { runs, background } = this.recorders;
    const known = runs.get(runId);
    if (known === undefined) return true;
    if (!known.shared && !background) runs.delete(runId);
    return known.owner === this;
  }

  /** The model run withTagalong enters, noted for the other runs of its request if it has several. */
  private modelRun(runManager: RunManagerLike, options: unknown, batched: boolean): [RunState, ModelRun] {
    // A background handler LangChain's queue has not yet handed the run's start (nor, maybe, its
    // parent's), on a LangChain that hands no run's start to tracers on the caller's path (see the
    // constructor): the nearest ancestor it knows of stands for the root.
    const run = this.track(
      runManager.runId,
      runManager.parentRunId ?? runManager._parentRunId,
      !this.awaitHandlers,
    );
    const model = (run.model ??= {
      startTime: Date.now(),
      metadata: runManager.metadata,
      tags: runManager.tags,
    });
    model.configurable ??= runConfigurable(options);
    if (!this.awaitHandlers && this.tagalong.recordsCalls && model.inCaller === undefined)
      model.inCaller = callerContext(this.tagalong);
    if (batched && typeof options === "object" && options !== null)
      (this.recorders.batches ??= new WeakMap()).set(options, model);
    return [run, model];
  }

  /**
   * A run withTagalong did not enter, of a request it entered through another run (the legacy LLM's
   * several prompts): it went out with that run's scope and metadata, and is recorded with them.
   */
  private joinBatch(model: ModelRun): void {
    const handed = model.handedOptions;
    const entered =
      typeof handed === "object" && handed !== null ? this.recorders.batches?.get(handed) : undefined;
    if (entered === undefined || entered === model) return;
    model.passed = entered.passed;
    model.errorRaised = entered.errorRaised;
    model.scope = entered.scope;
    if (entered.scope !== undefined) model.prepared = entered.scope.prepared;
  }

  private noteStreamed(runId: string): void {
    const model = this.runs.get(runId)?.model;
    if (model !== undefined) model.streamed = true;
  }

  /**
   * The run's place in the trace: its root is its parent's, if this handler saw the parent begin.
   * LangChain hands a handler the runs in order, so one it did not see is not this handler's (a
   * handler on the model only, with another handler tracing the chain): the run is its own root.
   * `behind`: the run's start, and its parent's, may still be in LangChain's queue: the parent then
   * stands for the root.
   */
  private track(runId: string, parentRunId: string | undefined, behind = false): RunState {
    let run = this.runs.get(runId);
    if (run === undefined) {
      const parent = parentRunId === undefined ? undefined : this.runs.get(parentRunId);
      const root = parent?.rootRunId ?? (behind ? parentRunId : undefined) ?? runId;
      run = { parentRunId, rootRunId: root };
      setCapped(this.runs, runId, run, releaseRun);
    }
    return run;
  }

  private beginModel(
    kind: "chat" | "llm",
    llm: unknown,
    input: readonly MessageLike[] | readonly string[],
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    tags: string[] | undefined,
    metadata: Record<string, unknown> | undefined,
  ): void {
    // LangChain hands a background handler its callbacks in order: an aborted run whose end did not
    // come before this start will not get one.
    if (this.abortedRuns.size > 0) {
      for (const aborted of this.abortedRuns.keys()) if (aborted !== runId) this.endAborted(aborted);
    }
    this.claim(runId, false);
    const [run, model] = this.noteModel(runId, parentRunId, extraParams, tags, metadata);
    model.started = true;
    if (this.tagalong.recordsCalls) {
      // LangChain may end no run for a call aborted between two parts of its stream (the stream is
      // no longer read): the abort ends it.
      const signal = (model.handedOptions as { signal?: AbortSignal } | undefined)?.signal;
      if (signal !== undefined && !signal.aborted) {
        model.unlisten ??= this.listenForAbort(runId, signal);
        // The abort's listener runs in the async context of whoever aborted (another request, a
        // shutdown): the run it ends is recorded back in its caller's, captured here, on its path.
        if (this.awaitHandlers) model.inCaller ??= callerContext(this.tagalong);
      }
      model.kind = kind;
      // LangChain gives an LLM's run (the legacy OpenAI LLM's) no `ls_provider`.
      const id = (llm as { id?: unknown } | null | undefined)?.id;
      model.integration = Array.isArray(id) ? str(id[2]) : undefined;
      model.input = input;
      model.invocationParams = extraParams?.invocation_params as Record<string, unknown> | undefined;
    }
    // Awaited, this runs on the caller's path at the start of the call: prepare here, once.
    if (this.awaitHandlers) this.prepareKept(run, model);
    if (model.cancelled !== undefined) this.endModel(runId, undefined, model.cancelled.reason, false);
  }

  private listenForAbort(runId: string, signal: AbortSignal): () => void {
    const onAbort = (): void => this.aborted(runId, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  }

  /**
   * The run's signal aborted. A background handler that ran no scope of the run's request (a handler
   * without withTagalong, or one a run was passed to) cannot tell whether the request had ended: its
   * end may still be in LangChain's queue. The run then ends as aborted only if no end arrives first:
   * at the handler's next model run (LangChain's queue hands it its callbacks in order) or after
   * CANCEL_GRACE_MS.
   */
  private aborted(runId: string, reason: unknown): void {
    const model = this.runs.get(runId)?.model;
    if (model === undefined || model.scope !== undefined || this.awaitHandlers) {
      this[CANCEL_RUN](runId, reason);
      return;
    }
    model.cancelled = { reason };
    if (!this.abortedRuns.has(runId))
      this.abortedRuns.set(runId, unref(setTimeout(() => this.endAborted(runId), CANCEL_GRACE_MS)));
  }

  /** Ends as aborted a run whose signal aborted and whose end did not come (`aborted`). */
  private endAborted(runId: string): void {
    this.forgetAborted(runId);
    const cancelled = this.runs.get(runId)?.model?.cancelled;
    if (cancelled !== undefined) this.safely(() => this.endModel(runId, undefined, cancelled.reason, false));
  }

  private forgetAborted(runId: string): void {
    const timer = this.abortedRuns.get(runId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.abortedRuns.delete(runId);
  }

  /** A model run's start as LangChain hands it: its place in the trace, metadata, tags and call options. */
  private noteModel(
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    tags: string[] | undefined,
    metadata: Record<string, unknown> | undefined,
  ): [RunState, ModelRun] {
    const run = this.track(runId, parentRunId);
    const model = (run.model ??= { startTime: Date.now() });
    model.metadata = metadata;
    model.tags = tags;
    model.handedOptions = extraParams?.options;
    model.configurable ??= runConfigurable(model.handedOptions);
    return [run, model];
  }

  /** Prepares the run once, on the caller's path; an error is kept on the run, not thrown here. */
  private prepareKept(run: RunState, model: ModelRun): void {
    try {
      this.prepare(run, model);
    } catch {
      // Kept on the run: withTagalong throws it before the request, or the end reports it.
    }
  }

  private prepare(run: RunState, model: ModelRun): PreparedCall {
    if (model.prepared !== undefined) return model.prepared;
    if (model.error !== undefined) throw model.error;
    try {
      model.prepared = prepareRun(
        this.tagalong,
        model.metadata,
        model.tags,
        this.traceFromRuns ? run.rootRunId : undefined,
        model.configurable,
      );
      return model.prepared;
    } catch (error) {
      model.error = error;
      throw error;
    }
  }

  /** `cached`: LangChain answered the run from its cache; no request was made (nor streamed). */
  private endModel(runId: string, output: LLMResultLike | undefined, error: unknown, cached: boolean): void {
    const run = this.runs.get(runId);
    this.runs.delete(runId);
    if (this.abortedRuns.size > 0) this.forgetAborted(runId);
    const model = run?.model;
    if (run === undefined || model === undefined) return;
    model.unlisten?.();
    // Another handler of this Tagalong on the run records it.
    if (!this.recordsRun(runId)) return;
    // LangChain hands a cached answer's text to the run's handlers as a token.
    if (cached) model.streamed = false;
    else {
      if (model.scope === undefined && model.passed !== true) this.joinBatch(model);
      if (model.scope !== undefined) {
        if (model.scope.sent !== true && output !== undefined)
          warnNotCarried(this.warnOnce, this.inFlightDestinations);
      } else if (model.passed === true) this.warnPassed();
      else if (!model.errorRaised) this.warnNotInFlight();
    }
    let prepared = model.prepared;
    if (prepared === undefined && model.error === undefined && this.tagalong.recordsCalls) {
      try {
        prepared = this.prepare(run, model);
      } catch {
        // reported below
      }
    }
    if (model.error !== undefined) {
      // Thrown into the chain by withTagalong, the user has it; otherwise it must not vanish.
      if (!model.errorRaised) this.tagalong.reportError(model.error);
      return;
    }
    if (prepared === undefined || !this.tagalong.recordsCalls) return;
    this.warnShadowed(prepared.metadata);
    const call = this.completedCall(runId, run, model, prepared, output, error);
    if (model.inCaller === undefined) this.tagalong.record(call);
    else model.inCaller(() => this.tagalong.record(call));
  }

  private warnNotInFlight(): void {
    if (this.inFlightDestinations.length === 0) return;
    this.warnOnce(
      "(in-flight)",
      () =>
        `TagalongCallbackHandler saw a model run that was not made with withTagalong(...): its metadata did not reach ${this.inFlightDestinations.join(
          ", ",
        )}. A callback handler only observes; use the model class from withTagalong(ChatOpenAI, tagalong).`,
    );
  }

  private warnPassed(): void {
    if (this.inFlightDestinations.length === 0) return;
    this.warnOnce(
      "(passed)",
      () =>
        `TagalongCallbackHandler saw a model run whose request withTagalong made with another Tagalong's metadata: its own did not reach ${this.inFlightDestinations.join(
          ", ",
        )}. A request carries one Tagalong's metadata: give one Tagalong every destination, or let this one only record (after-the-call destinations).`,
    );
  }

  /** An `extra` key named like a context key this adapter records: the recorded context wins, said once. */
  private warnShadowed(metadata: CompletedCall["metadata"]): void {
    const extra = metadata.extra;
    if (extra === undefined) return;
    for (const key of CONTEXT_KEYS) {
      if (Object.hasOwn(extra, key)) {
        this.warnOnce(
          `(context) ${key}`,
          () =>
            `metadata.extra.${key} has the name of the run context the LangChain adapter records; destinations that put both in one map (PromptLayer) keep the adapter's ${key}. Rename the extra key to keep both.`,
        );
      }
    }
  }

  private completedCall(
    runId: string,
    run: RunState,
    model: ModelRun,
    prepared: PreparedCall,
    output: LLMResultLike | undefined,
    error: unknown,
  ): CompletedCall {
    const params = model.invocationParams ?? {};
    const meta = model.metadata ?? {};
    const provider = str(meta.ls_provider) ?? model.integration ?? "langchain";
    const input: CompletedCall["input"] =
      model.kind === "llm"
        ? (model.input as readonly string[]).map((content) => ({ role: "user", content }))
        : toChatMessages((model.input ?? []) as readonly MessageLike[]);
    const result = output ? readResult(output) : { output: [] };
    const context: Record<string, string> = { langchain_run_id: runId };
    if (run.parentRunId !== undefined) context.langchain_parent_run_id = run.parentRunId;
    const call: CompletedCall = {
      provider,
      model: str(params.model) ?? str(params.model_name) ?? str(meta.ls_model_name) ?? "unknown",
      source: "langchain",
      input,
      ...result,
      startTime: new Date(model.startTime),
      endTime: new Date(model.scope?.endTime ?? Date.now()),
      status: "success",
      stream: model.scope?.stream === true || model.streamed === true || params.stream === true,
      metadata: prepared.metadata,
      context,
    };
    const apiType = model.scope?.apiType;
    if (apiType !== undefined) call.apiType = apiType;
    const settings = openAIParameters(params);
    if (settings !== undefined) call.parameters = settings;
    if (output === undefined) {
      // A run its signal stopped (LangChain or the SDK then throws an abort) was aborted, unless a
      // timeout stopped it (`AbortSignal.timeout`): then it failed, and the timeout is its error.
      const signal = (model.handedOptions as { signal?: unknown } | undefined)?.signal;
      // A run its signal aborted failed by that abort, whatever error LangChain ended it with after
      // (a background handler waits for LangChain's end, which may wrap the abort in an Error of its own).
      if (model.cancelled?.reason !== undefined) error = model.cancelled.reason;
      const timeout = model.cancelled !== undefined || isAbortError(error) ? timeoutOf(signal) : undefined;
      call.status =
        model.cancelled === undefined || timeout !== undefined ? failedStatus(timeout ?? error) : "aborted";
      // The upstream's error may echo the credentials the request carried (its API key, a gateway's).
      // A stream its reader left (a `break`) has none.
      if (timeout !== undefined || error !== undefined || model.cancelled === undefined) {
        call.error = errorInfo(timeout ?? error, callCredentials(model.scope?.headers));
      }
    }
    return call;
  }
}
