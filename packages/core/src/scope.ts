import { realmSingleton } from "./adapter-kit/realm";
import { InvalidMetadataError } from "./errors";
import { freezeMetadata, mergeMetadata } from "./merge";
import { createScopeStore } from "./scope-store";
import type { Metadata } from "./types";
import { checkMetadata, withoutIssues } from "./validate";

/** One level of `withMetadata`: the merged metadata of this scope and every scope around it. */
export interface ScopeFrame {
  readonly metadata: Readonly<Metadata>;
}

// One store per realm, shared by duplicate installs of the package so scopes cross them.
const store = realmSingleton("tagalong.scope-store", () => createScopeStore<ScopeFrame>());

const EMPTY: Metadata = Object.freeze({});

/** Options of `withMetadata()`. */
export interface WithMetadataOptions {
  /** What to do with a field that breaks a rule: throw (default), or drop it and warn. */
  onInvalid?: "throw" | "drop";
}

/**
 * Runs `fn` in a scope: every call made inside it, across awaits, timers and streams, carries
 * this metadata merged over the scopes around it. Bad metadata throws before `fn` runs.
 * @example
 * await withMetadata({ user: "u_42", session: "s_1" }, async () => {
 *   await client.chat.completions.create({ model: "gpt-4o-mini", messages }); // carries user and session
 * });
 */
export function withMetadata<T>(metadata: Metadata, fn: () => T, options: WithMetadataOptions = {}): T {
  let checked = metadata;
  const issues = checkMetadata(metadata);
  if (issues.length > 0) {
    if (options.onInvalid !== "drop") throw new InvalidMetadataError(issues);
    console.warn(`[tagalong] dropped invalid metadata: ${new InvalidMetadataError(issues).message}`);
    checked = withoutIssues(metadata, issues);
  }
  const parent = store.getStore();
  const frame: ScopeFrame = { metadata: freezeMetadata(mergeMetadata(parent?.metadata, checked)) };
  return store.run(frame, fn);
}

/** The merged metadata of the current scope (frozen); `{}` outside any scope. */
export function currentMetadata(): Metadata {
  return store.getStore()?.metadata ?? EMPTY;
}

/**
 * Whether scopes follow async work here. False only in a runtime with no AsyncLocalStorage (a Worker
 * without nodejs_als/nodejs_compat, a browser): there `withMetadata` covers synchronous code only, so
 * pass per-call metadata to each call instead.
 */
export function scopesFollowAsync(): boolean {
  return store.async;
}

/** The current scope's frame, a stable identity adapters and destinations may cache against. */
export function currentScope(): ScopeFrame | undefined {
  return store.getStore();
}
