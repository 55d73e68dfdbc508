// The store that carries a model call's prepared headers and body fields from the model
// (withTagalong) to its client's fetch: core's scope store, so no Node built-in is imported here and
// the adapter loads in edge runtimes (async propagation wherever the runtime has AsyncLocalStorage).
import {
  type CompletedCall,
  createScopeStore,
  type PreparedCall,
  realmSingleton,
} from "@tagalong/core/adapter";

/** What the fetch of a model's client adds to the request of the run in scope. */
export interface CallScope {
  readonly runId: string;
  readonly prepared: PreparedCall;
  /** The API the model's request addressed, as the fetch saw it on the wire. */
  apiType?: CompletedCall["apiType"];
  /** The headers of the request the fetch sent (a reference: read only if the call fails). */
  headers?: unknown;
  /**
   * The fetch has seen the run's request. What comes after it (retries included) already runs in
   * the scope of the step that sent it: a stream's later steps only read the response.
   */
  sent?: boolean;
  /** The model streamed the response (its `_streamResponseChunks` ran in this scope). */
  stream?: boolean;
  /**
   * The run's end is noted here when the model's request (or stream) ends, for a handler whose end
   * callback LangChain runs later, in its background queue. An awaited handler's end is the run's.
   */
  timed?: boolean;
  endTime?: number;
}

/** Notes in a timed scope when its request or stream ended. */
export function noteEnd(scope: CallScope): void {
  scope.endTime ??= Date.now();
}

// One store per realm, shared by duplicate installs, so a model wrapped by one copy of the
// package reaches a fetch installed by another.
export const callScope = realmSingleton("tagalong.langchain.call-scope", () => createScopeStore<CallScope>());
