// A preparer written by hand for exactly one case: the bench's per-call metadata (`perCallMetadata`:
// user, session, tags, extra) over the `environment` default of `inFlightTagalong()`, for Portkey +
// Requesty. It checks what the model and those two destinations check of those fields and builds the
// same prepared call, in one function with nothing general about it. A control for "prepare() inside a
// call": what the same work costs inside a framework's call when its code is as small as it can be.
// Before it is timed, its output is checked equal to `prepare()`'s (`checkPreparedByHand`), so it
// cannot drift from what Tagalong does.
import { deepStrictEqual } from "node:assert/strict";
import type { Metadata, PreparedCall, Tagalong } from "@tagalong/core";
import { isPlainObject } from "@tagalong/core/adapter";
import { headerJson } from "@tagalong/core/destination";
import { perCallMetadata } from "./fixtures";

/** The `environment` default of the bench's Tagalong instances. */
const ENVIRONMENT = "bench";
/** Portkey's longest value (its default `maxValueLength`). */
const PORTKEY_MAX = 128;

const FIELDS = new Set(["user", "session", "tags", "extra"]);
/** Extra keys Portkey's header or Requesty's `extra` already use for a field of the model. */
const RESERVED = new Set([
  "_user",
  "_environment",
  "_organisation",
  "_prompt",
  "session_id",
  "tags",
  "environment",
  "organization",
  "prompt_title",
]);

/** Whether a string is well-formed UTF-16 (Node 20 has `isWellFormed`; the bench's TypeScript lib does not name it). */
const isWellFormed = (value: string): boolean =>
  (value as unknown as { isWellFormed(): boolean }).isWellFormed();

function text(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length === 0 || !isWellFormed(value) || value.length > PORTKEY_MAX) {
    throw new Error(`preparedByHand: ${path} is outside the case this function was written for`);
  }
  return value;
}

/** The prepared call of `perCall` for the case above; throws for anything outside it. */
export function preparedByHand(perCall: unknown): PreparedCall {
  if (!isPlainObject(perCall)) throw new Error("preparedByHand: expected per-call metadata");
  for (const key in perCall) {
    if (!FIELDS.has(key)) throw new Error(`preparedByHand: ${key} is outside the case`);
  }
  const user = text(perCall.user, "user");
  const session = text(perCall.session, "session");
  const given = perCall.tags;
  if (!Array.isArray(given)) throw new Error("preparedByHand: tags is outside the case");
  // Tags are a set (a repeat is dropped); Portkey joins them with commas, so a tag holds none.
  const tags: string[] = [];
  for (let i = 0; i < given.length; i++) {
    const tag = text(given[i], `tags[${i}]`);
    if (tag.includes(",")) throw new Error(`preparedByHand: tags[${i}] is outside the case`);
    if (!tags.includes(tag)) tags.push(tag);
  }
  const source = perCall.extra;
  if (!isPlainObject(source)) throw new Error("preparedByHand: extra is outside the case");
  const extra: Record<string, string | number | boolean> = {};
  const portkeyExtra: Record<string, string> = {};
  for (const key in source) {
    const value = source[key];
    if (key.length === 0 || key === "__proto__" || !isWellFormed(key) || RESERVED.has(key)) {
      throw new Error(`preparedByHand: extra key ${key} is outside the case`);
    }
    if (
      !(typeof value === "string" || typeof value === "boolean" || Number.isFinite(value)) ||
      (typeof value === "string" && !isWellFormed(value))
    ) {
      throw new Error(`preparedByHand: extra.${key} is outside the case`);
    }
    extra[key] = value as string | number | boolean;
    portkeyExtra[key] = text(String(value), `extra.${key}`);
  }
  Object.freeze(tags);
  Object.freeze(extra);
  const metadata: Metadata = Object.freeze({ environment: ENVIRONMENT, user, session, tags, extra });
  const header = headerJson({
    _user: user,
    _environment: ENVIRONMENT,
    session_id: session,
    tags: tags.join(","),
    ...portkeyExtra,
  });
  return {
    metadata,
    headers: { "x-portkey-metadata": header },
    body: {
      requesty: { tags, user_id: user, extra: { session_id: session, environment: ENVIRONMENT, ...extra } },
    },
  };
}

/** Fails unless `preparedByHand` gives what `tagalong.prepare()` gives for the bench's per-call metadata. */
export function checkPreparedByHand(tagalong: Tagalong, calls = 64): void {
  for (let i = 0; i < calls; i++) {
    const metadata = perCallMetadata(i);
    const { metadata: m, headers, body } = tagalong.prepare(metadata);
    deepStrictEqual(preparedByHand(metadata), { metadata: m, headers, body }, `call ${i}`);
  }
}
