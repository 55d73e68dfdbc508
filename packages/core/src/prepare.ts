// The per-call path: resolve a call's metadata (defaults < scopes < implied < per call), check it
// against each destination, leave out per destination what that destination cannot carry, and encode
// every in-flight form. What the defaults hold is checked and encoded once; a scope's metadata is one
// more layer over them (a scope gets a checked base of its own only when it breaks a rule); a call
// with its own metadata checks only what it changes.
import { InvalidMetadataError } from "./errors";
import { headerBytes, headerJson } from "./header";
import type { CheckedField, CompiledMapping } from "./mapping";
import { markRefused, mergeLayer } from "./merge";
import { type Ledger, leaveOut } from "./policy";
import { freezeSnapshot, type ScopeFrame } from "./scope";
import type { Destination, InFlight, Metadata, MetadataIssue } from "./types";
import { readMetadata, STRING_FIELDS } from "./validate";

/**
 * What one call carries: its resolved metadata and every in-flight destination's additions. Read-only:
 * its metadata is frozen, and the form that calls without metadata of their own share (per scope) is
 * frozen whole; a call's own form is not, since freezing it cost each call about 3 µs in situ.
 */
export interface PreparedCall {
  readonly metadata: Readonly<Metadata>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Options of `tagalong.prepare()`. */
export interface PrepareOptions {
  /**
   * Metadata the adapter implies rather than the user wrote for Tagalong (LangChain's run metadata and
   * tags): merged under the per-call metadata, and never a reason to throw; whatever a rule refuses is
   * left out with a warning, whatever `onInvalid` says.
   */
  implied?: unknown;
}

/** A destination as the preparer sees it: its rules (compiled when it was declared as data). */
export interface Target {
  readonly destination: Destination;
  readonly mapping?: CompiledMapping;
}

/** The checked state of one base (defaults + a scope), shared by every call in that scope. */
interface Base {
  readonly metadata: Readonly<Metadata>;
  /** Model issues of the defaults and the scope: left out already. */
  readonly issues: readonly MetadataIssue[];
  /** Per target: every issue of the base, by field and by extra key. */
  readonly perTarget: ReadonlyArray<{
    all: MetadataIssue[];
    byField: Map<CheckedField, MetadataIssue[]>;
    byExtra: Map<string, MetadataIssue[]>;
  }>;
  /** The prepared form of a call with no metadata of its own, and what it left out. */
  cached?: { prepared: PreparedCall; leftOut: MetadataIssue[] };
  /** No issue in the base, for the model or any destination: a call may take the fast path. */
  readonly clean: boolean;
  /** Calls that took the fast path over this base. */
  fastCalls: number;
  /** Per fast encoder, its mapping's encoder compiled for this base (from the base's second fast call). */
  over?: ReadonlyArray<((m: Metadata) => Partial<InFlight> | undefined) | undefined>;
}

export interface PreparerOptions {
  targets: readonly Target[];
  defaults: Readonly<Metadata>;
  /** The defaults' model issues, reported with the first call. */
  defaultIssues: readonly MetadataIssue[];
  strict: boolean;
  maxHeaderBytes: number;
  ledger: Ledger;
  /** A trace for a call that sets none (from a destination's `defaultTrace`), as implied metadata. */
  defaultTrace?: () => string | undefined;
}

/** Freezes a form that calls share, with everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

const fieldOf = (path: string): string => path.split(/[.[]/, 1)[0]!;

/**
 * A destination's issue of one tag as thrown or warned about: its path indexes the merged tags, which
 * the caller never wrote, so it names the tag by its place among the tags of the layer that set it
 * (the call's own, as the model's issues of the call do, else the scopes', named so; strict defaults
 * with a refused tag fail at createTagalong).
 */
function asWritten(
  issue: MetadataIssue,
  m: Readonly<Metadata>,
  strong: Metadata | undefined,
  scope: Readonly<Metadata> | undefined,
): MetadataIssue {
  if (issue.destination === undefined || !issue.path.startsWith("tags[")) return issue;
  const tag = m.tags?.[Number(issue.path.slice(5, -1))];
  if (tag === undefined) return issue;
  const own = strong?.tags?.indexOf(tag) ?? -1;
  if (own >= 0) return { ...issue, path: `tags[${own}]` };
  const inScope = scope?.tags?.indexOf(tag) ?? -1;
  if (inScope < 0) return issue;
  return { ...issue, path: `tags[${inScope}]`, rule: `${issue.rule} (a tag of withMetadata)` };
}

/** Whether the value at `path` of the merged metadata `m` came from `layer`. */
function setBy(layer: Metadata | undefined, path: string, m: Readonly<Metadata>): boolean {
  if (layer === undefined) return false;
  if (path.startsWith("extra."))
    return layer.extra !== undefined && Object.hasOwn(layer.extra, path.slice(6));
  if (path.startsWith("tags[")) {
    const tag = m.tags?.[Number(path.slice(5, -1))];
    return tag !== undefined && layer.tags?.includes(tag) === true;
  }
  return layer[fieldOf(path) as keyof Metadata] !== undefined;
}

/** The prepare function of one Tagalong. */
export function createPreparer(options: PreparerOptions) {
  const { targets, strict, maxHeaderBytes, ledger } = options;
  const encoders = targets.filter((t) => t.destination.encode);
  const checked = targets.filter((t) => t.mapping || t.destination.check);

  const defaults = makeBase(checked, options.defaults, options.defaultIssues);
  // The defaults are checked here, where the user gives them: refused in strict mode, else announced
  // once (and left out of the forms of the destinations that refuse them, every call).
  {
    const issues = [...defaults.issues, ...defaults.perTarget.flatMap((t) => t.all)];
    if (strict && issues.length > 0) throw new InvalidMetadataError(issues);
    for (const issue of issues) ledger.announce(issue, " (in the defaults)");
  }
  /**
   * A scope's base, made only when a call in it breaks a rule (or the defaults do). A clean scope in
   * clean defaults needs none: its calls take the fast path over the defaults with the scope as one
   * more layer, so a scope per request, which serves a call or two, never pays to check and encode
   * one; from its second call with nothing of its own, those calls share one frozen form, kept on the
   * scope's frame (`ScopeCache`).
   */
  const byScope = new WeakMap<ScopeFrame, Base>();
  const scopeBase = (scope: ScopeFrame): Base => {
    let base = byScope.get(scope);
    if (base === undefined) {
      const issues = scope.issues.length ? [...defaults.issues, ...scope.issues] : defaults.issues;
      base = makeBase(checked, mergeLayer(defaults.metadata, scope.metadata), issues);
      byScope.set(scope, base);
    }
    return base;
  };
  // This preparer's mark on the scope caches it writes.
  const owner = {};

  // The fast path's view of the targets: each encoder with what checks it, and the targets that check
  // without encoding (PromptLayer's rules on what it records).
  const fastEncoders = encoders.map((t) => ({
    t,
    at: checked.indexOf(t),
    // A mapped destination whose check and encode are its mapping's: checked as it is encoded.
    mapping:
      t.mapping && t.destination.encode === t.mapping.encode && t.destination.check === t.mapping.check
        ? t.mapping
        : undefined,
  }));
  const checkOnly = checked.flatMap((t, at) => (encoders.includes(t) ? [] : [{ t, at }]));

  /**
   * The call's form when nothing is wrong with it, in one walk per destination; `undefined` at the
   * first rule anything breaks (or headers over the cap), and the call takes `prepareFrom`, which
   * finds every issue and leaves each out. Only for a clean base and a call with no issue of its own.
   */
  const fastFrom = (
    base: Base,
    outer: Metadata | undefined,
    strong: Metadata | undefined,
    weak: Metadata | undefined,
  ): PreparedCall | undefined => {
    let m = base.metadata;
    if (outer !== undefined) m = mergeLayer(m, outer);
    if (weak !== undefined) m = mergeLayer(m, weak);
    if (strong !== undefined) m = mergeLayer(m, strong);
    for (let i = 0; i < checkOnly.length; i++) {
      const { t, at } = checkOnly[i]!;
      if (issuesOf(t, at, m, base).length > 0) return undefined;
    }
    // What the base holds is encoded once for it, from its second call (a scope that serves one call
    // would pay for it and never gain).
    if (base.over === undefined && ++base.fastCalls === 2) {
      base.over = fastEncoders.map(({ mapping }) => mapping?.over(base.metadata));
    }
    const over = base.over;
    let headers: Record<string, string> = {};
    let body: Record<string, unknown> = {};
    let bytes = 0;
    for (let i = 0; i < fastEncoders.length; i++) {
      const { t, at, mapping } = fastEncoders[i]!;
      let encoded: Partial<InFlight> | undefined;
      const overBase = over?.[i];
      if (overBase !== undefined) encoded = overBase(m);
      else if (mapping !== undefined) encoded = mapping.encodeChecked(m);
      else if (at < 0 || issuesOf(t, at, m, base).length === 0) encoded = t.destination.encode!(m);
      if (encoded === undefined) return undefined;
      const h = encoded.headers ?? {};
      bytes += headerBytes(h);
      if (fastEncoders.length === 1) {
        headers = h;
        body = encoded.body ?? {};
      } else {
        Object.assign(headers, h);
        Object.assign(body, encoded.body);
      }
    }
    if (bytes > maxHeaderBytes) return undefined;
    // The call's own form: not frozen (see PreparedCall). What it shares is: the metadata and its
    // values, the merge's and the snapshot's.
    return { metadata: m, headers, body };
  };

  /**
   * The call's form; `weakIssues` are the implied layer's own (never thrown for); `scope` is the
   * scopes' metadata, which the issues thrown or warned about name a tag of by its place.
   */
  const prepareFrom = (
    base: Base,
    strong: Metadata | undefined,
    weak: Metadata | undefined,
    callIssues: readonly MetadataIssue[],
    weakIssues: ReadonlySet<MetadataIssue>,
    scope?: Readonly<Metadata>,
  ): { prepared: PreparedCall; leftOut: MetadataIssue[]; implied: ReadonlySet<MetadataIssue> } => {
    let m = base.metadata;
    if (weak !== undefined) m = mergeLayer(m, weak);
    if (strong !== undefined) m = mergeLayer(m, strong);
    // The common call refuses nothing: allocate for issues only when there are some.
    const leftOut: MetadataIssue[] =
      base.issues.length + callIssues.length === 0 ? [] : [...base.issues, ...callIssues];
    let implied: Set<MetadataIssue> | undefined = weakIssues.size > 0 ? new Set(weakIssues) : undefined;
    let perTarget: Map<Target, MetadataIssue[]> | undefined;
    for (let i = 0; i < checked.length; i++) {
      const t = checked[i]!;
      let issues = issuesOf(t, i, m, base);
      if (issues.length === 0) continue;
      if (weak?.tags !== undefined) issues = fitTags(t, i, m, issues, weak, strong);
      (perTarget ??= new Map()).set(t, issues);
      for (const issue of issues) {
        // Thrown and warned about as the user wrote it; left out (perTarget) as merged.
        const written = asWritten(issue, m, strong, scope);
        leftOut.push(written);
        if (weak && setBy(weak, issue.path, m) && !setBy(strong, issue.path, m))
          (implied ??= new Set()).add(written);
      }
    }
    if (strict && leftOut.length > 0) {
      const thrown = leftOut.filter((issue) => !implied?.has(issue));
      if (thrown.length > 0) throw new InvalidMetadataError(thrown);
    }
    const forms: HeaderForm[] = [];
    for (const t of encoders) {
      const view = perTarget === undefined ? m : leaveOut(m, perTarget.get(t) ?? []);
      const encoded = t.destination.encode!(view);
      forms.push({ t, view, headers: encoded.headers ?? {}, body: encoded.body ?? {} });
    }
    fitHeaders(forms, weak, strong, leftOut, options);
    const headers: Record<string, string> = forms.length === 1 ? forms[0]!.headers : {};
    const body: Record<string, unknown> = forms.length === 1 ? forms[0]!.body : {};
    if (forms.length > 1) {
      for (const f of forms) {
        Object.assign(headers, f.headers);
        Object.assign(body, f.body);
      }
    }
    // The metadata is frozen already (mergeLayer, freezeSnapshot); a form calls share is frozen where
    // it is cached.
    return { prepared: { metadata: m, headers, body }, leftOut, implied: implied ?? NO_ISSUES };
  };

  const account = (
    leftOut: readonly MetadataIssue[],
    implied: ReadonlySet<MetadataIssue> | undefined,
  ): void => {
    ledger.taggedAll();
    for (const issue of leftOut)
      ledger.leftOut(issue, implied?.has(issue) ? " (implied by the adapter)" : "");
  };

  const { defaultTrace } = options;
  return (scope: ScopeFrame | undefined, perCall: unknown, prepareOptions?: PrepareOptions): PreparedCall => {
    const implied = prepareOptions?.implied;
    // The base the call starts from; for a clean scope, the defaults, with the scope's metadata as the
    // layer over them (`outer`).
    let base = defaults;
    let outer: Metadata | undefined;
    if (scope !== undefined) {
      if (defaults.clean && scope.issues.length === 0 && !byScope.has(scope)) outer = scope.metadata;
      else base = scopeBase(scope);
    }
    const layersTrace = outer?.trace ?? base.metadata.trace;
    // A call with nothing of its own gets the form its scope shares, unless a destination gives a
    // trace per call (the defaults and scopes setting none).
    let shares: ScopeCache | undefined;
    if (
      perCall === undefined &&
      implied === undefined &&
      (defaultTrace === undefined || layersTrace !== undefined)
    ) {
      if (outer === undefined) {
        if (base.cached === undefined) {
          const { prepared, leftOut } = prepareFrom(
            base,
            undefined,
            undefined,
            [],
            NO_ISSUES,
            scope?.metadata,
          );
          base.cached = { prepared: deepFreeze(prepared), leftOut };
        }
        account(base.cached.leftOut, undefined);
        return base.cached.prepared;
      }
      const cache = scope!.cache as ScopeCache | undefined;
      if (cache === undefined) {
        // The scope's first such call: its form is its own; a second one makes the shared form.
        if (Object.isExtensible(scope)) {
          const mark: ScopeCache = { owner, shared: undefined };
          scope!.cache = mark;
        }
      } else if (cache.owner === owner) {
        if (cache.shared !== undefined) {
          ledger.taggedAll();
          return cache.shared;
        }
        shares = cache;
      }
    }
    const callIssues: MetadataIssue[] = [];
    let weakIssues: ReadonlySet<MetadataIssue> = NO_ISSUES;
    let weak: Metadata | undefined;
    if (implied !== undefined) {
      const read = readMetadata(implied);
      if (read.issues.length > 0) {
        weakIssues = new Set(read.issues);
        callIssues.push(...read.issues);
      }
      weak = freezeSnapshot(read.metadata);
    }
    let strong: Metadata | undefined;
    if (perCall !== undefined) {
      const read = readMetadata(perCall);
      for (const issue of read.issues) callIssues.push(issue);
      // A value the call's own metadata refuses is left out, not replaced by a scope's or a default
      // (what the adapter only implies never unsets what the user wrote).
      strong = freezeSnapshot(markRefused(read.metadata, read.issues));
    }
    if (
      defaultTrace &&
      strong?.trace === undefined &&
      weak?.trace === undefined &&
      layersTrace === undefined
    ) {
      const trace = defaultTrace();
      if (trace !== undefined) weak = Object.freeze({ ...weak, trace });
    }
    if (callIssues.length === 0 && base.clean) {
      const prepared = fastFrom(base, outer, strong, weak);
      if (prepared !== undefined) {
        ledger.taggedAll();
        if (shares !== undefined) shares.shared = deepFreeze(prepared);
        return prepared;
      }
    }
    const result = prepareFrom(
      outer === undefined ? base : scopeBase(scope!),
      strong,
      weak,
      callIssues,
      weakIssues,
      scope?.metadata,
    );
    account(result.leftOut, result.implied);
    return result.prepared;
  };
}

const NO_ISSUES: ReadonlySet<MetadataIssue> = new Set();

/** What one preparer keeps on a clean scope's frame: the form its calls without metadata of their own share. */
interface ScopeCache {
  readonly owner: object;
  shared: PreparedCall | undefined;
}

/** Every issue of target `t` (the `i`th checked one) on `m`, reusing the base's for what `m` shares with it. */
function issuesOf(t: Target, i: number, m: Readonly<Metadata>, base: Base | undefined): MetadataIssue[] {
  const mapping = t.mapping;
  if (!mapping) return t.destination.check?.(m) ?? [];
  const known = base?.perTarget[i];
  if (known && m === base.metadata) return known.all;
  const out: MetadataIssue[] = [];
  const b = base?.metadata;
  const fieldChecks = mapping.fieldChecks;
  for (let j = 0; j < fieldChecks.length; j++) {
    const field = fieldChecks[j]![0];
    const v = m[field];
    if (v === undefined) continue;
    if (known && v === b![field]) {
      const reused = known.byField.get(field);
      if (reused) for (const issue of reused) out.push(issue);
    } else fieldChecks[j]![1](m, out);
  }
  if (mapping.extraKeyCheck && m.extra) {
    const be = b?.extra;
    for (const key in m.extra) {
      const v = m.extra[key]!;
      if (known && be !== undefined && be[key] === v && Object.hasOwn(be, key)) {
        const reused = known.byExtra.get(key);
        if (reused) for (const issue of reused) out.push(issue);
      } else mapping.extraKeyCheck(key, v, out);
    }
  }
  mapping.wholeCheck?.(m, out);
  return out;
}

/**
 * A destination's issue with the tags as a whole (their joined length) when the implied layer added
 * some: the implied tags are left out first, the last first, until the rest keeps the rule, as
 * fitHeaders does for the headers' size; the whole-list issue stays only if the other layers' tags
 * break the rule alone. The issues returned name the implied tags left out, by their place in `m`.
 */
function fitTags(
  t: Target,
  i: number,
  m: Readonly<Metadata>,
  issues: MetadataIssue[],
  weak: Metadata,
  strong: Metadata | undefined,
): MetadataIssue[] {
  const whole = issues.find((issue) => issue.path === "tags");
  if (whole === undefined || m.tags === undefined) return issues;
  const implied: MetadataIssue[] = [];
  for (let k = m.tags.length - 1; k >= 0; k--) {
    const tag = m.tags[k]!;
    if (!weak.tags!.includes(tag) || strong?.tags?.includes(tag) === true) continue;
    implied.push({
      path: `tags[${k}]`,
      rule: `left out to keep the tags within the rule: ${whole.rule}`,
      destination: whole.destination,
      code: whole.code,
    });
    if (!issuesOf(t, i, leaveOut(m, implied), undefined).some((issue) => issue.path === "tags")) {
      return [...issues.filter((issue) => issue !== whole), ...implied];
    }
  }
  return issues;
}

/** The checked state of a base: its issues for each checked target, by field and by extra key. */
function makeBase(
  checked: readonly Target[],
  metadata: Readonly<Metadata>,
  issues: readonly MetadataIssue[],
): Base {
  const perTarget = checked.map((t, i) => {
    const all = issuesOf(t, i, metadata, undefined);
    const byField = new Map<CheckedField, MetadataIssue[]>();
    const byExtra = new Map<string, MetadataIssue[]>();
    for (const issue of all) {
      if (issue.path.startsWith("extra.")) {
        const key = issue.path.slice(6);
        byExtra.set(key, [...(byExtra.get(key) ?? []), issue]);
      } else {
        const field = fieldOf(issue.path) as CheckedField;
        byField.set(field, [...(byField.get(field) ?? []), issue]);
      }
    }
    return { all, byField, byExtra };
  });
  return {
    metadata,
    issues,
    perTarget,
    clean: issues.length === 0 && perTarget.every((t) => t.all.length === 0),
    fastCalls: 0,
  };
}

// Fields left out one by one (each re-encodes its form) before the rest are found by halving: one by
// one, a call with a thousand extra keys held the caller for seconds.
const ONE_BY_ONE = 8;

/** Leaves out of one destination's headers the largest field until every header fits the cap. */
function fitHeaders(
  forms: HeaderForm[],
  weak: Metadata | undefined,
  strong: Metadata | undefined,
  leftOut: MetadataIssue[],
  { maxHeaderBytes, strict }: { maxHeaderBytes: number; strict: boolean },
): void {
  const isImplied = (path: string, view: Readonly<Metadata>) =>
    setBy(weak, path, view) && !setBy(strong, path, view);
  for (let step = 0; ; step++) {
    let total = 0;
    for (const f of forms) total += headerBytes(f.headers);
    if (total <= maxHeaderBytes) return;
    const rule = `${total} bytes of headers, the cap is ${maxHeaderBytes} (maxHeaderBytes)`;
    const fields = headerFields(forms, isImplied);
    if (step >= ONE_BY_ONE && leaveOutFewest(fields, total, rule, leftOut, maxHeaderBytes, strict)) continue;
    // Of two alike, the one met first.
    const candidate = fields.reduce<HeaderField | undefined>(
      (best, c) => (best === undefined || leftOutFirst(c, best) < 0 ? c : best),
      undefined,
    );
    if (candidate === undefined) {
      throw new InvalidMetadataError([{ path: "(headers)", rule, code: "header-cap" }]);
    }
    const f = candidate.form;
    // Strict mode names the field that would be left out first, and its destination.
    if (strict && !candidate.implied) {
      const { path, destination } = headerCapIssue(f, candidate.path, rule);
      throw new InvalidMetadataError([{ path, rule, destination, code: "header-cap" }]);
    }
    const issue = headerCapIssue(f, candidate.path, rule);
    const view = leaveOut(f.view, [issue]);
    takeLeftOut(f, [issue], view, f.t.destination.encode!(view).headers ?? {}, rule, leftOut);
  }
}

/**
 * `f` without the fields of `issues`: its `view` and `headers` re-encoded without them. Taken if the
 * headers shrank (only the headers: the body has no cap and keeps what it carried), the fields then
 * counted as left out; otherwise this form carries them in no header, and keeps them (`kept`).
 */
function takeLeftOut(
  f: HeaderForm,
  issues: readonly MetadataIssue[],
  view: Readonly<Metadata>,
  headers: Record<string, string>,
  rule: string,
  leftOut: MetadataIssue[],
): void {
  if (headerBytes(headers) >= headerBytes(f.headers)) {
    for (const issue of issues) (f.kept ??= new Set()).add(issue.path);
    return;
  }
  for (const issue of issues) leftOut.push(asLeftOut(f, issue, rule));
  f.view = view;
  f.headers = headers;
}

const headerCapIssue = (f: HeaderForm, path: string, rule: string): MetadataIssue => ({
  path,
  rule: `left out to keep the headers under the cap: ${rule}`,
  destination: f.t.destination.name,
  code: "header-cap",
});

/**
 * A header-cap issue of `f` as it is counted and warned about: when the form's body carries the field
 * too (LiteLLM's session), it says that only the headers lost it. Read from `f`'s view before the field
 * leaves it, by encoding the field alone (over the cap only, so off the common call's path).
 */
function asLeftOut(f: HeaderForm, issue: MetadataIssue, rule: string): MetadataIssue {
  const { path } = issue;
  const view = f.view;
  let alone: Metadata;
  if (path.startsWith("extra.")) {
    const key = path.slice(6);
    alone = { extra: { [key]: view.extra![key]! } };
  } else alone = { [path]: view[path as keyof Metadata] };
  const encode = f.t.destination.encode!;
  if (headerJson(encode(alone).body ?? {}) === headerJson(encode({}).body ?? {})) return issue;
  return {
    ...issue,
    rule: `left out of the headers only (the body still carries it) to keep them under the cap: ${rule}`,
  };
}

/**
 * Leaves out the fewest candidates, taken in the order one by one would take them (in strict mode
 * only the implied ones), that bring the headers under the cap, found by halving; all of them if none
 * does. A form whose headers they do not shrink keeps them (its fields in no header). False when there
 * is nothing to leave out.
 */
function leaveOutFewest(
  candidates: HeaderField[],
  total: number,
  rule: string,
  leftOut: MetadataIssue[],
  maxHeaderBytes: number,
  strict: boolean,
): boolean {
  // A stable sort: of two alike, the one met first, as one by one.
  const order = candidates.sort(leftOutFirst);
  const allowed = strict ? order.findIndex((c) => !c.implied) : -1;
  const fields = allowed < 0 ? order : order.slice(0, allowed);
  if (fields.length === 0) return false;
  // The forms without the first `count` fields, and their headers' bytes.
  const without = (count: number) => {
    const issues = new Map<HeaderForm, MetadataIssue[]>();
    for (const c of fields.slice(0, count)) {
      const list = issues.get(c.form) ?? [];
      list.push(headerCapIssue(c.form, c.path, rule));
      issues.set(c.form, list);
    }
    let bytes = total;
    const next = [...issues].map(([f, list]) => {
      const view = leaveOut(f.view, list);
      const encoded = f.t.destination.encode!(view);
      const headers = encoded.headers ?? {};
      bytes += headerBytes(headers) - headerBytes(f.headers);
      return { f, list, view, headers };
    });
    return { bytes, next };
  };
  let low = 1;
  let high = fields.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (without(mid).bytes <= maxHeaderBytes) high = mid;
    else low = mid + 1;
  }
  for (const { f, list, view, headers } of without(low).next)
    takeLeftOut(f, list, view, headers, rule, leftOut);
  return true;
}

type HeaderForm = {
  t: Target;
  view: Readonly<Metadata>;
  headers: Record<string, string>;
  /** The form's body, as encoded before the cap: the header cap leaves it as it is. */
  body: Record<string, unknown>;
  /** Fields whose leaving out would not shrink this form's headers. */
  kept?: Set<string>;
};

type HeaderField = {
  form: HeaderForm;
  path: string;
  size: number;
  implied: boolean;
  /** Its form's header bytes. */
  bytes: number;
};

/** The fields that may be left out when the headers are over the cap: those in forms with header bytes. */
function headerFields(
  forms: HeaderForm[],
  isImplied: (path: string, view: Readonly<Metadata>) => boolean,
): HeaderField[] {
  const out: HeaderField[] = [];
  for (const form of forms) {
    const bytes = headerBytes(form.headers);
    if (bytes === 0) continue;
    for (const [path, size] of fieldSizes(form.view)) {
      if (!form.kept?.has(path)) out.push({ form, path, size, implied: isImplied(path, form.view), bytes });
    }
  }
  return out;
}

/**
 * Whether `a` is left out before `b`: an implied field first, else the one whose value is longest; of
 * two as long, the one in the fuller header.
 */
const leftOutFirst = (a: HeaderField, b: HeaderField): number =>
  Number(b.implied) - Number(a.implied) || b.size - a.size || b.bytes - a.bytes;

/** The fields the header cap may leave out, besides each `extra` key. */
const SIZED_FIELDS = [...STRING_FIELDS, "tags", "prompt"] as const;

/** Every leave-out-able field of `m` with the size of its value as a JSON header carries it (escaped). */
function fieldSizes(m: Readonly<Metadata>): Array<[path: string, size: number]> {
  const out: Array<[string, number]> = [];
  for (const field of SIZED_FIELDS) {
    const value = field === "prompt" ? m.prompt && { ...m.prompt, variables: undefined } : m[field];
    // A prompt's variables travel in no header: it is sized without them.
    if (value !== undefined) out.push([field, headerJson(value).length]);
  }
  if (m.extra)
    for (const key in m.extra)
      out.push([`extra.${key}`, headerJson(key).length + headerJson(m.extra[key]).length]);
  return out;
}
