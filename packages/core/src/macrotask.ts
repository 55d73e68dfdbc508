/** Runs `fn` on a later macrotask: setImmediate where the runtime has it (no 1 ms clamp), else a timer. */
export const macrotask: (fn: () => void) => void =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? (fn) => (globalThis as unknown as { setImmediate: (f: () => void) => unknown }).setImmediate(fn)
    : (fn) => setTimeout(fn, 0);
