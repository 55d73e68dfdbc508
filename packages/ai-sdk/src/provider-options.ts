import type { Metadata } from "@tagalong/core";

/** The key under `providerOptions` that carries a call's Tagalong metadata. */
export const TAGALONG_OPTIONS_KEY = "tagalong";

/** JSON as every ai major's `providerOptions` accepts it (ai 5: no `undefined` values, ai 6/7: optional). */
export type TagalongJsonValue = null | string | number | boolean | TagalongJsonObject | TagalongJsonValue[];
/** A JSON object as `providerOptions` accepts it: what `tagalongOptions()` returns under `tagalong`. */
export type TagalongJsonObject = { [key: string]: TagalongJsonValue };

/**
 * `providerOptions` for one call carrying this metadata, typed so it is accepted by ai 5, 6 and 7
 * (a `Metadata` held in a variable is an interface, which those `Record` types do not take as is):
 * `generateText({ model, prompt, providerOptions: tagalongOptions({ user: "u_42" }) })`, or spread it
 * beside other providers' options. Nothing is checked here: the call checks it before anything is sent.
 */
export function tagalongOptions(metadata: Metadata): { tagalong: TagalongJsonObject } {
  return { [TAGALONG_OPTIONS_KEY]: metadata as unknown as TagalongJsonObject } as {
    tagalong: TagalongJsonObject;
  };
}
