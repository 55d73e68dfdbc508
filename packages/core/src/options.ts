import type { DeliveryOptions } from "./delivery";
import { TagalongError } from "./errors";

/** Edit distance between two short strings (option names), for did-you-mean hints. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The known name closest to `name` (case-insensitive, or within a few edits), if any is close. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Refuses an options object that is not a plain object or that has a key the receiver does not know
 * (a misspelling in plain JavaScript would otherwise be ignored without a word): a TagalongError
 * naming the key, with a did-you-mean when a known key is close.
 */
export function checkOptions(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TagalongError(
      `${where}: options must be an object, got ${options === null ? "null" : typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = didYouMean(key, known);
    const list = known.length ? `; known options: ${known.join(", ")}` : "; it takes no options";
    throw new TagalongError(
      `${where}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}${list}`,
    );
  }
}

/**
 * Refuses options set to a value of the wrong kind, with a TagalongError naming the option and its
 * rule: a boolean, a function, or a number at least the rule's (never NaN nor a numeric string;
 * Infinity passes, as no limit). An option left out (undefined) passes.
 */
export function checkValues(
  where: string,
  options: object | undefined,
  rules: Record<string, "boolean" | "function" | number>,
): void {
  for (const name in rules) {
    const value = (options as Record<string, unknown> | undefined)?.[name];
    const rule = rules[name]!;
    if (
      value === undefined ||
      (typeof rule === "number" ? typeof value === "number" && value >= rule : typeof value === rule)
    )
      continue;
    // An object or a function by its type (not its text), any other value as it reads.
    const got =
      typeof value === "string"
        ? JSON.stringify(value)
        : Object(value) === value
          ? typeof value
          : String(value);
    throw new TagalongError(
      `${where}: ${name} must be ${rule === "boolean" ? "a boolean" : rule === "function" ? "a function" : `a number >= ${rule}`}, got ${got}`,
    );
  }
}

/** Whether `onInvalid` says "throw"; a value other than "throw", "drop" or none is a TagalongError. */
export function throwsOnInvalid(where: string, onInvalid: unknown): boolean {
  if (onInvalid !== undefined && onInvalid !== "throw" && onInvalid !== "drop") {
    throw new TagalongError(
      `${where}: onInvalid must be "throw" or "drop", got ${JSON.stringify(onInvalid)}`,
    );
  }
  return onInvalid === "throw";
}

// Every delivery option, checked complete against DeliveryOptions by the compiler.
const DELIVERY_OPTIONS = {
  concurrency: true,
  maxQueue: true,
  maxRetryMs: true,
  maxAttempts: true,
  timeoutMs: true,
  backoffMs: true,
  maxBackoffMs: true,
  maxRetryAfterMs: true,
  exitTimeoutMs: true,
  lingerMs: true,
  waitUntilMs: true,
  fetch: true,
} satisfies Record<keyof DeliveryOptions, true>;

/** The option names every after-the-call destination takes for its delivery queue. */
export const DELIVERY_OPTION_KEYS: readonly string[] = Object.keys(DELIVERY_OPTIONS);
