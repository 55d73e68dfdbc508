// Exit handling: queues with pending work are drained once when the process is about to exit normally
// (Node's `beforeExit`), found without importing any `node:` module. One listener per process, however
// many queues and duplicate installs of the package there are.

/** A queue with pending work, drained when the process is about to exit. */
export interface ExitDrain {
  drainForExit(): void;
}

const EXIT_REGISTRY = Symbol.for("tagalong.delivery-queue.exit-registry");

type Proc = { on?: (event: string, fn: () => void) => unknown };

/** The process's registry of queues to drain at exit; undefined where there is no `process.on`. */
export function exitRegistry(): Set<ExitDrain> | undefined {
  const proc = (globalThis as { process?: Proc }).process;
  if (typeof proc?.on !== "function") return undefined;
  const g = globalThis as unknown as Record<symbol, Set<ExitDrain> | undefined>;
  let registry = g[EXIT_REGISTRY];
  if (!registry) {
    const queues = new Set<ExitDrain>();
    registry = g[EXIT_REGISTRY] = queues;
    proc.on("beforeExit", () => {
      for (const q of [...queues]) q.drainForExit();
    });
  }
  return registry;
}
