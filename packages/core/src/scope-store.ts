// The one module of @tagalong/core that touches a Node built-in: the scope store.
// Edge runtimes with AsyncLocalStorage (Workers with nodejs_compat, Vercel Edge) provide this same module.
import { AsyncLocalStorage } from "node:async_hooks";

export interface ScopeStore<T> {
  getStore(): T | undefined;
  run<R>(value: T, fn: () => R): R;
}

export function createScopeStore<T>(): ScopeStore<T> {
  return new AsyncLocalStorage<T>();
}
