import type { ExtraValue, Metadata } from "@tagalong/core";

/** The key of RunnableConfig.metadata that holds a Tagalong `Metadata`. */
export const METADATA_KEY = "tagalong";

// LangChain's and LangGraph's own bookkeeping, never user metadata.
const INTERNAL_PREFIXES = ["ls_", "langgraph_", "lc_", "__"];
// `timeoutMs`: @langchain/core 1.x notes the call's `timeout` here.
const INTERNAL_KEYS = new Set(["checkpoint_ns", "checkpoint_id", "versions", "run_attempt", "timeoutMs"]);
// Keys named like a credential: never a label, whoever put them in the run's metadata (@langchain/core
// 0.3 copies every primitive `configurable` value there, an `api_key` too).
// Matched on the key lowercased without `_` and `-`, at its end: `api_key`, `openaiApiKey`,
// `access_token`, `client_secret`, `password`, but not a count like `max_tokens`.
const CREDENTIAL_KEY = /(?:apikey|token|secret|passw(?:or)?d|authorization|credentials?)$/;
// LangSmith's thread keys (LangGraph copies `configurable.thread_id` into metadata): a conversation.
const SESSION_KEYS = ["session_id", "thread_id", "conversation_id"];
// Tags LangChain adds to child runs by itself (`seq:step:2`, `graph:step:1`, `retry:attempt:2`,
// `langsmith:hidden`, ...).
const INTERNAL_TAG = /^(?:seq:step|graph:step|map:key|branch|condition|retry:attempt):|^langsmith:/;

export function isInternalKey(key: string): boolean {
  if (INTERNAL_KEYS.has(key)) return true;
  for (const prefix of INTERNAL_PREFIXES) if (key.startsWith(prefix)) return true;
  return false;
}

/** Whether a run metadata key is named like a credential (`api_key`, `openai_api_key`, `*token*`, `*secret*`, ...). */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key.toLowerCase().replace(/[_-]/g, ""));
}

export function isInternalTag(tag: string): boolean {
  return INTERNAL_TAG.test(tag);
}

/**
 * What a run's LangChain metadata and tags say, split by how strictly it is held: `explicit` is the
 * user's `tagalong` key (a Metadata, validated like any per-call metadata); `implied` comes from the
 * rest of the run's metadata and tags, which were not written for Tagalong, so a value a destination
 * refuses is dropped with a warning instead of failing the call.
 */
export interface RunLabels {
  explicit: unknown;
  implied: Metadata;
}

/**
 * `configurable`: the run config's, where it is at hand. LangChain copies its values into the run's
 * metadata by itself (@langchain/core 0.3 every primitive one, 1.x its `model`), so a metadata key
 * holding the same value as `configurable` is LangChain's mirror, not a label (the thread keys aside,
 * which are the session).
 */
export function readRunLabels(
  metadata: Record<string, unknown> | undefined,
  tags: readonly string[] | undefined,
  configurable?: Record<string, unknown>,
): RunLabels {
  const implied: Metadata = {};
  let explicit: unknown;
  let extra: Record<string, ExtraValue> | undefined;
  if (metadata) {
    for (const key in metadata) {
      const value = metadata[key];
      if (key === METADATA_KEY) {
        explicit = value;
        continue;
      }
      if (value === undefined || isInternalKey(key) || isCredentialKey(key)) continue;
      if (SESSION_KEYS.includes(key)) {
        // A number is an id too (a database row's): the session is its text.
        const session = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
        if (typeof session === "string" && implied.session === undefined) implied.session = session;
        continue;
      }
      // Objects and arrays have no place in `extra` (and are usually someone else's bookkeeping).
      if (typeof value === "string" || typeof value === "boolean" || typeof value === "number") {
        if (configurable !== undefined && Object.hasOwn(configurable, key) && configurable[key] === value)
          continue;
        (extra ??= {})[key] = value;
      }
    }
  }
  if (extra) implied.extra = extra;
  if (tags && tags.length > 0) {
    const own = tags.filter((tag) => !isInternalTag(tag));
    if (own.length > 0) implied.tags = own;
  }
  return { explicit, implied };
}

/**
 * `RunnableConfig.metadata` carrying this Tagalong metadata, typed where it is written (a misspelt
 * field or a wrong type does not compile): `model.invoke(input, { metadata: tagalongMetadata({ user:
 * "u_42" }) })`, or spread beside other run metadata: `{ ...tagalongMetadata(m), team: "search" }`.
 */
export function tagalongMetadata(metadata: Metadata): { tagalong: Metadata } {
  return { [METADATA_KEY]: metadata } as { tagalong: Metadata };
}
