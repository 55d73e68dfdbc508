import type { Metadata } from "./types";

/**
 * `layer` merged over `base` (defaults < outer scope < inner scope < implied < per call, one step at a
 * time), for layers Tagalong snapshotted and froze itself: scalars and `prompt` are replaced by the
 * layer's value, `tags` are unioned in order without duplicates, `extra` merges key by key. What the
 * layer leaves alone is shared with `base` (so a check can tell it is unchanged by identity); only
 * `tags` and `extra` that both set are new. The result is frozen.
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
  return Object.freeze(out);
}
