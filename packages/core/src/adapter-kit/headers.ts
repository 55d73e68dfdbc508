// Adding Tagalong's headers to the headers a caller gave, in whichever shape the caller gave them
// (`fetch`'s HeadersInit: a `Headers`, [name, value] pairs or a record). A header the caller set
// wins: ours is left out. A `null` value ("send no such header", as the OpenAI SDK reads it) counts as
// set; an `undefined` one counts as not set, as every SDK skips it.

type HeaderPairs = ReadonlyArray<readonly [string, string | null | undefined]>;
type HeaderRecord = Readonly<Record<string, string | null | undefined>>;

const NO_NAMES: ReadonlySet<string> = new Set();

/** Calls `visit` with every header name (lowercased) that `headers` sets or removes. */
export function eachHeaderName(headers: unknown, visit: (lowerName: string) => void): void {
  if (headers === null || typeof headers !== "object") return;
  if (headers instanceof Headers) {
    headers.forEach((_, name) => {
      visit(name);
    });
  } else if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (Array.isArray(pair) && pair[1] !== undefined) visit(String(pair[0]).toLowerCase());
    }
  } else {
    const record = headers as Record<string, unknown>;
    for (const name in record) if (record[name] !== undefined) visit(name.toLowerCase());
  }
}

/** Our headers that neither `theirs` nor `taken` (lowercased names) sets; undefined when none is left. */
function missing(
  theirs: unknown,
  ours: Readonly<Record<string, string>>,
  taken: ReadonlySet<string>,
): Record<string, string> | undefined {
  let names: Set<string> | undefined;
  let add: Record<string, string> | undefined;
  for (const name in ours) {
    const lower = name.toLowerCase();
    if (taken.has(lower)) continue;
    if (theirs !== undefined && theirs !== null) {
      if (names === undefined) {
        const found = new Set<string>();
        eachHeaderName(theirs, (n) => found.add(n));
        names = found;
      }
      if (names.has(lower)) continue;
    }
    (add ??= {})[name] = ours[name]!;
  }
  return add;
}

/**
 * The caller's headers with ours added where the caller (or `taken`, e.g. a client's default headers)
 * set no header of that name, compared case-insensitively. Returns the same shape it was given (a
 * record for none: `ours` itself when nothing is taken), `theirs` itself when nothing is added, and
 * never changes the caller's object.
 */
export function mergeHeaders(
  theirs: Headers,
  ours: Readonly<Record<string, string>>,
  taken?: ReadonlySet<string>,
): Headers;
export function mergeHeaders<H extends HeaderRecord>(
  theirs: H | undefined,
  ours: Readonly<Record<string, string>>,
  taken?: ReadonlySet<string>,
): H | Record<string, string>;
export function mergeHeaders(
  theirs: unknown,
  ours: Readonly<Record<string, string>>,
  taken?: ReadonlySet<string>,
): unknown;
export function mergeHeaders(
  theirs: unknown,
  ours: Readonly<Record<string, string>>,
  taken: ReadonlySet<string> = NO_NAMES,
): unknown {
  if ((theirs === undefined || theirs === null) && taken.size === 0) return ours;
  const add = missing(theirs, ours, taken);
  if (add === undefined) return theirs;
  if (theirs === undefined || theirs === null) return add;
  if (theirs instanceof Headers) {
    const merged = new Headers(theirs);
    for (const name in add) merged.set(name, add[name]!);
    return merged;
  }
  if (Array.isArray(theirs)) return [...Object.entries(add), ...(theirs as HeaderPairs)];
  // Ours last, so that a name the caller set to `undefined` (skipped by SDKs) does not blank ours out.
  return { ...(theirs as HeaderRecord), ...add };
}
