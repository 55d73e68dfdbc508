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
  /** Holds `build` for a later task (of the caller's async context), or runs it now (see `laterRecords`). */
  hold(build: () => CompletedCall | undefined): void;
  /** Runs every held build now (before a flush, a shutdown or stats), in the order they were held. */
  runHeld(): void;
}

/** One held build; `build` is cleared once it ran. */
interface Held {
  build?: () => CompletedCall | undefined;
}

/**
 * The held builds of one Tagalong. `record` hands each built call on; a throw in a build is Tagalong's
 * failure and goes to `reportError`. Each build gets a macrotask of its own, scheduled from the call, so
 * it runs in the call's async context. A build runs at once when `atOnce` (a recorder reads the caller's
 * context, and an early run by `runHeld` would run it in another's) or where a serverless `waitUntil`
 * is in force (an invocation may end before a later task of its own runs).
 */
export function laterRecords(
  record: (call: CompletedCall) => void,
  reportError: (error: unknown) => void,
  waitUntil: () => WaitUntil | undefined,
  atOnce: boolean,
): LaterRecords {
  let held: Held[] = [];

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

  const runOne = (entry: Held): void => {
    const build = entry.build;
    if (build === undefined) return;
    entry.build = undefined;
    if (held[0] === entry) held.shift();
    else held.splice(held.indexOf(entry), 1);
    run(build);
  };

  const runHeld = (): void => {
    if (held.length === 0) return;
    const entries = held;
    held = [];
    for (const entry of entries) {
      const build = entry.build;
      entry.build = undefined;
      if (build !== undefined) run(build);
    }
  };

  return {
    hold(build) {
      if (atOnce || waitUntil() !== undefined) return run(build);
      const entry: Held = { build };
      held.push(entry);
      if (held.length >= MAX_HELD) runHeld();
      else macrotask(() => runOne(entry));
    },
    runHeld,
  };
}
