// What happens to a field a rule refuses: it is left out (of one destination's form, or of every one
// for the model's own rules), announced once per (destination, field, rule) through the logger, and
// counted for stats(). One routine serves every policy and every strength of metadata.
import { formatIssue } from "./errors";
import type { Logger, Metadata, MetadataIssue, PromptRef } from "./types";

/** `m` without the values the issues name (by their paths); `m` itself when nothing is named. */
export function leaveOut(m: Readonly<Metadata>, issues: readonly MetadataIssue[]): Metadata {
  if (issues.length === 0) return m;
  const out: Metadata = { ...m };
  let tags: Set<number> | undefined;
  let extra: Set<string> | undefined;
  let prompt: PromptRef | undefined;
  for (const { path } of issues) {
    if (path === "(root)") return {};
    if (path.startsWith("extra.")) {
      (extra ??= new Set()).add(path.slice("extra.".length));
    } else if (path.startsWith("tags[")) {
      (tags ??= new Set()).add(Number(path.slice("tags[".length, -1)));
    } else if (path === "prompt.label" || path === "prompt.version") {
      if (out.prompt !== undefined) {
        prompt ??= { ...out.prompt };
        delete prompt[path === "prompt.label" ? "label" : "version"];
      }
    } else {
      const field = path.split(/[.[]/, 1)[0] as keyof Metadata;
      delete out[field];
    }
  }
  if (extra !== undefined && out.extra !== undefined) {
    // Built key by key: a spread of a large extra, once a key has been deleted from it, costs ms.
    const kept: NonNullable<Metadata["extra"]> = {};
    for (const key in out.extra) if (!extra.has(key)) kept[key] = out.extra[key]!;
    out.extra = kept;
  }
  if (prompt !== undefined && out.prompt !== undefined) out.prompt = prompt;
  if (tags !== undefined && out.tags !== undefined) {
    const kept = out.tags.filter((_, i) => !tags.has(i));
    if (kept.length > 0) out.tags = kept;
    else delete out.tags;
  }
  return out;
}

/** Counts per destination: calls it carried metadata for, and fields it left out, by rule. */
export interface CallStats {
  /** Calls this destination tagged (in flight) or recorded. */
  tagged: number;
  /** Fields left out of this destination's form, by rule code (`max-length`, `ascii`, `type`, ...). */
  leftOut: Record<string, number>;
}

// Enough distinct (destination, field, rule) warnings to see every problem, not enough to grow forever
// on random extra keys.
const MAX_WARNED = 1000;

/** Warns once per (destination, field, rule) and counts every left-out field per destination. */
export function createLedger(
  logger: Logger,
  names: readonly string[],
  /** The destinations a call is tagged for when it is prepared (the rest count when they record). */
  taggedWhenPrepared: readonly string[] = names,
) {
  const warned = new Set<string>();
  const stats = new Map<string, CallStats>(names.map((name) => [name, { tagged: 0, leftOut: {} }]));
  const prepared = taggedWhenPrepared.map((name) => stats.get(name)!);
  const count = (name: string, code: string): void => {
    const s = stats.get(name);
    if (s) s.leftOut[code] = (s.leftOut[code] ?? 0) + 1;
  };
  return {
    stats,
    /** One more call prepared: tagged by every destination that does not count its records instead. */
    taggedAll(): void {
      for (const s of prepared) s.tagged++;
    },
    tagged(name: string): void {
      const s = stats.get(name);
      if (s) s.tagged++;
    },
    /** Counts the issue (a model issue for every destination) and warns if it is new. */
    leftOut(issue: MetadataIssue, note = ""): void {
      const code = issue.code ?? "rule";
      if (issue.destination === undefined) for (const name of names) count(name, code);
      else count(issue.destination, code);
      this.announce(issue, note);
    },
    /** Warns about the issue if it is new, without counting it. */
    announce(issue: MetadataIssue, note = ""): void {
      const code = issue.code ?? "rule";
      const key = `${issue.destination ?? ""}\u0000${issue.path}\u0000${code}`;
      if (warned.has(key) || warned.size > MAX_WARNED) return;
      warned.add(key);
      if (warned.size > MAX_WARNED) {
        logger.warn(
          `${MAX_WARNED} different fields left out so far, each warned about once: further ones are not warned about, only counted in stats()`,
        );
        return;
      }
      const where = issue.destination === undefined ? "every destination" : `${issue.destination}'s form`;
      logger.warn(
        `left out of ${where}${note}: ${formatIssue({ ...issue, destination: undefined })} (said once per field and rule)`,
      );
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
