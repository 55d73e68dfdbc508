import type { PreparedCall, Tagalong } from "@tagalong/core/adapter";
import type { FiledCall } from "./fetch-channel";

/** One call as a tagalongMiddleware handed it to the model. */
export interface CallState {
  /** The Tagalong whose middleware prepared it. */
  readonly tagalong: Tagalong;
  readonly prepared: PreparedCall;
  /** Its body fields, when they were filed for a `tagalongFetch`. */
  readonly filed: FiledCall | undefined;
  /** What the SDK hands again to each attempt of this call (`retryKeys` of the caller's params). */
  readonly retryKeys: readonly object[];
  /** Whether a wrap hook took the call (recorded at most once). */
  claimed: boolean;
}

// The params objects a tagalongMiddleware produced carry their state under this key, shared by every
// instance (and by duplicate installs of the package), so a model wrapped twice is handled once: by
// the outermost middleware. A non-enumerable property rather than a WeakMap entry: no copy of the
// params (a spread) carries it, and it costs the garbage collector nothing extra per call.
const STATE = Symbol.for("tagalong.ai-sdk.call");

const stateOf = (params: object): CallState | undefined => (params as { [STATE]?: CallState })[STATE];

/** The Tagalong whose tagalongMiddleware already prepared these very params, if one did. */
export function preparedBy(params: object): Tagalong | undefined {
  return stateOf(params)?.tagalong;
}

/** Marks params a tagalongMiddleware made (an object of its own, not the caller's). */
export function remember(params: object, state: CallState): void {
  Object.defineProperty(params, STATE, { value: state });
}

/** Claims a call for its wrap hook; undefined when it is not ours or another middleware already did. */
export function claim(params: object): CallState | undefined {
  const state = stateOf(params);
  if (state === undefined || state.claimed) return undefined;
  state.claimed = true;
  return state;
}
