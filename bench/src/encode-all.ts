// The metadata work of one call, for every destination: resolve (defaults < scope < per call),
// validate (the model and each destination's rules), encode Portkey's header and Requesty's body field
// (prepare), and PromptLayer's metadata and prompt bodies (built when the call is delivered).
import {
  type Metadata,
  portkey,
  promptLayer,
  promptLayerMetadata,
  promptLayerTrackPrompt,
  requesty,
  type Tagalong,
  withMetadata,
} from "@tagalong/core";
import { fullMetadata, PROMPTLAYER_KEY, tagalong } from "./fixtures";
import type { OpsTarget } from "./harness";

/** Portkey + Requesty + PromptLayer; the PromptLayer receiver is never dialled (nothing is recorded). */
export const allDestinations = (): Tagalong =>
  tagalong([portkey(), requesty(), promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: "http://127.0.0.1:9" })]);

export function encodeForAll(t: Tagalong, perCall?: Metadata): unknown {
  const prepared = t.prepare(perCall);
  const pl = promptLayerMetadata(prepared.metadata);
  const prompt = prepared.metadata.prompt ? promptLayerTrackPrompt(1, prepared.metadata.prompt) : undefined;
  return prompt ?? pl;
}

/** The floor and the two cases: per-call metadata (no cache can help) and scope-only (cached per scope). */
export function encodingTargets(extraKeys: number): OpsTarget[] {
  const pool = Array.from({ length: 256 }, (_, i) => fullMetadata(i, extraKeys));
  const t = allDestinations();
  return [
    { name: "JSON.stringify (floor)", op: (i) => JSON.stringify(pool[i & 255]) },
    { name: "per-call metadata", op: (i) => encodeForAll(t, pool[i & 255]) },
    {
      name: "scope-only metadata",
      op: () => encodeForAll(t),
      // Every call inside one scope, as in a request handler: prepare() is a cache hit.
      around: (sample) => withMetadata(pool[0]!, sample),
    },
  ];
}
