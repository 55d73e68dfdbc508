import { describe, expect, it } from "vitest";
import { cloudflare } from "./destinations/cloudflare";
import { helicone } from "./destinations/helicone";
import { litellm } from "./destinations/litellm";
import { openrouter } from "./destinations/openrouter";
import { portkey } from "./destinations/portkey";
import { promptLayer } from "./destinations/promptlayer";
import { requesty } from "./destinations/requesty";
import { TagalongError } from "./errors";
import { didYouMean } from "./options";
import { createTagalong, type TagalongOptions } from "./tagalong";
import type { Destination } from "./types";

// Plain-JavaScript mistakes: the types would catch them, so cast the way a JS caller gets past them.
const loose = (options: unknown) => options as never;

function refused(make: () => unknown): TagalongError {
  try {
    make();
  } catch (error) {
    expect(TagalongError.isInstance(error)).toBe(true);
    return error as TagalongError;
  }
  throw new Error("expected a TagalongError");
}

describe("misconfiguration fails at createTagalong", () => {
  it("names an uncalled factory", () => {
    const error = refused(() => createTagalong({ destinations: loose([portkey, requesty()]) }));
    expect(error.message).toBe(
      "createTagalong: destinations[0] is the function portkey, not a destination: call it (portkey(...)) (use portkey(), requesty(), ...)",
    );
  });

  it("names an object without a name, and other values", () => {
    expect(refused(() => createTagalong({ destinations: loose([{ encode() {} }]) })).message).toContain(
      "destinations[0] is an object without a name",
    );
    expect(refused(() => createTagalong({ destinations: loose([portkey(), null]) })).message).toContain(
      "destinations[1] is null",
    );
    expect(refused(() => createTagalong(loose(undefined))).message).toContain("pass an options object");
    expect(refused(() => createTagalong(loose({ destinations: portkey() }))).message).toContain(
      "options.destinations must be an array",
    );
  });

  it("refuses the same destination twice", () => {
    expect(refused(() => createTagalong({ destinations: [portkey(), requesty(), portkey()] })).message).toBe(
      'createTagalong: destinations[2] repeats the destination "portkey"; list each once',
    );
  });

  it("refuses unknown options with a did-you-mean", () => {
    const options: TagalongOptions = { destinations: [portkey()] };
    expect(refused(() => createTagalong(loose({ ...options, onInvlid: "drop" }))).message).toContain(
      'createTagalong: unknown option "onInvlid" (did you mean "onInvalid"?)',
    );
    expect(refused(() => createTagalong(loose({ ...options, onInvalid: "warn" }))).message).toContain(
      'onInvalid must be "throw" or "drop", got "warn"',
    );
  });

  it("refuses a maxHeaderBytes that is not a number >= 0 (NaN was no cap at all, a negative one broke every call)", () => {
    const options: TagalongOptions = { destinations: [portkey()] };
    for (const cap of [Number.NaN, -1, "8k", null]) {
      expect(refused(() => createTagalong(loose({ ...options, maxHeaderBytes: cap }))).message).toBe(
        `createTagalong: maxHeaderBytes must be a number >= 0, got ${cap === "8k" ? '"8k"' : String(cap)}`,
      );
    }
    const uncapped = createTagalong({ ...options, maxHeaderBytes: Number.POSITIVE_INFINITY });
    expect(uncapped.prepare({ user: "u" }).headers["x-portkey-metadata"]).toBe('{"_user":"u"}');
  });

  it("catches a misspelt option in every factory", () => {
    expect(refused(() => portkey(loose({ forwardMetdata: true }))).message).toBe(
      'portkey: unknown option "forwardMetdata" (did you mean "forwardMetadata"?); known options: maxValueLength, legacyHeader, forwardMetadata, keys',
    );
    expect(
      refused(() => promptLayer(loose({ apiKey: "pl_k", baseUrl: "http://127.0.0.1:9" }))).message,
    ).toContain('promptLayer: unknown option "baseUrl" (did you mean "baseURL"?)');
    expect(refused(() => promptLayer(loose({ apiKey: "pl_k", maxAttempt: 2 }))).message).toContain(
      '(did you mean "maxAttempts"?)',
    );
    expect(refused(() => requesty(loose({ auto_cache: true }))).message).toContain(
      '(did you mean "autoCache"?)',
    );
    expect(refused(() => helicone(loose({ sessionname: "x" }))).message).toContain(
      '(did you mean "sessionName"?)',
    );
    expect(refused(() => cloudflare(loose({ field: ["user"] }))).message).toContain(
      '(did you mean "fields"?)',
    );
    expect(refused(() => litellm(loose({ user: "x" }))).message).toContain("it takes no options");
    expect(refused(() => openrouter(loose("x"))).message).toContain("options must be an object");
  });

  it("suggests only names that are close", () => {
    expect(didYouMean("metadat", ["metadata", "logger"])).toBe("metadata");
    expect(didYouMean("LOGGER", ["metadata", "logger"])).toBe("logger");
    expect(didYouMean("zzzzzz", ["metadata", "logger"])).toBeUndefined();
  });

  it("still takes every destination and option it knows", () => {
    const custom: Destination = { name: "custom", record() {} };
    const t = createTagalong({
      destinations: [portkey({ forwardMetadata: true }), requesty({ autoCache: true }), custom],
      metadata: { user: "u" },
      onInvalid: "throw",
      maxHeaderBytes: 9000,
      onError() {},
    });
    expect(t.prepare().headers["x-portkey-forward-headers"]).toBe("x-portkey-metadata");
  });
});
