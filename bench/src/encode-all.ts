// The metadata work of one call on the caller's path: resolve (defaults < scope < per call), check (the
// model and each destination's rules) and encode the in-flight forms, Portkey's header and Requesty's
// body field: `prepare()`. PromptLayer's bodies are built in the background at delivery, off that path.
import { type Metadata, portkey, promptLayer, requesty, type Tagalong, withMetadata } from "@tagalong/core";
import { fullMetadata, PROMPTLAYER_KEY, tagalong } from "./fixtures";
import type { OpsTarget } from "./harness";

/** Portkey + Requesty: the two in-flight forms every call carries. */
export const inFlightOnly = (): Tagalong => tagalong([portkey(), requesty()]);

/** Portkey + Requesty + PromptLayer (whose rules are checked per call); its receiver is never dialled. */
export const allDestinations = (): Tagalong =>
  tagalong([portkey(), requesty(), promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: "http://127.0.0.1:9" })]);

export function encodeForAll(t: Tagalong, perCall?: Metadata): unknown {
  return t.prepare(perCall);
}

export const PORTKEY_REQUESTY_PER_CALL = "prepare(), Portkey + Requesty only, per-call metadata";

/** Defaults an app sets once: what each call shares, compiled into the encoders at its second call. */
const RICH_DEFAULTS: Metadata = {
  environment: "production",
  organization: "acme",
  tags: ["storefront", "web"],
  extra: { region: "eu-west-1", team: "payments", app: "checkout", build: 1234 },
};

/** The floor and the cases: per-call metadata (no cache can help) and scope-only (cached per scope). */
export function encodingTargets(extraKeys: number): OpsTarget[] {
  const pool = Array.from({ length: 256 }, (_, i) => fullMetadata(i, extraKeys));
  const two = inFlightOnly();
  const all = allDestinations();
  const richDefaults = tagalong([portkey(), requesty()], { metadata: RICH_DEFAULTS });
  const small = pool.map((m) => ({ user: m.user, session: m.session }));
  return [
    { name: "JSON.stringify (floor)", op: (i) => JSON.stringify(pool[i & 255]) },
    { name: "per-call metadata", op: (i) => encodeForAll(all, pool[i & 255]) },
    { name: PORTKEY_REQUESTY_PER_CALL, op: (i) => encodeForAll(two, pool[i & 255]) },
    {
      name: "prepare(), Portkey + Requesty only, user and session per call over rich defaults",
      op: (i) => encodeForAll(richDefaults, small[i & 255]),
    },
    {
      name: "scope-only metadata",
      op: () => encodeForAll(all),
      // Every call inside one scope, as in a request handler: prepare() is a cache hit.
      around: (sample) => withMetadata(pool[0]!, sample),
    },
  ];
}
