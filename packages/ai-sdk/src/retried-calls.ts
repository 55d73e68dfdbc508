import type { Metadata } from "@tagalong/core";
import { unref } from "@tagalong/core/adapter";
import type { CallParams, ModelInfo } from "./spec";

/**
 * The AI SDK retries a failed attempt above the model (maxRetries, default 2), with the same objects:
 * a failure it may retry is recorded as provisional, superseded when the next attempt of that call
 * starts (the call is then logged once, from the first attempt's start), final otherwise.
 */
interface Provisional {
  readonly startTime: number;
  readonly values: readonly unknown[] | undefined;
  readonly metadata: Metadata;
  settle(final: boolean): void;
}
const provisional = new WeakMap<object, Provisional[]>();
// Longer than the SDK waits between attempts: its backoff (2 s, 4 s, ...) or a Retry-After up to 60 s.
const RETRY_WINDOW_MS = 65_000;

/**
 * What the SDK hands again to each attempt of one call, and to no other call (taken from the params
 * the caller gave): the prompt array it builds once per call, and the headers object it builds once
 * per call when it builds one (its user agent names `ai/<version>`: generateText, generateObject and
 * embed do; streamText in ai 5 and 6 hands on the caller's own, which two calls may share). A
 * middleware outside ours may rebuild the prompt per attempt (a RAG middleware) or the headers (a
 * request id), so an attempt matches by either; embed() rebuilds its `values` per attempt. ai 7's
 * streamText (a V4 model's call without the SDK's headers) converts the prompt for every attempt and
 * hands on the caller's headers, which two calls may share, or none: its attempts are matched under
 * the model itself. Attempts under one key are also told apart by their content (`retryContent`) and
 * their metadata: embedMany's parallel chunks share the headers, and two calls of one model the
 * prompt text.
 */
export function retryKeys(params: CallParams, model: ModelInfo): readonly object[] {
  const sdkHeaders = /\bai\/\d/.test(params.headers?.["user-agent"] ?? "") ? params.headers : undefined;
  const perCall = sdkHeaders ?? (model.specificationVersion === "v4" ? model : undefined);
  const keys = [params.prompt, perCall].filter((key) => key !== undefined);
  return keys.length > 0 ? keys : [params];
}

/** What one attempt asks for: an embedding call's values, a language call's prompt. */
export const retryContent = (params: CallParams): readonly unknown[] | undefined =>
  params.values ?? params.prompt;

const sameJson = (a: unknown, b: unknown): boolean => {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
};

const sameValues = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean => {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return a.every((value, i) => value === b[i]) || sameJson(a, b);
};

/** Whether a provisional failure is an earlier attempt of the call that asks for `values` with `metadata`. */
const sameCall = (entry: Provisional, values: readonly unknown[] | undefined, metadata: Metadata): boolean =>
  sameValues(entry.values, values) && (entry.metadata === metadata || sameJson(entry.metadata, metadata));

/** Whether the AI SDK may retry after this error (what its retry loop checks). */
export const mayBeRetried = (error: unknown): boolean =>
  (error as { isRetryable?: unknown } | undefined)?.isRetryable === true;

/** The earlier attempt of this call, superseded now that another starts: its start time, if any. */
export function supersede(
  keys: readonly object[],
  values: readonly unknown[] | undefined,
  metadata: Metadata,
): number | undefined {
  for (const key of keys) {
    const earlier = provisional.get(key)?.find((entry) => sameCall(entry, values, metadata));
    if (earlier === undefined) continue;
    earlier.settle(false);
    return earlier.startTime;
  }
  return undefined;
}

/** An attempt's failure held for the SDK's retry: `final` resolves false if the next attempt supersedes it. */
export interface HeldFailure {
  readonly final: PromiseLike<boolean>;
  /** Settles it now (once; later calls do nothing): final, or superseded. */
  settle(final: boolean): void;
}

/** Holds an attempt's failure the SDK may retry until its next attempt starts, or for RETRY_WINDOW_MS. */
export function provisionalOutcome(
  keys: readonly object[],
  values: readonly unknown[] | undefined,
  metadata: Metadata,
  startTime: number,
): HeldFailure {
  let settle!: (final: boolean) => void;
  const final = new Promise<boolean>((resolve) => {
    let settled = false;
    const timer = unref(setTimeout(() => settle(true), RETRY_WINDOW_MS));
    settle = (final: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const key of keys) {
        const waiting = provisional.get(key);
        if (waiting === undefined) continue;
        waiting.splice(waiting.indexOf(entry), 1);
        if (waiting.length === 0) provisional.delete(key);
      }
      resolve(final);
    };
    const entry: Provisional = { startTime, values, metadata, settle };
    for (const key of keys) {
      const waiting = provisional.get(key);
      if (waiting === undefined) provisional.set(key, [entry]);
      else waiting.push(entry);
    }
  });
  return { final, settle };
}
