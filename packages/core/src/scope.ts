import { realmSingleton } from "./adapter-kit/realm";
import { InvalidMetadataError, TagalongError } from "./errors";
import { markRefused, mergeLayer } from "./merge";
import { checkOptions, throwsOnInvalid } from "./options";
import { createScopeStore } from "./scope-store";
import type { Metadata, MetadataIssue } from "./types";
import { readMetadata } from "./validate";

/** One level of `withMetadata`: the merged metadata of this scope and every scope around it. */
export interface ScopeFrame {
  readonly metadata: Readonly<Metadata>;
  /**
   * What the model's rules refused in this scope and the ones around it (left out of `metadata`);
   * each Tagalong reports them through its own logger and policy when a call uses the scope.
   */
  readonly issues: readonly MetadataIssue[];
  /**
   * One Tagalong's state for this scope (the form its calls without metadata of their own share):
   * kept on the frame, so it lives and dies with the scope, which a WeakMap entry would not.
   */
  cache?: { readonly owner: object };
}

// One store per realm, shared by duplicate installs of the package so scopes cross them.
const store = realmSingleton("tagalong.scope-store", () => createScopeStore<ScopeFrame>());

const EMPTY: Metadata = Object.freeze({});
const NO_ISSUES: readonly MetadataIssue[] = Object.freeze([]);

/** Options of `withMetadata()`. */
export interface WithMetadataOptions {
  /**
   * What to do with a field the model's rules refuse: leave it out, and let each Tagalong warn about
   * it through its logger when a call is made (`"drop"`, the default); or throw an
   * InvalidMetadataError before `fn` runs (`"throw"`).
   */
  onInvalid?: "throw" | "drop";
}

/** Freezes a snapshot Tagalong took itself (its objects are its own). */
export function freezeSnapshot(m: Metadata): Readonly<Metadata> {
  if (m.tags) Object.freeze(m.tags);
  if (m.extra) Object.freeze(m.extra);
  if (m.prompt) {
    if (m.prompt.variables) Object.freeze(m.prompt.variables);
    Object.freeze(m.prompt);
  }
  return Object.freeze(m);
}

/**
 * Runs `fn` in a scope: every call made inside it, across awaits, timers and streams, carries
 * this metadata merged over the scopes around it. The metadata is read once, here.
 * @example
 * await withMetadata({ user: "u_42", session: "s_1" }, async () => {
 *   await client.chat.completions.create({ model: "gpt-4o-mini", messages }); // carries user and session
 * });
 */
export function withMetadata<T>(metadata: Metadata, fn: () => T, options?: WithMetadataOptions): T {
  if (typeof fn !== "function") {
    throw new TagalongError(
      `withMetadata(metadata, fn): fn must be the function to run in the scope, got ${fn === null ? "null" : typeof fn}`,
    );
  }
  checkOptions("withMetadata", options, ["onInvalid"]);
  const strict = throwsOnInvalid("withMetadata", options?.onInvalid);
  const { metadata: snapshot, issues } = readMetadata(metadata);
  if (issues.length > 0 && strict) throw new InvalidMetadataError(issues);
  const parent = store.getStore();
  const frame: ScopeFrame = {
    metadata: mergeLayer(parent?.metadata ?? EMPTY, freezeSnapshot(markRefused(snapshot, issues))),
    issues:
      issues.length === 0
        ? (parent?.issues ?? NO_ISSUES)
        : Object.freeze([...(parent?.issues ?? []), ...issues]),
    cache: undefined,
  };
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
