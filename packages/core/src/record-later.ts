// Builds of finished calls held for a later task, so that turning a call into its CompletedCall (and
// handing it to the recorders) runs off the caller's path: after the caller's `await` has resumed, not
// between the answer and the caller.
import { macrotask } from "./macrotask";
import type { CompletedCall, WaitUntil } from "./types";

/**
 * Held builds above this number run at once: a caller whose every call resolves within microtasks (an
 * in-memory fetch) never yields to a macrotask, and must not grow this list without bound.
 */
const MAX_HELD = 64;

export interface LaterRecords {
  /** Holds `build` for a later task, or runs it now (see `laterRecords`). */
  hold(build: () => CompletedCall | undefined): void;
  /** Runs every held build now (before a flush, a shutdown or stats), in the order they were held. */
  runHeld(): void;
}

/**
 * The held builds of one Tagalong. `record` hands each built call on; a throw in a build is Tagalong's
 * failure and goes to `reportError`. Held builds run together in one later macrotask (not in the async
 * context of each call). A build runs at once when `atOnce` (a recorder reads the caller's context) or
 * where a serverless `waitUntil` is in force (an invocation may end before a later task of its own runs).
 */
export function laterRecords(
  record: (call: CompletedCall) => void,
  reportError: (error: unknown) => void,
  waitUntil: () => WaitUntil | undefined,
  atOnce: boolean,
): LaterRecords {
  let held: Array<() => CompletedCall | undefined> = [];
  let scheduled = false;

  const run = (build: () => CompletedCall | undefined): void => {
    let call: CompletedCall | undefined;
    try {
      call = build();
    } catch (error) {
      reportError(error);
      return;
    }
    if (call !== undefined) record(call);
  };

  const runHeld = (): void => {
    if (held.length === 0) return;
    const builds = held;
    held = [];
    for (let i = 0; i < builds.length; i++) run(builds[i]!);
  };

  const later = (): void => {
    scheduled = false;
    runHeld();
  };

  return {
    hold(build) {
      if (atOnce || waitUntil() !== undefined) return run(build);
      held.push(build);
      if (held.length >= MAX_HELD) runHeld();
      else if (!scheduled) {
        scheduled = true;
        macrotask(later);
      }
    },
    runHeld,
  };
}
