import { isPlainObject } from "./adapter-kit/objects";
import type { Metadata, MetadataIssue } from "./types";

const FIELDS = [
  "user",
  "session",
  "trace",
  "environment",
  "organization",
  "tags",
  "prompt",
  "extra",
] as const;
const STRING_FIELDS = ["user", "session", "trace", "environment", "organization"] as const;
const PROMPT_FIELDS = ["name", "version", "label", "variables"];
const ALIASES: Record<string, string> = {
  organisation: "organization",
  org: "organization",
  userId: "user",
  user_id: "user",
  sessionId: "session",
  session_id: "session",
  traceId: "trace",
  trace_id: "trace",
  env: "environment",
  tag: "tags",
  metadata: "extra",
};

export const PROMPT_LABEL_MAX = 512;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "bigint") return "a BigInt";
  if (typeof value === "object" || typeof value === "undefined") return `an ${typeof value}`;
  return `a ${typeof value}`;
}

function checkString(value: unknown, path: string, issues: MetadataIssue[]): void {
  if (typeof value !== "string") issues.push({ path, rule: `must be a string, got ${describe(value)}` });
  else if (value.length === 0) issues.push({ path, rule: "must not be empty" });
}

function checkStringRecord(value: unknown, path: string, issues: MetadataIssue[]): void {
  if (!isPlainObject(value)) {
    issues.push({ path, rule: `must be an object of strings, got ${describe(value)}` });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string")
      issues.push({ path: `${path}.${key}`, rule: `must be a string, got ${describe(v)}` });
  }
}

/**
 * The model's own rules (docs/metadata.md), independent of any destination. Every value must be
 * JSON-serialisable as given: strings, finite numbers and booleans in plain objects and arrays.
 */
export function checkMetadata(value: unknown): MetadataIssue[] {
  const issues: MetadataIssue[] = [];
  if (!isPlainObject(value)) {
    return [{ path: "(root)", rule: `must be a plain object, got ${describe(value)}` }];
  }
  for (const key of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      const hint = ALIASES[key] ? ` (did you mean ${ALIASES[key]}?)` : " (custom keys go in extra)";
      issues.push({ path: key, rule: `is not a metadata field${hint}` });
    }
  }
  for (const field of STRING_FIELDS) {
    if (value[field] !== undefined) checkString(value[field], field, issues);
  }
  const tags = value.tags;
  if (tags !== undefined) {
    if (!Array.isArray(tags))
      issues.push({ path: "tags", rule: `must be an array of strings, got ${describe(tags)}` });
    else for (const [i, tag] of tags.entries()) checkString(tag, `tags[${i}]`, issues);
  }
  const prompt = value.prompt;
  if (prompt !== undefined) {
    if (!isPlainObject(prompt)) {
      issues.push({ path: "prompt", rule: `must be an object with a name, got ${describe(prompt)}` });
    } else {
      for (const key of Object.keys(prompt)) {
        if (!PROMPT_FIELDS.includes(key))
          issues.push({ path: `prompt.${key}`, rule: "is not a prompt field" });
      }
      if (prompt.name === undefined) issues.push({ path: "prompt.name", rule: "is required" });
      else checkString(prompt.name, "prompt.name", issues);
      const { version, label } = prompt;
      if (version !== undefined && label !== undefined) {
        issues.push({ path: "prompt.label", rule: "must not be set together with prompt.version" });
      }
      if (version !== undefined && !(Number.isSafeInteger(version) && (version as number) >= 1)) {
        issues.push({ path: "prompt.version", rule: `must be an integer >= 1, got ${describe(version)}` });
      }
      if (label !== undefined) {
        if (typeof label !== "string") {
          issues.push({ path: "prompt.label", rule: `must be a string, got ${describe(label)}` });
        } else if (label.length < 1 || label.length > PROMPT_LABEL_MAX) {
          issues.push({
            path: "prompt.label",
            rule: `must be 1..${PROMPT_LABEL_MAX} chars, got ${label.length}`,
          });
        }
      }
      if (prompt.variables !== undefined) checkStringRecord(prompt.variables, "prompt.variables", issues);
    }
  }
  const extra = value.extra;
  if (extra !== undefined) {
    if (!isPlainObject(extra)) {
      issues.push({ path: "extra", rule: `must be an object, got ${describe(extra)}` });
    } else {
      for (const [key, v] of Object.entries(extra)) {
        const path = `extra.${key}`;
        if (key.length === 0) issues.push({ path, rule: "key must not be empty" });
        if (typeof v === "string" || typeof v === "boolean") continue;
        if (typeof v === "number" && Number.isFinite(v)) continue;
        issues.push({ path, rule: `must be a string, a finite number or a boolean, got ${describe(v)}` });
      }
    }
  }
  return issues;
}

/** Metadata without the fields the issues name: the "drop" policy's repair. */
export function withoutIssues(metadata: Metadata, issues: readonly MetadataIssue[]): Metadata {
  const out: Record<string, unknown> = { ...(metadata as Record<string, unknown>) };
  const droppedTags = new Set<number>();
  const droppedExtra = new Set<string>();
  for (const { path } of issues) {
    const tag = /^tags\[(\d+)\]$/.exec(path);
    if (tag) droppedTags.add(Number(tag[1]));
    else if (path.startsWith("extra.")) droppedExtra.add(path.slice("extra.".length));
    else if (path === "(root)") return {};
    else delete out[path.split(/[.[]/, 1)[0]!];
  }
  if (droppedTags.size && Array.isArray(out.tags)) out.tags = out.tags.filter((_, i) => !droppedTags.has(i));
  if (droppedExtra.size && isPlainObject(out.extra)) {
    out.extra = Object.fromEntries(Object.entries(out.extra).filter(([k]) => !droppedExtra.has(k)));
  }
  return out as Metadata;
}
