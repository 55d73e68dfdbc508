// The one module of @tagalong/langchain that touches a Node built-in: the store that carries a model
// call's prepared headers and body fields from the model (withTagalong) to its client's fetch.
import { AsyncLocalStorage } from "node:async_hooks";
import type { PreparedCall } from "@tagalong/core";

/** What the fetch of a model's client adds to the request of the run in scope. */
export interface CallScope {
  readonly runId: string;
  readonly prepared: PreparedCall;
}

// One store per realm, shared by duplicate installs, so a model wrapped by one copy of the
// package reaches a fetch installed by another.
const KEY = Symbol.for("tagalong.langchain.call-scope");
const slot = globalThis as unknown as Record<symbol, AsyncLocalStorage<CallScope> | undefined>;
export const callScope: AsyncLocalStorage<CallScope> = (slot[KEY] ??= new AsyncLocalStorage<CallScope>());
