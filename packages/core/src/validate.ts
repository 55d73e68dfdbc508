// The model's own rules, applied while taking a snapshot: each property of the caller's object is read
// exactly once, so what is checked is what is encoded (a getter cannot answer differently later, and
// one that throws is a broken rule like any other). Destinations' rules live in the destinations.
import { isPlainObject } from "./adapter-kit/objects";
import { didYouMean } from "./options";
import type { ExtraValue, Metadata, MetadataIssue, PromptRef } from "./types";

/** The model's string fields, in the order of their bits. */
export const STRING_FIELDS = ["user", "session", "trace", "environment", "organization"] as const;
const TAGS = 1 << 5;
const PROMPT = 1 << 6;
const EXTRA = 1 << 7;

/** Each field's bit (a string field's is 1 << its index in STRING_FIELDS). */
const FIELD_BITS: Readonly<Record<string, number>> = {
  user: 1,
  session: 2,
  trace: 4,
  environment: 8,
  organization: 16,
  tags: TAGS,
  prompt: PROMPT,
  extra: EXTRA,
};

/** A metadata field's bit; 0 for any other key. */
const fieldBit = (key: string): number => (Object.hasOwn(FIELD_BITS, key) ? FIELD_BITS[key]! : 0);
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

const FIELDS = Object.keys(FIELD_BITS);

/**
 * The field an unknown key most likely means: a field's name in another case or with a suffix
 * (`User`, `sessionID`, `userName`), or misspelt (`sesion`; its first letter right, so that a name
 * merely close to a field's, `version`, is not taken for it).
 */
function fieldLike(key: string): string | undefined {
  const lower = key.toLowerCase();
  return (
    FIELDS.find((field) => lower.startsWith(field)) ??
    didYouMean(
      key,
      FIELDS.filter((field) => field[0] === lower[0]),
    )
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "bigint") return "a BigInt";
  if (typeof value === "object") {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
      ?.name;
    return typeof name === "string" && name !== "Object" ? `a ${name}` : "an object";
  }
  if (typeof value === "undefined") return "an undefined";
  return `a ${typeof value}`;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type WellFormed = { isWellFormed(): boolean };

/** Whether a string is well-formed UTF-16 (no lone surrogate), so every encoder can carry it. */
export const isWellFormed: (text: string) => boolean =
  typeof (String.prototype as Partial<WellFormed>).isWellFormed === "function"
    ? (text) => (text as unknown as WellFormed).isWellFormed()
    : (text) => !LONE_SURROGATE.test(text);

/**
 * Reads `object[key]` once; a throwing getter becomes an issue instead of reaching the caller, and the
 * value reads as absent (undefined), the issue already said.
 */
function read(object: Record<string, unknown>, key: string, path: string, issues: MetadataIssue[]): unknown {
  try {
    return object[key];
  } catch (error) {
    unreadable(path, error, issues);
    return UNREADABLE;
  }
}

function unreadable(path: string, error: unknown, issues: MetadataIssue[]): void {
  const said = error instanceof Error ? error.message : String(error);
  issues.push({ path, rule: `could not be read (${said.slice(0, 200)})`, code: "unreadable" });
}

/** A well-formed non-empty string: what most values are, checked without building their path. */
const isText = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && isWellFormed(value);

const UNREADABLE = Symbol("unreadable");

function keysOf(object: object, path: string, issues: MetadataIssue[]): string[] {
  try {
    return Object.keys(object);
  } catch (error) {
    const said = error instanceof Error ? error.message : String(error);
    issues.push({ path, rule: `could not be read (${said.slice(0, 200)})`, code: "unreadable" });
    return [];
  }
}

function text(value: unknown, path: string, issues: MetadataIssue[]): string | undefined {
  if (isText(value)) return value;
  if (typeof value !== "string") {
    issues.push({ path, rule: `must be a string, got ${describe(value)}`, code: "type" });
  } else if (value.length === 0) {
    issues.push({ path, rule: "must not be empty", code: "empty" });
  } else {
    issues.push({ path, rule: "must be well-formed text (it has a lone UTF-16 surrogate)", code: "utf16" });
  }
  return undefined;
}

/** Whether `name` can be a key of `parent`; the issue's path (`parent.name`) is built only for an issue. */
function key(name: string, parent: string, issues: MetadataIssue[]): boolean {
  if (name.length > 0 && name !== "__proto__" && isWellFormed(name)) return true;
  const path = `${parent}.${name}`;
  if (name.length === 0) issues.push({ path, rule: "key must not be empty", code: "empty" });
  else if (name === "__proto__")
    issues.push({
      path,
      rule: "key __proto__ is not carried (JavaScript objects on the way would swallow it): rename it",
      code: "proto-key",
    });
  else
    issues.push({
      path,
      rule: "key must be well-formed text (it has a lone UTF-16 surrogate)",
      code: "utf16",
    });
  return false;
}

function readPrompt(value: unknown, issues: MetadataIssue[]): PromptRef | undefined {
  if (!isPlainObject(value)) {
    issues.push({
      path: "prompt",
      rule: `must be an object with a name, got ${describe(value)}`,
      code: "type",
    });
    return undefined;
  }
  const before = issues.length;
  for (const k of keysOf(value, "prompt", issues)) {
    if (!PROMPT_FIELDS.includes(k))
      issues.push({ path: `prompt.${k}`, rule: "is not a prompt field", code: "unknown-field" });
  }
  const rawName = read(value, "name", "prompt.name", issues);
  if (rawName === UNREADABLE) return undefined;
  const name =
    rawName === undefined
      ? void issues.push({ path: "prompt.name", rule: "is required", code: "required" })
      : text(rawName, "prompt.name", issues);
  // A prompt without its name, or with a field it does not know, is left out whole.
  if (name === undefined || issues.length > before) return undefined;
  const out: PromptRef = { name };
  const version = read(value, "version", "prompt.version", issues);
  if (version !== undefined && version !== UNREADABLE) {
    if (Number.isSafeInteger(version) && (version as number) >= 1) out.version = version as number;
    else
      issues.push({
        path: "prompt.version",
        rule: `must be an integer >= 1, got ${describe(version)}`,
        code: "type",
      });
  }
  const label = read(value, "label", "prompt.label", issues);
  if (label !== undefined && label !== UNREADABLE) {
    const checked = text(label, "prompt.label", issues);
    if (checked !== undefined) out.label = checked;
  }
  const variables = read(value, "variables", "prompt.variables", issues);
  // A prompt with any bad field is left out whole: half of one would name another template.
  if (variables !== undefined && variables !== UNREADABLE) {
    if (!isPlainObject(variables)) {
      issues.push({
        path: "prompt.variables",
        rule: `must be an object of strings, got ${describe(variables)}`,
        code: "type",
      });
    } else {
      const vars: Record<string, string> = {};
      for (const k of keysOf(variables, "prompt.variables", issues)) {
        if (!key(k, "prompt.variables", issues)) continue;
        const path = `prompt.variables.${k}`;
        const v = read(variables, k, path, issues);
        if (v === UNREADABLE || v === undefined) continue;
        if (typeof v !== "string")
          issues.push({ path, rule: `must be a string, got ${describe(v)}`, code: "type" });
        else if (!isWellFormed(v))
          issues.push({
            path,
            rule: "must be well-formed text (it has a lone UTF-16 surrogate)",
            code: "utf16",
          });
        else vars[k] = v;
      }
      out.variables = vars;
    }
  }
  return issues.length > before ? undefined : out;
}

function readExtra(value: unknown, issues: MetadataIssue[]): Record<string, ExtraValue> | undefined {
  if (!isPlainObject(value)) {
    issues.push({ path: "extra", rule: `must be an object, got ${describe(value)}`, code: "type" });
    return undefined;
  }
  const out: Record<string, ExtraValue> = {};
  // Each key's path is built only for an issue: this runs on every call.
  for (const k of keysOf(value, "extra", issues)) {
    if (!key(k, "extra", issues)) continue;
    let v: unknown;
    try {
      v = value[k];
    } catch (error) {
      unreadable(`extra.${k}`, error, issues);
      continue;
    }
    // A key set to undefined is absent, as it is for the fields themselves (and for JSON).
    if (v === undefined) continue;
    if (typeof v === "string") {
      if (isWellFormed(v)) out[k] = v;
      else
        issues.push({
          path: `extra.${k}`,
          rule: "must be well-formed text (it has a lone UTF-16 surrogate)",
          code: "utf16",
        });
    } else if (typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) {
      out[k] = v;
    } else {
      issues.push({
        path: `extra.${k}`,
        rule: `must be a string, a finite number or a boolean, got ${describe(v)}`,
        code: "type",
      });
    }
  }
  return out;
}

/**
 * A snapshot of `value` holding every field that keeps the model's rules, and an issue for every one
 * that breaks them (those are left out of the snapshot). Never throws, whatever `value` is.
 */
export function readMetadata(value: unknown): { metadata: Metadata; issues: MetadataIssue[] } {
  try {
    return readFields(value);
  } catch (error) {
    // A hostile object (a revoked Proxy, a throwing prototype trap): nothing of it is carried.
    const said = error instanceof Error ? error.message : String(error);
    return {
      metadata: {},
      issues: [{ path: "(root)", rule: `could not be read (${said.slice(0, 200)})`, code: "unreadable" }],
    };
  }
}

function readFields(value: unknown): { metadata: Metadata; issues: MetadataIssue[] } {
  const issues: MetadataIssue[] = [];
  const metadata: Metadata = {};
  if (!isPlainObject(value)) {
    issues.push({ path: "(root)", rule: `must be a plain object, got ${describe(value)}`, code: "type" });
    return { metadata, issues };
  }
  // One pass over the keys says which fields are there; only those are read (a field is its own
  // enumerable key, as Object.keys and a spread see it: nothing is taken from a prototype).
  let present = 0;
  const keys = keysOf(value, "(root)", issues);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const bit = fieldBit(k);
    if (bit !== 0) present |= bit;
    else {
      const field = Object.hasOwn(ALIASES, k) ? ALIASES[k] : fieldLike(k);
      const hint = field !== undefined ? ` (did you mean ${field}?)` : " (custom keys go in extra)";
      issues.push({ path: k, rule: `is not a metadata field${hint}`, code: "unknown-field" });
    }
  }
  for (let j = 0; j < STRING_FIELDS.length; j++) {
    if ((present & (1 << j)) === 0) continue;
    const field = STRING_FIELDS[j]!;
    const v = read(value, field, field, issues);
    if (v === undefined || v === UNREADABLE) continue;
    const checked = text(v, field, issues);
    if (checked !== undefined) metadata[field] = checked;
  }
  const tags = present & TAGS ? read(value, "tags", "tags", issues) : undefined;
  if (tags !== undefined && tags !== UNREADABLE) {
    if (!Array.isArray(tags)) {
      issues.push({ path: "tags", rule: `must be an array of strings, got ${describe(tags)}`, code: "type" });
    } else {
      // Tags are a set in order: a repeat is dropped here, in every layer, as merging drops one across layers.
      const kept: string[] = [];
      const length = tags.length;
      const seen = length > 16 ? new Set<string>() : undefined;
      // Each tag's path is built only for an issue: this runs on every call.
      for (let i = 0; i < length; i++) {
        let tag: unknown;
        try {
          tag = tags[i];
        } catch (error) {
          unreadable(`tags[${i}]`, error, issues);
          continue;
        }
        if (!isText(tag)) {
          text(tag, `tags[${i}]`, issues);
          continue;
        }
        if (seen ? seen.has(tag) : kept.includes(tag)) continue;
        kept.push(tag);
        seen?.add(tag);
      }
      metadata.tags = kept;
    }
  }
  const prompt = present & PROMPT ? read(value, "prompt", "prompt", issues) : undefined;
  if (prompt !== undefined && prompt !== UNREADABLE) {
    const checked = readPrompt(prompt, issues);
    if (checked !== undefined) metadata.prompt = checked;
  }
  const extra = present & EXTRA ? read(value, "extra", "extra", issues) : undefined;
  if (extra !== undefined && extra !== UNREADABLE) {
    const checked = readExtra(extra, issues);
    if (checked !== undefined) metadata.extra = checked;
  }
  return { metadata, issues };
}

/**
 * The model's rules (docs/metadata.md), independent of any destination: every broken one, or none. Every value
 * must be as the `Metadata` type says: non-empty well-formed strings, finite numbers and booleans in
 * plain objects and arrays.
 */
export function checkMetadata(value: unknown): MetadataIssue[] {
  return readMetadata(value).issues;
}
