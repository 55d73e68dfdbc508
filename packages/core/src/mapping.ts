// Destinations declared as data. A destination says where each model field lands on its wire form
// (a header, a key of a JSON header, a key of a body object, a key of what it records) and what the
// receiver limits; `compileMapping` turns that one declaration into the destination's checks (with the
// issue paths and the reserved keys they imply) and its encoder, once, when the destination is made.
import { headerJson, isSafeHeaderValue } from "./header";
import type { ExtraValue, Metadata, MetadataIssue } from "./types";

/** A model field a wire form can carry: the metadata's own fields, and the prompt reference's parts. */
export type MetadataField =
  | "user"
  | "session"
  | "trace"
  | "environment"
  | "organization"
  | "tags"
  | "prompt.name"
  | "prompt.version"
  | "prompt.label";

/** A model field a place can be filled from. */
export type Source = MetadataField;

/** A JSON object of the wire form: a JSON header, a body object, or part of what is recorded. */
export interface ObjectSpec {
  /** The header that carries the object as JSON (escaped to printable ASCII). */
  header?: string;
  /** Where the object sits in the request body: `[]` for the top level, `["requesty", "extra"]`. */
  body?: readonly string[];
  /** Neither: the object is part of what the destination records after the call. */
  record?: true;
  /** Every value becomes a string (`String(value)`). */
  strings?: boolean;
  /** The receiver's longest value, in chars (UTF-16 units). */
  maxLength?: number;
  /** The receiver's longest key of an `extra` entry, in characters as Python counts them (code points). */
  maxKeyLength?: number;
  /** The most entries the receiver keeps. */
  maxEntries?: number;
  /**
   * Past `maxEntries`, which entries stay: the lower an entry's rank, the sooner it comes (default: the
   * places in order, then extra).
   */
  rank?: (key: string, fromExtra: boolean) => number;
  /** Keys the receiver fills itself, besides the ones the model's fields take here. */
  reserved?: readonly string[];
  /** Fixed entries the object always carries (when defined). */
  constants?: Readonly<Record<string, unknown>>;
}

/** Where one model field lands. */
export interface Place {
  from: Source;
  /** An object of `objects`, or "header" for a header of its own (then `key` is the header name). */
  to: string;
  key: string;
  /** Tags only: joined with this separator into one string (otherwise sent as an array). */
  join?: string;
  /** The receiver's longest value for this field, in chars. */
  maxLength?: number;
}

/** Where `extra` lands: every key (or the `only` ones) in one object, or each key as its own header. */
export type ExtraPlace =
  | { to: string; only?: readonly string[] }
  | { header: (key: string) => string; reserved?: readonly string[] };

/** A rule beyond what the places imply, on one model field. */
export type FieldRule = (m: Metadata, issue: (path: string, code: string, rule: string) => void) => void;

/** One destination's wire form, as data. */
export interface Declaration {
  /** The destination's name, e.g. "portkey". */
  name: string;
  /** How the receiver is called in messages, e.g. "Portkey". */
  label: string;
  objects?: Readonly<Record<string, ObjectSpec>>;
  places: readonly Place[];
  extra?: ExtraPlace;
  /** The receiver's own rules beyond its places (e.g. PromptLayer's on prompts), by field. */
  rules?: Partial<Record<"tags" | "prompt", FieldRule>>;
  /** Adds what goes with the encoded form (a copy of a header, a header the receiver needs with it). */
  finish?(form: Form, m: Metadata): void;
}

/** What a declaration encodes: headers, body fields, and every filled object by its name. */
export interface Form {
  headers: Record<string, string>;
  body: Record<string, unknown>;
  objects: Record<string, Record<string, unknown>>;
}

/** The top-level fields a check can refer to; `extra` is checked key by key. */
export type CheckedField = "user" | "session" | "trace" | "environment" | "organization" | "tags" | "prompt";

/** A declaration compiled: checks per field (so a caller can check only what changed) and one encoder. */
export interface CompiledMapping {
  readonly name: string;
  /** Field-level checks of the fields that have any. */
  readonly fieldChecks: ReadonlyArray<
    [field: CheckedField, check: (m: Metadata, out: MetadataIssue[]) => void]
  >;
  /** The check of one `extra` key, when extra lands anywhere. */
  readonly extraKeyCheck?: (key: string, value: ExtraValue, out: MetadataIssue[]) => void;
  /** Rules across fields (entry counts, keys that collide once header names ignore case). */
  readonly wholeCheck?: (m: Metadata, out: MetadataIssue[]) => void;
  /** Every rule on this metadata. */
  check(m: Metadata): MetadataIssue[];
  encode(m: Metadata): Form;
  /**
   * The form of metadata that breaks none of this declaration's rules, checked as it is encoded (one
   * walk, no issue built); `undefined` when any rule would give an issue, and then `check` says which.
   * Exactly `check(m).length === 0 ? encode(m) : undefined`: the fast path of a call's preparation.
   */
  encodeChecked(m: Metadata): Form | undefined;
  /**
   * `encodeChecked` for calls over one base (the defaults, or the defaults and a scope), compiled for it:
   * what the base holds is converted, checked and written as JSON once, here; per call, only what the
   * call's layers changed. A layer merged over the base (`mergeLayer`) shares with it what it leaves
   * alone, so a value the base holds by identity is the base's. For every `m` merged over `base`,
   * `over(base)(m)` is `encodeChecked(m)`, JSON text included. `undefined` when the base breaks a rule,
   * gives fewer than two entries (not worth it: measured slower), or when extra lands in headers of its
   * own (ruled across keys).
   */
  over(base: Metadata): ((m: Metadata) => Form | undefined) | undefined;
}

const FIELD_OF: Record<Source, CheckedField> = {
  user: "user",
  session: "session",
  trace: "trace",
  environment: "environment",
  organization: "organization",
  tags: "tags",
  "prompt.name": "prompt",
  "prompt.version": "prompt",
  "prompt.label": "prompt",
};

type Value = string | number | boolean | string[];

function getter(place: Place): (m: Metadata) => Value | undefined {
  switch (place.from) {
    case "tags": {
      const join = place.join;
      return join === undefined
        ? (m) => (m.tags !== undefined && m.tags.length > 0 ? [...m.tags] : undefined)
        : (m) => (m.tags !== undefined && m.tags.length > 0 ? m.tags.join(join) : undefined);
    }
    case "prompt.name":
      return (m) => m.prompt?.name;
    case "prompt.version":
      return (m) => m.prompt?.version;
    case "prompt.label":
      return (m) => m.prompt?.label;
    default: {
      const field = place.from;
      return (m) => m[field];
    }
  }
}

const lengthOf = (value: ExtraValue): number =>
  typeof value === "string" ? value.length : String(value).length;

/**
 * The characters of `text` as a Python service (PromptLayer) counts them, code points, when it may be
 * past `max`; its UTF-16 length otherwise (never less than its code points).
 */
export function chars(text: string, max: number): number {
  if (text.length <= max) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Compiles a declaration into its checks and its encoder. */
export function compileMapping(d: Declaration): CompiledMapping {
  const { fieldChecks, extraKeyCheck, wholeCheck } = compileChecks(d);
  const check = (m: Metadata): MetadataIssue[] => {
    const out: MetadataIssue[] = [];
    for (const [field, fieldCheck] of fieldChecks) if (m[field] !== undefined) fieldCheck(m, out);
    if (extraKeyCheck && m.extra) for (const key in m.extra) extraKeyCheck(key, m.extra[key]!, out);
    wholeCheck?.(m, out);
    return out;
  };
  return { name: d.name, fieldChecks, extraKeyCheck, wholeCheck, check, ...compileEncoder(d, check) };
}

/** The declaration's checks: per field (from its places and its rules), per extra key, and across fields. */
function compileChecks(
  d: Declaration,
): Pick<CompiledMapping, "fieldChecks" | "extraKeyCheck" | "wholeCheck"> {
  const issue: IssueOf = (path, code, rule) => ({ path, rule, destination: d.name, code });
  return { fieldChecks: compileFieldChecks(d, issue), ...compileExtraChecks(d, issue) };
}

/** An issue of one destination's rules. */
type IssueOf = (path: string, code: string, rule: string) => MetadataIssue;

/** The checks of each model field a place or a rule of `d` reads. */
function compileFieldChecks(d: Declaration, issue: IssueOf): CompiledMapping["fieldChecks"] {
  const objects = d.objects ?? {};
  const { label } = d;
  const byField = new Map<CheckedField, Array<(m: Metadata, out: MetadataIssue[]) => void>>();
  const add = (field: CheckedField, check: (m: Metadata, out: MetadataIssue[]) => void) => {
    const list = byField.get(field) ?? [];
    list.push(check);
    byField.set(field, list);
  };
  for (const place of d.places) {
    const spec = place.to === "header" ? undefined : objects[place.to];
    const max = place.maxLength ?? spec?.maxLength;
    const asHeader = place.to === "header";
    const path = place.from;
    if (place.from === "tags") {
      const { join } = place;
      const where = asHeader ? `the ${place.key} header` : label;
      if (join !== undefined) {
        add("tags", (m, out) => {
          const tags = m.tags;
          if (tags === undefined) return;
          for (let i = 0; i < tags.length; i++) {
            const tag = tags[i]!;
            if (tag.includes(join))
              out.push(
                issue(
                  `tags[${i}]`,
                  "separator",
                  join === ","
                    ? `must not contain a comma (${where} joins tags with commas)`
                    : `must not contain "${join}" (${where} joins tags with it)`,
                ),
              );
            else if (asHeader && !isSafeHeaderValue(tag))
              out.push(issue(`tags[${i}]`, "ascii", `must be printable ASCII to travel as ${where}`));
            else if (asHeader && tag !== tag.trim())
              out.push(
                issue(`tags[${i}]`, "whitespace", `must not start or end with a space: ${where} loses it`),
              );
          }
          if (max !== undefined) {
            let length = join.length * (tags.length - 1);
            for (const tag of tags) length += tag.length;
            if (length > max)
              out.push(issue("tags", "max-length", `${length} chars, ${label} allows ${max}`));
          }
        });
      } else if (max !== undefined) {
        add("tags", (m, out) => {
          m.tags?.forEach((tag, i) => {
            if (tag.length > max)
              out.push(issue(`tags[${i}]`, "max-length", `${tag.length} chars, ${label} allows ${max}`));
          });
        });
      }
      continue;
    }
    const get = getter(place);
    if (asHeader) {
      add(FIELD_OF[place.from], (m, out) => {
        const v = get(m);
        if (v === undefined) return;
        const text = String(v);
        if (!isSafeHeaderValue(text))
          out.push(issue(path, "ascii", `must be printable ASCII to travel as the ${place.key} header`));
        else if (text !== text.trim())
          out.push(
            issue(path, "whitespace", `must not start or end with a space: the ${place.key} header loses it`),
          );
      });
    }
    if (max !== undefined) {
      add(FIELD_OF[place.from], (m, out) => {
        const v = get(m);
        if (v !== undefined && lengthOf(v as ExtraValue) > max)
          out.push(issue(path, "max-length", `${lengthOf(v as ExtraValue)} chars, ${label} allows ${max}`));
      });
    }
  }
  for (const field of ["tags", "prompt"] as const) {
    const rule = d.rules?.[field];
    if (rule) add(field, (m, out) => rule(m, (path, code, text) => out.push(issue(path, code, text))));
  }
  const fieldChecks = [...byField].map(
    ([field, checks]) =>
      [
        field,
        checks.length === 1
          ? checks[0]!
          : (m: Metadata, out: MetadataIssue[]) => {
              for (const check of checks) check(m, out);
            },
      ] as [CheckedField, (m: Metadata, out: MetadataIssue[]) => void],
  );
  return fieldChecks;
}

/**
 * The checks of extra: each key where it lands (reserved keys are the keys the model's fields take in
 * the same place), and the rules across keys and fields (header names that collide, entry counts).
 */
function compileExtraChecks(
  d: Declaration,
  issue: IssueOf,
): Pick<CompiledMapping, "extraKeyCheck" | "wholeCheck"> {
  const objects = d.objects ?? {};
  const { label } = d;
  let extraKeyCheck: CompiledMapping["extraKeyCheck"];
  let wholeCheck: CompiledMapping["wholeCheck"];
  const extra = d.extra;
  if (extra && "to" in extra) {
    const spec = objects[extra.to] ?? {};
    const reserved = reservedKeys(d, extra.to);
    const filled = new Set(d.places.filter((p) => p.to === extra.to).map((p) => p.key));
    const only = extra.only ? new Set(extra.only) : undefined;
    const max = spec.maxLength;
    const maxKey = spec.maxKeyLength;
    const where = spec.header ?? (spec.body ? spec.body.join(".") || "the body" : `${label}'s ${extra.to}`);
    extraKeyCheck = (key, value, out) => {
      if (only !== undefined && !only.has(key)) return;
      if (reserved.has(key))
        out.push(
          issue(
            `extra.${key}`,
            "reserved-key",
            filled.has(key)
              ? `collides with the key "${key}" that ${label} fills from the model in ${where}`
              : `collides with "${key}", a key ${label} defines itself in ${where}`,
          ),
        );
      else if (maxKey !== undefined && chars(key, maxKey) > maxKey)
        out.push(
          issue(
            `extra.${key}`,
            "max-key-length",
            `key of ${chars(key, maxKey)} chars, ${label} allows ${maxKey}`,
          ),
        );
      else if (max !== undefined && lengthOf(value) > max)
        out.push(issue(`extra.${key}`, "max-length", `${lengthOf(value)} chars, ${label} allows ${max}`));
    };
  } else if (extra && "header" in extra) {
    const headerOf = extra.header;
    const reserved = new Set([
      ...d.places.filter((p) => p.to === "header").map((p) => p.key.toLowerCase()),
      ...(extra.reserved ?? []).map((k) => k.toLowerCase()),
    ]);
    extraKeyCheck = (key, value, out) => {
      const path = `extra.${key}`;
      if (!TOKEN.test(key))
        out.push(issue(path, "header-token", "key must be a header token (letters, digits, - and _)"));
      else if (reserved.has(headerOf(key).toLowerCase()))
        out.push(
          issue(
            path,
            "reserved-key",
            `collides with the ${headerOf(key)} header ${label} gets from the model`,
          ),
        );
      else if (!isSafeHeaderValue(String(value)))
        out.push(issue(path, "ascii", `must be printable ASCII to travel as a ${label} header`));
      else if (String(value) !== String(value).trim())
        out.push(issue(path, "whitespace", `must not start or end with a space: a ${label} header loses it`));
    };
    wholeCheck = (m, out) => {
      if (m.extra === undefined) return;
      const seen = new Map<string, string>();
      for (const key in m.extra) {
        const header = headerOf(key).toLowerCase();
        const first = seen.get(header);
        if (first === undefined) seen.set(header, key);
        else
          out.push(
            issue(
              `extra.${key}`,
              "case-collision",
              `lands on the same ${label} header as extra.${first} (header names ignore case)`,
            ),
          );
      }
    };
  }
  const counted = Object.entries(objects).filter(([, spec]) => spec.maxEntries !== undefined);
  if (counted.length > 0) {
    wholeCheck = (m, out) => {
      for (const [object, spec] of counted) {
        const keys = entryKeys(d, object, m);
        if (keys.length <= spec.maxEntries!) continue;
        const list = keys.map(([k]) => k).join(", ");
        keys.forEach(([, path], i) => {
          if (i < spec.maxEntries!) return;
          out.push(
            issue(
              path,
              "max-entries",
              `makes entry ${i + 1} of ${spec.header ?? object} (${list}); ${label} keeps at most ${spec.maxEntries}`,
            ),
          );
        });
      }
    };
  }
  return { extraKeyCheck, wholeCheck };
}

/** The keys an object of `d` would hold for this metadata, each with the model path it comes from. */
function entryKeys(d: Declaration, object: string, m: Metadata): Array<[key: string, path: string]> {
  const extra = d.extra;
  const out: Array<[string, string]> = [];
  for (const place of d.places) {
    if (place.to === object && getter(place)(m) !== undefined) out.push([place.key, place.from]);
  }
  if (extra && "to" in extra && extra.to === object && m.extra) {
    // A reserved key is left out (its own issue), so it takes no entry.
    const reserved = reservedKeys(d, object);
    for (const key in m.extra) {
      if ((!extra.only || extra.only.includes(key)) && !reserved.has(key)) out.push([key, `extra.${key}`]);
    }
  }
  const rank = d.objects?.[object]?.rank;
  if (rank === undefined) return out;
  const of = ([key, path]: [string, string]) => rank(key, path.startsWith("extra."));
  return out.sort((a, b) => of(a) - of(b));
}

/** The keys of an object of `d` an extra key must not take: the model's fields' there, and the receiver's own. */
function reservedKeys(d: Declaration, object: string): Set<string> {
  return new Set([
    ...d.places.filter((p) => p.to === object).map((p) => p.key),
    ...(d.objects?.[object]?.reserved ?? []),
  ]);
}

/** The declaration's encoder, its fast path `encodeChecked`, and `over` (that path compiled for a base). */
function compileEncoder(
  d: Declaration,
  check: (m: Metadata) => MetadataIssue[],
): Pick<CompiledMapping, "encode" | "encodeChecked" | "over"> {
  const objects = d.objects ?? {};
  const extra = d.extra;
  // --- the encoder: per object, its entries in declaration order, then extra ---
  const fills = new Map<string, Fill[]>();
  const headerPlaces: Fill[] = [];
  for (const place of d.places) {
    const asHeader = place.to === "header";
    const slot: Slot = {
      tags: place.from !== "tags" ? NOT_TAGS : place.join === undefined ? TAGS_ARRAY : TAGS_JOINED,
      join: place.join ?? "",
      header: asHeader,
      max:
        place.maxLength ?? (asHeader ? undefined : objects[place.to]?.maxLength) ?? Number.POSITIVE_INFINITY,
    };
    const fill: Fill = [getter(place), place.key, slot, FIELD_OF[place.from]];
    if (asHeader) headerPlaces.push(fill);
    else {
      const list = fills.get(place.to) ?? [];
      list.push(fill);
      fills.set(place.to, list);
    }
  }
  // What the fast path checks of extra, where it lands in an object (reserved keys, the longest value).
  const extraTo = extra && "to" in extra ? extra : undefined;
  const extraPlan: ExtraPlan | undefined = extraTo && {
    only: extraTo.only,
    reserved: reservedKeys(d, extraTo.to),
    max: objects[extraTo.to]?.maxLength ?? Number.POSITIVE_INFINITY,
    maxKey: objects[extraTo.to]?.maxKeyLength ?? Number.POSITIVE_INFINITY,
  };
  const compiledObjects = Object.entries(objects).map(([object, spec]) => {
    const plan = planObject(
      object,
      spec,
      fills.get(object) ?? [],
      extraTo?.to === object ? extraPlan : undefined,
    );
    return { object, spec, fill: objectFill(plan), fillOver: (b: Metadata) => objectFillOver(plan, b) };
  });
  const extraHeader = extra && "header" in extra ? extra.header : undefined;

  const headerGetters = headerPlaces.map(([get]) => get);
  const headerKeys = headerPlaces.map(([, key]) => key);
  const headerSlots = headerPlaces.map(([, , slot]) => slot);
  const tagsRule = d.rules?.tags;
  const promptRule = d.rules?.prompt;
  /** The form; `checked` (the fast path): undefined at the first rule anything breaks. */
  const encodeForm = (m: Metadata, checked: boolean): Form | undefined => {
    if (checked) {
      // Extra as headers has rules across keys (case collisions): checked the long way, as rare as it is.
      if (extraHeader) return check(m).length === 0 ? encodeForm(m, false) : undefined;
      if (tagsRule && m.tags !== undefined && breaks(tagsRule, m)) return undefined;
      if (promptRule && m.prompt !== undefined && breaks(promptRule, m)) return undefined;
    }
    const form: Form = { headers: {}, body: {}, objects: {} };
    for (let i = 0; i < compiledObjects.length; i++) {
      const { object, spec, fill } = compiledObjects[i]!;
      const value = fill(m, checked);
      if (value === FAILED) return undefined;
      if (value === undefined) continue;
      putObject(form, object, spec, value, undefined);
    }
    for (let i = 0; i < headerGetters.length; i++) {
      const v = headerGetters[i]!(m);
      if (v === undefined) continue;
      if (checked && !passes(headerSlots[i]!, m, v)) return undefined;
      form.headers[headerKeys[i]!] = String(v);
    }
    if (extraHeader && m.extra) {
      for (const key in m.extra) form.headers[extraHeader(key).toLowerCase()] = String(m.extra[key]);
    }
    d.finish?.(form, m);
    return form;
  };
  const encode = (m: Metadata): Form => encodeForm(m, false)!;
  const encodeChecked = (m: Metadata): Form | undefined => encodeForm(m, true);

  const over = (base: Metadata): ((m: Metadata) => Form | undefined) | undefined => {
    // Extra as headers is checked across keys (case collisions): those declarations take encodeChecked.
    if (extraHeader || encodeChecked(base) === undefined) return undefined;
    const objectsOver = compiledObjects.map(({ object, spec, fillOver }) => ({
      object,
      spec,
      ...fillOver(base),
    }));
    const baseHeaderValues = headerGetters.map((get) => {
      const v = get(base);
      return v === undefined ? undefined : String(v);
    });
    // A base that gives one entry saves less than comparing each field with it costs.
    let entries = 0;
    for (const o of objectsOver) entries += o.entries;
    for (const v of baseHeaderValues) if (v !== undefined) entries++;
    if (entries < MIN_BASE_ENTRIES) return undefined;
    const headerFields = headerPlaces.map(([, , , field]) => field);
    return (m) => {
      if (tagsRule && m.tags !== undefined && m.tags !== base.tags && breaks(tagsRule, m)) return undefined;
      if (promptRule && m.prompt !== undefined && m.prompt !== base.prompt && breaks(promptRule, m))
        return undefined;
      const form: Form = { headers: {}, body: {}, objects: {} };
      for (let i = 0; i < objectsOver.length; i++) {
        const { object, spec, fillCall, result } = objectsOver[i]!;
        const value = fillCall(m);
        if (value === FAILED) return undefined;
        if (value === undefined) continue;
        putObject(form, object, spec, value, result.text);
      }
      for (let i = 0; i < headerGetters.length; i++) {
        const field = headerFields[i]!;
        if (m[field] === base[field]) {
          const v = baseHeaderValues[i];
          if (v !== undefined) form.headers[headerKeys[i]!] = v;
          continue;
        }
        const v = headerGetters[i]!(m);
        if (v === undefined) continue;
        if (!passes(headerSlots[i]!, m, v)) return undefined;
        form.headers[headerKeys[i]!] = String(v);
      }
      d.finish?.(form, m);
      return form;
    };
  };
  return { encode, encodeChecked, over };
}

/** One place of an object or a header: its value's getter, its key, its rules and the field it reads. */
type Fill = [get: (m: Metadata) => Value | undefined, key: string, slot: Slot, field: CheckedField];

/** Where extra lands in one object, and what the fast path checks of it there. */
interface ExtraPlan {
  readonly only?: readonly string[];
  /** Keys the model's fields take in the object, and the receiver's own. */
  readonly reserved: ReadonlySet<string>;
  /** The longest value (Infinity: no limit). */
  readonly max: number;
  /** The longest key (Infinity: no limit). */
  readonly maxKey: number;
}

/** Whether extra's `key` with this value (as the object holds it) breaks none of its place's rules. */
function fitsExtra(extra: ExtraPlan, key: string, value: unknown): boolean {
  return (
    !extra.reserved.has(key) &&
    (key.length <= extra.maxKey || chars(key, extra.maxKey) <= extra.maxKey) &&
    (extra.max === Number.POSITIVE_INFINITY || lengthOf(value as ExtraValue) <= extra.max)
  );
}

/** The object `out` with the spec's constant entries added (after every other entry). */
function withConstants(
  plan: ObjectPlan,
  out: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  const { constantKeys, constantValues } = plan;
  for (let i = 0; i < constantKeys.length; i++) (out ??= {})[constantKeys[i]!] = constantValues[i];
  return out;
}

/** One object's places and constants, flattened into parallel arrays walked by index per call. */
interface ObjectPlan {
  readonly object: string;
  readonly spec: ObjectSpec;
  readonly getters: ReadonlyArray<(m: Metadata) => Value | undefined>;
  readonly keys: readonly string[];
  readonly slots: readonly Slot[];
  readonly fields: readonly CheckedField[];
  /** Every value becomes a string. */
  readonly strings: boolean;
  readonly extraHere: ExtraPlan | undefined;
  readonly only: readonly string[] | undefined;
  readonly constantKeys: readonly string[];
  readonly constantValues: readonly unknown[];
  readonly maxEntries: number;
  /**
   * The object's JSON text can be written from its entries' texts: not when a key is an array index (an
   * object lists those first, whatever their order) or a constant could share a key with an extra entry.
   */
  readonly placesAsText: boolean;
  /** Each place's key as JSON text, with its colon. */
  readonly keyTexts: readonly string[];
}

/** The plan of one object of a declaration, from its places (`list`) and where extra lands in it. */
function planObject(
  object: string,
  spec: ObjectSpec,
  list: readonly Fill[],
  extraHere: ExtraPlan | undefined,
): ObjectPlan {
  const keys = list.map(([, key]) => key);
  const constants = spec.constants ? Object.entries(spec.constants).filter(([, v]) => v !== undefined) : [];
  return {
    object,
    spec,
    getters: list.map(([get]) => get),
    keys,
    slots: list.map(([, , slot]) => slot),
    fields: list.map(([, , , field]) => field),
    strings: spec.strings === true,
    extraHere,
    only: extraHere?.only,
    constantKeys: constants.map(([key]) => key),
    constantValues: constants.map(([, v]) => v),
    maxEntries: spec.maxEntries ?? Number.POSITIVE_INFINITY,
    placesAsText: spec.header !== undefined && constants.length === 0 && !keys.some(isIndexKey),
    keyTexts: keys.map((key) => `${headerJson(key)}:`),
  };
}

/** An object entry as JSON text (`"key":value`, escaped to printable ASCII). */
const entryText = (key: string, value: unknown): string => `${headerJson(key)}:${headerJson(value)}`;

/**
 * The object's fill: its entries for a metadata, in declaration order, then extra, then constants;
 * `undefined` when it has none.
 */
function objectFill(plan: ObjectPlan) {
  const { getters, keys, slots, strings, extraHere, only, maxEntries } = plan;
  /**
   * The object's entries for this metadata. `checked` (the fast path): each entry is held to its
   * place's rules as it goes, FAILED at the first that breaks one.
   */
  const fill = (m: Metadata, checked: boolean): Record<string, unknown> | undefined | typeof FAILED => {
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i]!(m);
      if (v === undefined) continue;
      if (checked && !passes(slots[i]!, m, v)) return FAILED;
      (out ??= {})[keys[i]!] = strings ? String(v) : v;
    }
    const e = m.extra;
    if (extraHere !== undefined && e !== undefined) {
      let next: Record<string, unknown> | undefined | typeof FAILED = out;
      if (only !== undefined) {
        for (let i = 0; i < only.length && next !== FAILED; i++) {
          if (Object.hasOwn(e, only[i]!)) next = putExtra(next, only[i]!, e, checked);
        }
      } else {
        for (const key in e) if ((next = putExtra(next as typeof out, key, e, checked)) === FAILED) break;
      }
      if (next === FAILED) return FAILED;
      out = next;
    }
    // No entry collides with another here (an extra key a place takes is reserved): keys count entries.
    if (checked && maxEntries !== Number.POSITIVE_INFINITY && out && Object.keys(out).length > maxEntries)
      return FAILED;
    return withConstants(plan, out);
  };
  /** Adds extra's `key`, checked (reserved keys, the longest value) on the fast path. */
  const putExtra = (
    out: Record<string, unknown> | undefined,
    key: string,
    e: Readonly<Record<string, ExtraValue>>,
    checked: boolean,
  ): Record<string, unknown> | typeof FAILED => {
    const value = strings ? String(e[key]) : e[key]!;
    if (checked && !fitsExtra(extraHere!, key, value)) return FAILED;
    (out ??= {})[key] = value;
    return out;
  };
  return fill;
}

/**
 * The object's fill over one clean base (see `over`): the base's entries converted, checked and
 * (for a JSON header) written out once; per call, only the entries whose model value differs from
 * the base's. Returns the object, or FAILED, and leaves its JSON text in `result.text` when it is
 * written from the entries' texts (else the caller stringifies the object).
 */
function objectFillOver(plan: ObjectPlan, b: Metadata) {
  const { getters, keys, slots, fields, strings, extraHere, only, maxEntries, placesAsText, keyTexts } = plan;
  const baseValues = getters.map((get) => {
    const v = get(b);
    return v === undefined ? undefined : strings ? String(v) : v;
  });
  const be = b.extra;
  const baseExtra = new Map<string, unknown>();
  if (extraHere !== undefined && be !== undefined)
    for (const key in be) {
      if (only === undefined || only.includes(key)) baseExtra.set(key, strings ? String(be[key]) : be[key]);
    }
  const text = placesAsText && ![...baseExtra.keys()].some(isIndexKey);
  const baseTexts = baseValues.map((v, i) =>
    text && v !== undefined ? keyTexts[i] + headerJson(v) : undefined,
  );
  const baseExtraTexts = new Map<string, string>();
  if (text) for (const [key, v] of baseExtra) baseExtraTexts.set(key, entryText(key, v));
  const result = { text: undefined as string | undefined };
  let entries = baseExtra.size;
  for (const v of baseValues) if (v !== undefined) entries++;
  const fillCall = (m: Metadata): Record<string, unknown> | undefined | typeof FAILED => {
    let out: Record<string, unknown> | undefined;
    // Per entry, in order: the base's JSON text of it, or undefined for one of the call's own.
    const texts: Array<string | undefined> = [];
    let reused = 0;
    let asText = text;
    for (let i = 0; i < getters.length; i++) {
      const field = fields[i]!;
      let v: unknown;
      if (m[field] === b[field]) {
        v = baseValues[i];
        if (v === undefined) continue;
        texts.push(baseTexts[i]);
        reused++;
      } else {
        const raw = getters[i]!(m);
        if (raw === undefined) continue;
        if (!passes(slots[i]!, m, raw)) return FAILED;
        v = strings ? String(raw) : raw;
        texts.push(undefined);
      }
      (out ??= {})[keys[i]!] = v;
    }
    const e = m.extra;
    if (extraHere !== undefined && e !== undefined) {
      const extraKeys = only ?? Object.keys(e);
      for (let i = 0; i < extraKeys.length; i++) {
        const key = extraKeys[i]!;
        let v: unknown;
        if (only !== undefined && !Object.hasOwn(e, key)) continue;
        if (be !== undefined && e[key] === be[key] && baseExtra.has(key)) {
          v = baseExtra.get(key);
          texts.push(baseExtraTexts.get(key));
          reused++;
        } else {
          v = strings ? String(e[key]) : e[key]!;
          if (!fitsExtra(extraHere, key, v)) return FAILED;
          if (asText && isIndexKey(key)) asText = false;
          texts.push(undefined);
        }
        (out ??= {})[key] = v;
      }
    }
    if (texts.length > maxEntries) return FAILED;
    out = withConstants(plan, out);
    // The base's texts joined with the call's own, when they are the larger part; else one stringify.
    result.text = undefined;
    if (asText && out !== undefined && 2 * reused > texts.length) {
      let json = "";
      let i = 0;
      for (const key in out) {
        json += `${i === 0 ? "{" : ","}${texts[i] ?? entryText(key, out[key])}`;
        i++;
      }
      result.text = `${json}}`;
    }
    return out;
  };
  return { fillCall, result, entries };
}

// --- the fast path's checks: the same rules as the checks above, answered yes or no ---

const FAILED = Symbol("failed");
const NOT_TAGS = 0;
const TAGS_ARRAY = 1;
const TAGS_JOINED = 2;

/** One place's rules, as the fast path reads them. */
interface Slot {
  tags: typeof NOT_TAGS | typeof TAGS_ARRAY | typeof TAGS_JOINED;
  join: string;
  header: boolean;
  /** The longest value (Infinity: no limit). */
  max: number;
}

/** Whether `v`, the value of a place with these rules (its tags read from `m`), breaks none of them. */
function passes(slot: Slot, m: Metadata, v: Value): boolean {
  if (slot.tags === TAGS_JOINED) {
    const tags = m.tags!;
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      if (tag.includes(slot.join)) return false;
      if (slot.header && (!isSafeHeaderValue(tag) || tag !== tag.trim())) return false;
    }
    return (v as string).length <= slot.max;
  }
  if (slot.tags === TAGS_ARRAY) {
    if (slot.max !== Number.POSITIVE_INFINITY) {
      for (const tag of m.tags!) if (tag.length > slot.max) return false;
    }
    return true;
  }
  if (slot.header) {
    const text = String(v);
    if (!isSafeHeaderValue(text) || text !== text.trim()) return false;
  }
  return slot.max === Number.POSITIVE_INFINITY || lengthOf(v as ExtraValue) <= slot.max;
}

/** Whether a declaration's own rule finds anything wrong with `m`. */
function breaks(rule: FieldRule, m: Metadata): boolean {
  let broken = false;
  rule(m, () => {
    broken = true;
  });
  return broken;
}

/** The fewest entries a base must give for `over` to compile an encoder for it. */
const MIN_BASE_ENTRIES = 2;

/** Whether a key is an array index, which an object lists before its other keys. */
const isIndexKey = (key: string): boolean => /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;

// Header names are tokens; an extra key that becomes part of one must be a token too.
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Puts a filled object in the form: as its JSON header (`text`, when already written, else its JSON),
 * or at its place in the body.
 */
function putObject(
  form: Form,
  object: string,
  spec: ObjectSpec,
  value: Record<string, unknown>,
  text: string | undefined,
): void {
  form.objects[object] = value;
  if (spec.header !== undefined) form.headers[spec.header] = text ?? headerJson(value);
  else if (spec.body !== undefined) placeInBody(form.body, spec.body, value);
}

/** Sets `value` at `path` in `body`, merging into an object a shorter path already put there. */
function placeInBody(
  body: Record<string, unknown>,
  path: readonly string[],
  value: Record<string, unknown>,
): void {
  if (path.length === 0) {
    for (const key in value) body[key] = value[key];
    return;
  }
  let at = body;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    at = (at[key] ??= {}) as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  at[last] = at[last] === undefined ? value : { ...(at[last] as object), ...value };
}
