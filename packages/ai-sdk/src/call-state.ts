import { type PreparedCall, realmSingleton } from "@tagalong/core/adapter";
import type { FiledCall } from "./fetch-channel";

/** One call as a tagalongMiddleware handed it to the model. */
export interface CallState {
  readonly prepared: PreparedCall;
  /** Its body fields, when they were filed for a `tagalongFetch`. */
  readonly filed: FiledCall | undefined;
  /** Whether a wrap hook took the call (recorded at most once). */
  claimed: boolean;
}

// The params objects a tagalongMiddleware produced, shared by every instance (and by duplicate installs
// of the package), so a model wrapped twice is handled once: by the outermost middleware.
const calls = realmSingleton("tagalong.ai-sdk.calls", () => new WeakMap<object, CallState>());

/** Whether a tagalongMiddleware already prepared these very params. */
export function isPrepared(params: object): boolean {
  return calls.has(params);
}

export function remember(params: object, state: CallState): void {
  calls.set(params, state);
}

/** Claims a call for its wrap hook; undefined when it is not ours or another middleware already did. */
export function claim(params: object): CallState | undefined {
  const state = calls.get(params);
  if (state === undefined || state.claimed) return undefined;
  state.claimed = true;
  return state;
}
