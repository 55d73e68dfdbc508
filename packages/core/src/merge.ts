import type { Metadata } from "./types";

function mergeTwo(base: Metadata, next: Metadata): Metadata {
  const out: Metadata = { ...base };
  if (next.user !== undefined) out.user = next.user;
  if (next.session !== undefined) out.session = next.session;
  if (next.trace !== undefined) out.trace = next.trace;
  if (next.environment !== undefined) out.environment = next.environment;
  if (next.organization !== undefined) out.organization = next.organization;
  if (next.prompt !== undefined) {
    const { variables, ...prompt } = next.prompt;
    out.prompt = variables === undefined ? prompt : { ...prompt, variables: { ...variables } };
  }
  if (next.tags !== undefined) {
    out.tags = base.tags ? [...new Set([...base.tags, ...next.tags])] : [...new Set(next.tags)];
  }
  if (next.extra !== undefined) out.extra = base.extra ? { ...base.extra, ...next.extra } : { ...next.extra };
  return out;
}

/**
 * Merge layers, earliest first (defaults < outer scope < inner scope < per-call): scalars and
 * `prompt` are replaced by the later value, `tags` are unioned in order without duplicates,
 * `extra` merges key by key. The result shares no object with the inputs, which are never mutated.
 */
export function mergeMetadata(...layers: Array<Metadata | undefined>): Metadata {
  let out: Metadata = {};
  for (const layer of layers) if (layer) out = mergeTwo(out, layer);
  return out;
}

/** Deep-freezes metadata so a scope's value cannot be changed behind the calls that share it. */
export function freezeMetadata(metadata: Metadata): Metadata {
  if (metadata.tags) Object.freeze(metadata.tags);
  if (metadata.extra) Object.freeze(metadata.extra);
  if (metadata.prompt) {
    if (metadata.prompt.variables) Object.freeze(metadata.prompt.variables);
    Object.freeze(metadata.prompt);
  }
  return Object.freeze(metadata);
}

/**
 * `layer` merged over `base` like `mergeMetadata`, for layers Tagalong snapshotted and froze itself:
 * what the layer leaves alone is shared with `base` (so a check can tell it is unchanged by identity),
 * only `tags` and `extra` that both set are new. The result is frozen.
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
