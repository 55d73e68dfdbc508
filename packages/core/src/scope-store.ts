// The scope store: AsyncLocalStorage wherever the runtime has one, found without importing any
// `node:` module, so the core loads unchanged in Node, Bun, Deno, Workers and Vercel Edge.

/** Runs code with a value in scope and reads it back, across awaits where the runtime allows. */
export interface ScopeStore<T> {
  getStore(): T | undefined;
  run<R>(value: T, fn: () => R): R;
  /** Whether scopes follow async work (false: only synchronous code inside `run` sees the value). */
  readonly async: boolean;
}

interface AlsConstructor {
  new <T>(): { getStore(): T | undefined; run<R>(value: T, fn: () => R): R };
  /** The current async context, to run a function in later (Node, Bun, Deno, Workers). */
  snapshot?(): <R>(fn: () => R) => R;
}

type Runtime = typeof globalThis & {
  AsyncLocalStorage?: AlsConstructor;
  process?: { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: AlsConstructor } | undefined };
};

export function findAsyncLocalStorage(): AlsConstructor | undefined {
  const g = globalThis as Runtime;
  // Vercel Edge and Workers (nodejs_als / nodejs_compat) expose it as a global.
  if (typeof g.AsyncLocalStorage === "function") return g.AsyncLocalStorage;
  try {
    // Node >= 20.16, Bun, Deno and Workers with nodejs_compat: a synchronous, import-free lookup.
    return g.process?.getBuiltinModule?.("node:async_hooks")?.AsyncLocalStorage;
  } catch {
    return undefined;
  }
}

/** A store that only sees synchronous code: what a runtime without AsyncLocalStorage allows. */
function syncStore<T>(): ScopeStore<T> {
  let current: T | undefined;
  return {
    async: false,
    getStore: () => current,
    run(value, fn) {
      const previous = current;
      current = value;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
  };
}

/** A scope store: AsyncLocalStorage where the runtime has it, else a synchronous stack (see `async`). */
export function createScopeStore<T>(): ScopeStore<T> {
  const Als = findAsyncLocalStorage();
  if (!Als) return syncStore<T>();
  const als = new Als<T>();
  return { async: true, getStore: () => als.getStore(), run: (value, fn) => als.run(value, fn) };
}
