import { trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { cloudflare } from "./destinations/cloudflare";
import { helicone } from "./destinations/helicone";
import { litellm } from "./destinations/litellm";
import { openrouter } from "./destinations/openrouter";
import { openTelemetry } from "./destinations/opentelemetry";
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

  it("refuses an option value of the wrong kind in every factory, naming the option and the rule", () => {
    const cases: [() => unknown, string][] = [
      // NaN removed Portkey's 128-char limit: a 300-char value went out on the wire.
      [
        () => portkey(loose({ maxValueLength: Number.NaN })),
        "portkey: maxValueLength must be a number >= 1, got NaN",
      ],
      [() => portkey(loose({ maxValueLength: -1 })), "portkey: maxValueLength must be a number >= 1, got -1"],
      [
        () => portkey(loose({ maxValueLength: "128" })),
        'portkey: maxValueLength must be a number >= 1, got "128"',
      ],
      [
        () => portkey(loose({ legacyHeader: "false" })),
        'portkey: legacyHeader must be a boolean, got "false"',
      ],
      [() => portkey(loose({ forwardMetadata: 1 })), "portkey: forwardMetadata must be a boolean, got 1"],
      // Sent as auto_cache: "true", which Requesty reads as a boolean.
      [() => requesty(loose({ autoCache: "true" })), 'requesty: autoCache must be a boolean, got "true"'],
      [
        () => openTelemetry(loose({ trace, emitSpans: "false" })),
        'openTelemetry: emitSpans must be a boolean, got "false"',
      ],
      [
        () => openTelemetry(loose({ trace, annotateActiveSpan: 0 })),
        "openTelemetry: annotateActiveSpan must be a boolean, got 0",
      ],
      [
        () => openTelemetry(loose({ trace, propagateTraceId: "true" })),
        'openTelemetry: propagateTraceId must be a boolean, got "true"',
      ],
      [
        () => openTelemetry(loose({ trace, attributes: {} })),
        "openTelemetry: attributes must be an array of attribute maps",
      ],
      [
        () => promptLayer(loose({ apiKey: "pl_k", baseURL: 443 })),
        "promptLayer: options.baseURL must be an http or https URL",
      ],
      [() => helicone(loose({ sessionName: 5 })), "helicone: sessionName must be a string, not empty"],
      [
        () => createTagalong(loose({ destinations: [], onError: "log" })),
        'createTagalong: onError must be a function, got "log"',
      ],
      // A logger without warn threw a TypeError from the user's call, the first time it warned.
      [
        () => createTagalong(loose({ destinations: [], logger: { warn() {} } })),
        "createTagalong: logger must have debug, info, warn and error methods",
      ],
      [
        () => openTelemetry(loose({ trace, attributes: [undefined] })),
        "openTelemetry: attributes must be an array of attribute maps",
      ],
      [
        () => createTagalong(loose({ destinations: [], waitUntil: {} })),
        "createTagalong: waitUntil must be a function, got object",
      ],
    ];
    for (const [make, message] of cases) expect(refused(make).message).toContain(message);
    // Infinity is no limit, as for maxHeaderBytes.
    expect(() => portkey({ maxValueLength: Number.POSITIVE_INFINITY, legacyHeader: false })).not.toThrow();
  });

  it("refuses null for an option, as any other wrong value (null was taken as the default, silently)", () => {
    const cases: [() => unknown, string][] = [
      [() => cloudflare(loose({ fields: null })), "cloudflare({ fields }): must be an array"],
      [
        () => promptLayer(loose({ apiKey: "pl_k", baseURL: null })),
        "promptLayer: options.baseURL must be an http or https URL",
      ],
      [
        () => openTelemetry(loose({ trace, attributes: null })),
        "openTelemetry: attributes must be an array of attribute maps",
      ],
    ];
    for (const [make, message] of cases) expect(refused(make).message).toContain(message);
    // Default metadata of null is metadata that is not an object, as it is in a call.
    expect(() => createTagalong(loose({ destinations: [], metadata: null, onInvalid: "throw" }))).toThrow(
      "metadata.(root): must be a plain object, got null",
    );
  });

  it("refuses a delivery option that is not a number in range (NaN, a string or a negative was the default or the minimum, silently)", () => {
    const pl = (options: object) => () => promptLayer(loose({ apiKey: "pl_k", ...options }));
    const cases: [object, string][] = [
      [{ timeoutMs: Number.NaN }, "timeoutMs must be a number >= 1, got NaN"],
      // A negative timeout cut every request off after 1 ms, and sent it again.
      [{ timeoutMs: -5000 }, "timeoutMs must be a number >= 1, got -5000"],
      [{ timeoutMs: "5000" }, 'timeoutMs must be a number >= 1, got "5000"'],
      [{ concurrency: 0 }, "concurrency must be a number >= 1, got 0"],
      [{ maxQueue: Number.NaN }, "maxQueue must be a number >= 1, got NaN"],
      [{ maxAttempts: "3" }, 'maxAttempts must be a number >= 1, got "3"'],
      [{ maxRetryMs: -1 }, "maxRetryMs must be a number >= 0, got -1"],
      [{ backoffMs: Number.NaN }, "backoffMs must be a number >= 0, got NaN"],
      [{ maxBackoffMs: "1s" }, 'maxBackoffMs must be a number >= 0, got "1s"'],
      [{ maxRetryAfterMs: -1 }, "maxRetryAfterMs must be a number >= 0, got -1"],
      [{ exitTimeoutMs: Number.NaN }, "exitTimeoutMs must be a number >= 0, got NaN"],
      [{ lingerMs: null }, "lingerMs must be a number >= 0, got null"],
      [{ fetch: "http://127.0.0.1" }, 'fetch must be a function, got "http://127.0.0.1"'],
    ];
    for (const [options, message] of cases)
      expect(refused(pl(options)).message).toBe(`promptlayer: ${message}`);
    // The documented meanings stay: Infinity is no limit, 0 abandons at exit at once / starts at once.
    const inf = Number.POSITIVE_INFINITY;
    const ok = promptLayer({
      apiKey: "pl_k",
      timeoutMs: inf,
      maxRetryMs: inf,
      maxQueue: inf,
      exitTimeoutMs: 0,
      lingerMs: 0,
    });
    ok.shutdown();
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
