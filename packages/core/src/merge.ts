import type { Metadata, MetadataIssue } from "./types";
import { STRING_FIELDS } from "./validate";

// The fields a layer set but the model refused, kept on its snapshot out of sight (not enumerable, so
// no spread, key list or JSON sees it): merging the layer leaves them out of what it merges over, and
// the merge keeps them for a later merge (a scope's, over the defaults) until a layer above sets them.
const REFUSED = Symbol("tagalong.refused");
type Marked = Readonly<Metadata> & { readonly [REFUSED]?: readonly string[] };

/** The fields a layer's value replaces: the strings and the prompt. */
const REPLACED: ReadonlySet<string> = new Set([...STRING_FIELDS, "prompt"]);

/**
 * Marks `snapshot` (not yet frozen) with the values its issues refused, so that a refused value is left
 * out rather than replaced by a lower layer's: a call refused its `user` does not carry the scope's, a
 * prompt refused does not name the defaults' template. A tag or a whole `extra` refused only adds
 * nothing (tags and extra merge, they replace nothing).
 */
export function markRefused(snapshot: Metadata, issues: readonly MetadataIssue[]): Metadata {
  let refused: string[] | undefined;
  for (const { path } of issues) {
    const field = path.startsWith("prompt.") ? "prompt" : path;
    if (REPLACED.has(field) || field.startsWith("extra.")) (refused ??= []).push(field);
  }
  if (refused !== undefined) Object.defineProperty(snapshot, REFUSED, { value: refused });
  return snapshot;
}

/**
 * `layer` merged over `base` (defaults < outer scope < inner scope < implied < per call, one step at a
 * time), for layers Tagalong snapshotted and froze itself: scalars and `prompt` are replaced by the
 * layer's value, `tags` are unioned in order without duplicates, `extra` merges key by key; a value the
 * layer's snapshot marks refused (`markRefused`) is left out. What the layer leaves alone is shared with
 * `base` (so a check can tell it is unchanged by identity); only `tags` and `extra` that both set are
 * new. The result is frozen.
 */
export function mergeLayer(base: Readonly<Metadata>, layer: Readonly<Metadata>): Metadata {
  const out: Metadata = { ...base };
  if (layer.user !== undefined) out.user = layer.user;
  if (layer.session !== undefined) out.session = layer.session;
  if (layer.trace !== undefined) out.trace = layer.trace;
  if (layer.environment !== undefined) out.environment = layer.environment;
  if (layer.organization !== undefined) out.organization = layer.organization;
  if (layer.prompt !== undefined) out.prompt = layer.prompt;
  if (layer.tags !== undefined) {
    out.tags = Object.freeze(
      base.tags ? [...new Set([...base.tags, ...layer.tags])] : layer.tags,
    ) as string[];
  }
  if (layer.extra !== undefined) {
    out.extra = base.extra ? Object.freeze({ ...base.extra, ...layer.extra }) : layer.extra;
  }
  const below = (base as Marked)[REFUSED];
  const own = (layer as Marked)[REFUSED];
  if (below !== undefined || own !== undefined) leaveRefused(out, below, layer, own);
  return Object.freeze(out);
}

/** Leaves out of `out` what `layer` refused, and marks it with what stays refused for a later merge. */
function leaveRefused(
  out: Metadata,
  below: readonly string[] | undefined,
  layer: Readonly<Metadata>,
  own: readonly string[] | undefined,
): void {
  for (const path of own ?? []) {
    if (!path.startsWith("extra.")) delete out[path as keyof Metadata];
    else if (out.extra !== undefined && Object.hasOwn(out.extra, path.slice(6))) {
      const extra = { ...out.extra };
      delete extra[path.slice(6)];
      out.extra = Object.freeze(extra);
    }
  }
  // What a layer below refused stays refused, unless this layer sets it.
  const still = (below ?? []).filter((path) =>
    path.startsWith("extra.")
      ? layer.extra === undefined || !Object.hasOwn(layer.extra, path.slice(6))
      : layer[path as keyof Metadata] === undefined,
  );
  const refused = own === undefined ? still : [...still, ...own];
  if (refused.length > 0) Object.defineProperty(out, REFUSED, { value: refused });
}
