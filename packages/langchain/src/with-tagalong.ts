import { type CallScope, callScope } from "./call-scope";
import { ENTER_RUN, EXIT_RUN, findHandler, type RunManagerLike } from "./callback-handler";
import { isTagalongFetch, tagalongFetch } from "./fetch";

const WRAPPED = Symbol.for("tagalong.langchain.with-tagalong");

type AnyClass = new (...args: any[]) => any;

/** The run withTagalong enters: a scope for the client's fetch, or nothing when no handler watches it. */
function enter(runManager: RunManagerLike | undefined): CallScope | undefined {
  if (runManager === undefined) return undefined;
  const current = callScope.getStore();
  // A model whose _generate streams through its own _streamResponseChunks: one run, one prepare.
  if (current !== undefined && current.runId === runManager.runId) return current;
  const handler = findHandler(runManager.handlers);
  if (handler === undefined) return undefined;
  return { runId: runManager.runId, prepared: handler[ENTER_RUN](runManager) };
}

function exit(runManager: RunManagerLike, scope: CallScope, stream: boolean): void {
  findHandler(runManager.handlers)?.[EXIT_RUN](runManager.runId, stream, scope.apiType);
}

/**
 * A model stream for a run: the run is entered on the first step (as a generator's body would be),
 * and every step of the model's stream is pulled inside its scope, so whatever a step sends carries
 * the run's metadata. Without a TagalongCallbackHandler on the run, the model's stream as it is.
 */
async function* streamInRun<T>(
  runManager: RunManagerLike | undefined,
  open: () => AsyncGenerator<T>,
): AsyncGenerator<T> {
  const scope = enter(runManager);
  const inner = open();
  if (scope === undefined) return yield* inner;
  const next = () => inner.next();
  let done = false;
  try {
    for (;;) {
      const step = await callScope.run(scope, next);
      if (step.done) {
        done = true;
        return;
      }
      yield step.value;
    }
  } finally {
    exit(runManager!, scope, true);
    // The consumer stopped early: close the model's stream as `yield*` would.
    if (!done) await inner.return?.(undefined);
  }
}

/** The constructor arguments with our fetch in `configuration.fetch`, wrapping the caller's own. */
function withFetchArgument(args: unknown[]): unknown[] {
  const at = args.findIndex((a) => typeof a === "object" && a !== null && !Array.isArray(a));
  const fields = (at === -1 ? {} : args[at]) as { configuration?: { fetch?: unknown } };
  const configuration = fields.configuration ?? {};
  if (isTagalongFetch(configuration.fetch)) return args;
  const next = {
    ...fields,
    configuration: { ...configuration, fetch: tagalongFetch(configuration.fetch as never) },
  };
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
 * wire: Portkey's header and Requesty's body field. It is the same class to TypeScript and to
 * `instanceof`; construct it exactly like the original and give it a TagalongCallbackHandler:
 *
 * ```ts
 * const ChatModel = withTagalong(ChatOpenAI);
 * const model = new ChatModel({ model: "gpt-4o-mini", callbacks: [new TagalongCallbackHandler(tagalong)] });
 * ```
 *
 * Why a subclass: a callback handler only observes, per-call `headers` are dropped on ChatOpenAI's
 * stream path, and call options change once tools are bound. So the subclass enters a scope around
 * the model's own `_generate` / `_streamResponseChunks` (which every path goes through, with the
 * run's id, metadata and tags) and installs a `configuration.fetch` that adds that scope's headers
 * and body fields to the request. The metadata is checked there, before the request is built, so
 * an InvalidMetadataError reaches the caller as itself. Runs with no TagalongCallbackHandler pass
 * through untouched.
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
export function withTagalong<C extends AnyClass>(Base: C): C {
  if ((Base as unknown as Record<symbol, unknown>)[WRAPPED] === true) return Base;
  const Model = Base as AnyClass;

  class TaggedModel extends Model {
    constructor(...args: any[]) {
      super(...withFetchArgument(args));
    }

    async _generate(messages: unknown, options: unknown, runManager?: RunManagerLike): Promise<unknown> {
      const scope = enter(runManager);
      if (scope === undefined) return super._generate(messages, options, runManager);
      try {
        return await callScope.run(scope, () => super._generate(messages, options, runManager));
      } finally {
        exit(runManager!, scope, false);
      }
    }

    // Plain methods returning the stream: one generator layer, not two, on every chunk.
    _streamResponseChunks(messages: unknown, options: unknown, runManager?: RunManagerLike): AsyncGenerator {
      return streamInRun(runManager, () => super._streamResponseChunks(messages, options, runManager));
    }

    _streamChatModelEvents(messages: unknown, options: unknown, runManager?: RunManagerLike): AsyncGenerator {
      return streamInRun(runManager, () => super._streamChatModelEvents(messages, options, runManager));
    }

    withConfig(config: unknown): unknown {
      const next = super.withConfig(config);
      // ChatOpenAI's withConfig (behind bindTools and withStructuredOutput) returns
      // `new ChatOpenAI(this.fields)`: keep it wrapped. Its fields already carry our fetch.
      if (next !== null && typeof next === "object" && Object.getPrototypeOf(next) === Base.prototype) {
        Object.setPrototypeOf(next, TaggedModel.prototype);
      }
      return next;
    }
  }

  // LangChain checks whether a model overrides its streaming defaults to pick a path; only wrap
  // the ones this model really has.
  for (const name of ["_streamResponseChunks", "_streamChatModelEvents"]) {
    if (!overrides(Base.prototype, name))
      delete (TaggedModel.prototype as unknown as Record<string, unknown>)[name];
  }
  if (typeof Base.prototype.withConfig !== "function") {
    delete (TaggedModel.prototype as unknown as Record<string, unknown>).withConfig;
  }
  Object.defineProperty(TaggedModel, "name", { value: Base.name });
  Object.defineProperty(TaggedModel, WRAPPED, { value: true });
  return TaggedModel as unknown as C;
}
