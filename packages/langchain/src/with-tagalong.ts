import { TagalongError } from "@tagalong/core";
import {
  consoleLogger,
  inFlightDestinations,
  type Tagalong,
  type WarnOnce,
  warnOnce,
} from "@tagalong/core/adapter";
import { type CallScope, carriedScope, carrying, noteEnd, RUN_CONFIG, runConfigurable } from "./call-scope";
import {
  CANCEL_RUN,
  ENTER_RUN,
  findHandler,
  isHandler,
  LEAVE_RUN,
  PASS_RUN,
  type RunManagerLike,
  startedRun,
  TagalongCallbackHandler,
  warnNotCarried,
} from "./callback-handler";
import { isTagalongFetch, tagalongFetch } from "./fetch";
import { prepareRun } from "./run-prepare";

const WRAPPED = Symbol.for("tagalong.langchain.with-tagalong");
/** The Tagalong a class from withTagalong was given, if any. */
const BOUND = Symbol.for("tagalong.langchain.with-tagalong.tagalong");

type AnyClass = new (...args: any[]) => any;

/** What one withTagalong class carries: its Tagalong, if given, for runs no handler watches. */
interface Binding {
  readonly tagalong: Tagalong | undefined;
  /** Its in-flight destinations, for the warning that a run's request did not carry them. */
  readonly inFlight: readonly string[];
  /**
   * The class's own handler, added to each model's callbacks: only for a Tagalong that records calls
   * (a handler is what sees a run's messages and output). Without one, LangChain runs no callback
   * machinery for the model's runs (12 to 40 µs a call), and the class reads each run's metadata and
   * tags from its config itself.
   */
  readonly handler: TagalongCallbackHandler | undefined;
  readonly warnOnce: WarnOnce;
}

function binding(tagalong: Tagalong | undefined, readsConfig: boolean): Binding {
  return {
    tagalong,
    inFlight: tagalong === undefined ? [] : [...inFlightDestinations(tagalong)],
    handler:
      tagalong !== undefined && (tagalong.recordsCalls || !readsConfig)
        ? new TagalongCallbackHandler(tagalong)
        : undefined,
    warnOnce: warnOnce(tagalong?.logger ?? consoleLogger()),
  };
}

interface RunLabels {
  metadata?: Record<string, unknown>;
  tags?: string[];
}

/**
 * A run's metadata and tags as LangChain's run manager would have them: the config's, then the
 * model's own (`new ChatOpenAI({ metadata, tags })`), the model's winning a key they share.
 */
function configLabels(options: unknown, model: RunLabels): RunLabels {
  const config = (options as Record<symbol, RunLabels | undefined> | null | undefined)?.[RUN_CONFIG];
  const metadata =
    model.metadata === undefined ? config?.metadata : { ...config?.metadata, ...model.metadata };
  const tags =
    model.tags === undefined || model.tags.length === 0
      ? config?.tags
      : [...new Set([...(config?.tags ?? []), ...model.tags])];
  return { metadata, tags };
}

/**
 * The run withTagalong enters: a scope for the client's fetch, carried in the model's call options
 * (`carrying`). With a TagalongCallbackHandler on the run, the handler prepares it (with the LangChain
 * trace, and records it, reading at the run's end what the fetch noted in the scope); without one,
 * the class's own Tagalong does (the run's metadata and tags, the scope and the defaults); with
 * neither, nothing is attached and a one-time warning says so. `batched`: the request is for several
 * runs, of which LangChain hands the model the first (the legacy LLM's `generate` of several prompts).
 */
function enter(
  runManager: RunManagerLike | undefined,
  bound: Binding,
  stream: boolean,
  options: unknown,
  model: RunLabels,
  batched = false,
): CallScope | undefined {
  const runId = runManager?.runId ?? "";
  const current = carriedScope(options);
  // A model whose _generate streams through its own _streamResponseChunks: one run, one prepare.
  const scope =
    current !== undefined && current.runId === runId
      ? current
      : enterRun(runManager, runId, bound, options, model, batched);
  if (scope !== undefined && stream) scope.stream = true;
  return scope;
}

function enterRun(
  runManager: RunManagerLike | undefined,
  runId: string,
  bound: Binding,
  options: unknown,
  model: RunLabels,
  batched: boolean,
): CallScope | undefined {
  const { tagalong } = bound;
  // A class bound to a Tagalong makes the request with that one's metadata: through a handler of it,
  // if the run has one. An unbound class, through the run's first handler.
  const handler = runManager && findHandler(runManager.handlers, tagalong);
  if (handler !== undefined) {
    // Two handlers of one Tagalong on one run (the class's own and one in the call's config): the
    // first has it. A handler of another Tagalong is another set of destinations: it records the run too.
    passRun(runManager!, handler, options, batched);
    return handler[ENTER_RUN](runManager!, options, batched);
  }
  if (tagalong === undefined) {
    bound.warnOnce(
      "(unbound)",
      () =>
        "withTagalong: a model run with no Tagalong: nothing was attached to it. Give the class one, withTagalong(ChatOpenAI, tagalong), or add a TagalongCallbackHandler to the run's callbacks.",
    );
    return undefined;
  }
  if (tagalong.recordsCalls) {
    bound.warnOnce(
      "(unrecorded)",
      () =>
        "withTagalong: a model run without a TagalongCallbackHandler: its metadata reached the wire but the call is not recorded. Add new TagalongCallbackHandler(tagalong) to the model's or the run's callbacks.",
    );
  }
  // No handler of the bound Tagalong: the run manager's labels (another handler's or a tracer's run),
  // else the config's. No LangChain trace: only a handler of the Tagalong follows the runs around the
  // model's. The handlers of other Tagalongs record the run, as made with this one's metadata.
  const { metadata, tags } = runManager ?? configLabels(options, model);
  if (runManager !== undefined) passRun(runManager, undefined, options, batched);
  const prepared = prepareRun(tagalong, metadata, tags, undefined, runConfigurable(options));
  return {
    runId,
    prepared,
    unwatched: true,
    // No handler was handed the call options, which LangChain made for this run: none is attached
    // (no run manager, or one for a config's empty `callbacks`).
    inPlace: runManager === undefined || runManager.handlers?.length === 0,
  };
}

/**
 * Tells the run's other handlers of ours that `entered` (or, if undefined, the class itself) makes its
 * request: a second handler of the same Tagalong leaves the run to it, one of another Tagalong records
 * the run as made with another Tagalong's metadata.
 */
function passRun(
  runManager: RunManagerLike,
  entered: TagalongCallbackHandler | undefined,
  options: unknown,
  batched: boolean,
): void {
  for (const other of runManager.handlers ?? []) {
    if (other === entered || !isHandler(other)) continue;
    if (other.tagalong === entered?.tagalong) other[LEAVE_RUN](runManager.runId);
    else other[PASS_RUN]?.(runManager, options, batched);
  }
}

/** A run no handler of ours watches got its answer: say once if its request never reached our fetch. */
function checkSent(scope: CallScope, bound: Binding): void {
  if (scope.sent !== true) warnNotCarried(bound.warnOnce, bound.inFlight);
}

const ignore = (): void => {};

/**
 * A model stream for a run, as an iterator rather than another generator layer: the run is entered
 * on the first step, as a generator's body would be, and the model's stream is opened with call
 * options carrying its scope. A timed scope (a background handler's) also notes when the stream ended.
 */
class RunStream<T> {
  private inner: AsyncGenerator<T> | undefined;
  private scope: CallScope | undefined;
  private checked = false;

  constructor(
    private readonly runManager: RunManagerLike | undefined,
    private readonly bound: Binding,
    private readonly options: unknown,
    private readonly model: RunLabels,
    private readonly open: (options: unknown) => AsyncGenerator<T>,
  ) {}

  next(...args: [] | [unknown]): Promise<IteratorResult<T>> {
    if (this.inner !== undefined && this.scope?.unwatched && !this.checked) {
      // A step was read, so the model's request was answered: it should have reached our fetch.
      this.checked = true;
      checkSent(this.scope, this.bound);
    }
    if (this.inner === undefined) {
      let scope: CallScope | undefined;
      try {
        scope = enter(this.runManager, this.bound, true, this.options, this.model);
      } catch (error) {
        this.inner = finished<T>();
        return Promise.reject(error);
      }
      this.scope = scope;
      this.inner = this.open(
        scope === undefined ? this.options : carrying(this.options, scope, scope.inPlace === true),
      );
    }
    const { inner, scope } = this;
    const step = inner.next(...args);
    return scope?.timed ? step.then(onStep(scope), onStepError(scope)) : step;
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    // Left before its end, by its reader (a `break`) or its signal (an abort midway): LangChain ends
    // no run for that.
    if (this.inner !== undefined && this.scope?.endTime === undefined) {
      const reason = abortReason(this.options);
      for (const handler of this.runManager?.handlers ?? []) {
        if (isHandler(handler)) handler[CANCEL_RUN]?.(this.runManager!.runId, reason);
      }
    }
    if (this.scope?.timed) noteEnd(this.scope);
    this.inner ??= finished<T>();
    return this.inner.return(value as T);
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.inner ??= finished<T>();
    return this.inner.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

async function* finished<T>(): AsyncGenerator<T> {}

/** Why the call's signal aborted it, if it did. */
function abortReason(options: unknown): unknown {
  const signal = (options as { signal?: AbortSignal } | null | undefined)?.signal;
  return signal?.aborted === true ? signal.reason : undefined;
}

const onStep =
  (scope: CallScope) =>
  <T>(step: IteratorResult<T>): IteratorResult<T> => {
    if (step.done) noteEnd(scope);
    return step;
  };

const onStepError =
  (scope: CallScope) =>
  (error: unknown): never => {
    noteEnd(scope);
    throw error;
  };

/**
 * The constructor arguments with our fetch in `configuration.fetch` (wrapping the caller's own) and,
 * for a class given a Tagalong, its TagalongCallbackHandler in `callbacks` (unless one is there), so
 * every run has a run manager carrying the run's metadata and tags, a trace and a record.
 */
function constructorArguments(args: unknown[], handler: TagalongCallbackHandler | undefined): unknown[] {
  const at = args.findIndex((a) => typeof a === "object" && a !== null && !Array.isArray(a));
  const fields = (at === -1 ? {} : args[at]) as { configuration?: { fetch?: unknown }; callbacks?: unknown };
  const next: Record<string, unknown> = { ...fields };
  const configuration = fields.configuration ?? {};
  if (!isTagalongFetch(configuration.fetch)) {
    next.configuration = { ...configuration, fetch: tagalongFetch(configuration.fetch as never) };
  }
  if (handler !== undefined) {
    const callbacks = fields.callbacks;
    if (callbacks === undefined) next.callbacks = [handler];
    else if (Array.isArray(callbacks) && findHandler(callbacks, handler.tagalong) === undefined)
      next.callbacks = [...callbacks, handler];
  }
  const out = [...args];
  if (at === -1) out.push(next);
  else out[at] = next;
  return out;
}

/** Whether `proto` overrides LangChain's default of a method (the root-most definition on its chain). */
function overrides(proto: object, name: string): boolean {
  const own = (proto as Record<string, unknown>)[name];
  if (typeof own !== "function") return false;
  let root: unknown;
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, name)) root = (p as Record<string, unknown>)[name];
  }
  return own !== root;
}

/**
 * A subclass of a LangChain model class built on the OpenAI SDK (`ChatOpenAI`, `AzureChatOpenAI`,
 * the legacy `OpenAI` LLM, any model extending them) that puts each run's Tagalong metadata on the
 * wire (every in-flight destination's headers and body fields). It is the same class to TypeScript
 * and to `instanceof`; construct it exactly like the original.
 *
 * Given a Tagalong, `withTagalong(ChatOpenAI, tagalong)` is all it takes. If the Tagalong records
 * calls, each model also gets its `TagalongCallbackHandler` in its callbacks (unless it has one), which
 * records every run and adds the LangChain trace; with in-flight destinations only, no handler is
 * added (LangChain then runs no callback machinery for the model's runs) and each run's metadata and
 * tags are read from its config. Without a Tagalong, the runs need a `TagalongCallbackHandler` in
 * their callbacks; a run with neither attaches nothing and a one-time warning says so.
 *
 * Why a subclass: a callback handler only observes, per-call `headers` are dropped on ChatOpenAI's
 * stream path, and call options change once tools are bound. So the subclass prepares each run in
 * the model's own `_generate` / `_streamResponseChunks` (which every path goes through, with the
 * run's metadata and tags), passes the run on in the call options' fetch options, and installs a
 * `configuration.fetch` that adds the run's headers and body fields to its request. The metadata is
 * checked there, before the request is built, so an InvalidMetadataError reaches the caller as
 * itself. No AsyncLocalStorage is entered. A second argument that is not a Tagalong throws a
 * TagalongError here.
 * @example
 * import { ChatOpenAI } from "@langchain/openai";
 * import { createTagalong, portkey } from "@tagalong/core";
 * import { tagalongMetadata, withTagalong } from "@tagalong/langchain";
 *
 * const tagalong = createTagalong({ destinations: [portkey()] });
 * const ChatModel = withTagalong(ChatOpenAI, tagalong);
 * const model = new ChatModel({ model: "gpt-4o-mini" });
 * await model.invoke("Hi", { metadata: tagalongMetadata({ user: "u_42" }) });
 */
export function withTagalong<C extends AnyClass>(Base: C, tagalong?: Tagalong): C {
  if (typeof Base !== "function" || typeof Base.prototype?._generate !== "function") {
    throw new TagalongError(
      "withTagalong: expected a LangChain model class built on the OpenAI SDK (ChatOpenAI, AzureChatOpenAI, OpenAI)",
    );
  }
  if (
    tagalong !== undefined &&
    (typeof tagalong?.prepare !== "function" || typeof tagalong.record !== "function")
  ) {
    throw new TagalongError("withTagalong: the second argument must be a Tagalong (from createTagalong)");
  }
  const wrapped = Base as unknown as Record<symbol, unknown>;
  if (wrapped[WRAPPED] === true) {
    const own = wrapped[BOUND];
    if (tagalong === undefined || tagalong === own) return Base;
    // One request carries one Tagalong's metadata: the inner class's would reach nothing.
    if (own !== undefined) {
      throw new TagalongError(
        "withTagalong: this class was already made with another Tagalong by withTagalong, and a request carries one Tagalong's metadata: the other's destinations would get nothing. Give one Tagalong every destination; or, to record the runs for a second Tagalong's after-the-call destinations too, add new TagalongCallbackHandler(secondTagalong) to the model's or the run's callbacks.",
      );
    }
  }
  const readsConfig = typeof Base.prototype._separateRunnableConfigFromCallOptionsCompat === "function";
  const bound = binding(tagalong, readsConfig);
  const Model = Base as AnyClass;

  class TaggedModel extends Model {
    /** The model's own metadata and tags (LangChain's fields), which LangChain adds to each run's. */
    declare metadata?: Record<string, unknown>;
    declare tags?: string[];
    declare callbacks?: unknown;

    constructor(...args: any[]) {
      super(...constructorArguments(args, bound.handler));
    }

    // Not async: the model's own promise, not another async frame around it.
    _generate(messages: unknown, options: unknown, runManager?: RunManagerLike): Promise<unknown> {
      try {
        // The legacy LLM's prompts (a chat model's messages are objects): one request for them all.
        const batched = Array.isArray(messages) && messages.length > 1 && typeof messages[0] === "string";
        const scope = enter(runManager, bound, false, options, this, batched);
        if (scope === undefined) return super._generate(messages, options, runManager);
        const carried = carrying(options, scope, scope.inPlace === true);
        const result: Promise<unknown> = super._generate(messages, carried, runManager);
        if (scope.timed) return result.finally(() => noteEnd(scope));
        // Beside the caller's chain, not in it: the check costs the caller no tick.
        if (scope.unwatched) result.then(() => checkSent(scope, bound), ignore);
        return result;
      } catch (error) {
        return Promise.reject(error);
      }
    }

    // Plain methods returning the stream: no generator layer of ours on every chunk.
    _streamResponseChunks(messages: unknown, options: unknown, runManager?: RunManagerLike): AsyncGenerator {
      return new RunStream(runManager, bound, options, this, (carried) =>
        super._streamResponseChunks(messages, carried, runManager),
      ) as unknown as AsyncGenerator;
    }

    // @langchain/core 1.4 streams a run's events (for a handler that prefers them, as LangGraph's v3
    // stream protocol adds) without its run manager: the run's handlers noted the run by its config.
    _streamChatModelEvents(messages: unknown, options: unknown, runManager?: RunManagerLike): AsyncGenerator {
      return new RunStream(runManager ?? startedRun(options, this), bound, options, this, (carried) =>
        super._streamChatModelEvents(messages, carried, runManager),
      ) as unknown as AsyncGenerator;
    }

    // Every path into the model (invoke, stream, batch, generate) separates the run's config from
    // its call options here first: the call options keep it, for a run without a run manager.
    _separateRunnableConfigFromCallOptionsCompat(options: unknown): [RunLabels, Record<symbol, unknown>] {
      const separated = super._separateRunnableConfigFromCallOptionsCompat(options);
      separated[1][RUN_CONFIG] = separated[0];
      return separated;
    }

    withConfig(config: unknown): unknown {
      const next = super.withConfig(config);
      if (next === null || typeof next !== "object" || next instanceof TaggedModel) return next;
      // ChatOpenAI's withConfig (behind bindTools and withStructuredOutput) returns
      // `new ChatOpenAI(this.fields)`: keep it wrapped. Its fields already carry our fetch.
      const proto = Object.getPrototypeOf(next);
      if (proto === Base.prototype) {
        Object.setPrototypeOf(next, TaggedModel.prototype);
        return next;
      }
      // A class it inherits built the model (ChatOpenAI's withConfig, for AzureChatOpenAI or your own
      // subclass): a model of this class, of the same fields and options, keeps the subclass too.
      if (
        !Object.prototype.isPrototypeOf.call(proto, Base.prototype) ||
        typeof proto._generate !== "function"
      )
        return next;
      const fields = (this as { fields?: unknown }).fields;
      const Own = this.constructor as AnyClass;
      try {
        const own = new Own(fields);
        own.defaultOptions = (next as { defaultOptions?: unknown }).defaultOptions;
        return own;
      } catch {
        bound.warnOnce(
          "(withConfig)",
          () =>
            `withTagalong: ${Base.name}'s withConfig (behind bindTools and withStructuredOutput) built a ${proto.constructor?.name} and the class could not be rebuilt from its fields: that model's runs carry no metadata.`,
        );
        return next;
      }
    }
  }

  // LangChain checks whether a model overrides its streaming defaults to pick a path; only wrap
  // the ones this model really has.
  for (const name of ["_streamResponseChunks", "_streamChatModelEvents"]) {
    if (!overrides(Base.prototype, name))
      delete (TaggedModel.prototype as unknown as Record<string, unknown>)[name];
  }
  for (const name of ["withConfig", "_separateRunnableConfigFromCallOptionsCompat"]) {
    if (typeof Base.prototype[name] !== "function")
      delete (TaggedModel.prototype as unknown as Record<string, unknown>)[name];
  }
  Object.defineProperty(TaggedModel, "name", { value: Base.name });
  Object.defineProperty(TaggedModel, WRAPPED, { value: true });
  Object.defineProperty(TaggedModel, BOUND, { value: tagalong });
  return TaggedModel as unknown as C;
}
