// Fuzz: random metadata, realistic and hostile, through every destination under both policies.
// Strict: a typed InvalidMetadataError before anything is sent, or a form every vendor rule accepts.
// Default: never an error, and every form passes @tagalong/testing's judges. TAGALONG_FUZZ_RUNS sets the
// runs per destination and policy (300 here; `pnpm fuzz` runs 100,000).
import { judgePrepared } from "@tagalong/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloudflare, cloudflareDeclaration } from "./destinations/cloudflare";
import { helicone, heliconeDeclaration } from "./destinations/helicone";
import { litellm, litellmDeclaration } from "./destinations/litellm";
import { openrouter, openrouterDeclaration } from "./destinations/openrouter";
import { portkey, portkeyDeclaration } from "./destinations/portkey";
import { promptLayer, promptLayerDeclaration, promptLayerMetadata } from "./destinations/promptlayer";
import { requesty, requestyDeclaration } from "./destinations/requesty";
import { InvalidMetadataError } from "./errors";
import { compileMapping, type Declaration } from "./mapping";
import { mergeLayer } from "./merge";
import { freezeSnapshot } from "./scope";
import { createTagalong } from "./tagalong";
import type { Destination, Logger } from "./types";
import { readMetadata } from "./validate";

const RUNS = Number(process.env.TAGALONG_FUZZ_RUNS ?? 300);
// Room for a large run on a busy machine (a few ms a case at worst); the count, not the time, is the point.
const TIMEOUT_MS = Math.max(10_000, RUNS * 5);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

// Arbitrary values a user could pass, well-formed or not, across the whole unicode range.
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.string({ maxLength: 300 }),
);
const anyValue = fc.oneof(
  anyString,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.constant(() => 1),
  fc.array(anyString, { maxLength: 3 }),
);
const metadataLike = fc.record(
  {
    user: fc.oneof(anyString, anyValue),
    session: anyString,
    trace: fc.oneof(anyString, fc.stringMatching(/^[\x20-\x7e]{1,40}$/)),
    environment: anyString,
    organization: anyString,
    tags: fc.oneof(fc.array(anyString, { maxLength: 6 }), anyValue),
    prompt: fc.record(
      {
        name: fc.oneof(anyString, anyValue),
        version: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double()),
        label: anyString,
        variables: fc.dictionary(fc.string(), fc.oneof(anyString, anyValue), { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    ),
    extra: fc.dictionary(
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom(
          "toString",
          "constructor",
          "__proto__",
          "hasOwnProperty",
          "plan",
          "Plan",
          "_user",
          "tags",
        ),
      ),
      anyValue,
      { maxKeys: 8 },
    ),
  },
  { requiredKeys: [] },
);

// Well-typed metadata over the whole unicode range, long enough to sometimes cross the limits.
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" }),
  fc.string({ minLength: 1, maxLength: 140, unit: "binary" }),
);
const wellTyped = fc.record(
  {
    user: text,
    session: text,
    trace: fc.stringMatching(/^[\x20-\x7e]{1,40}$/),
    environment: text,
    organization: text,
    tags: fc.array(fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }), { maxLength: 4 }),
    prompt: fc.record(
      { name: text, version: fc.integer({ min: 1, max: 9 }), variables: fc.dictionary(fc.string(), text) },
      { requiredKeys: ["name"] },
    ),
    extra: fc.dictionary(
      fc
        .string({ minLength: 1, maxLength: 10 })
        .filter(
          (k) =>
            ![
              "_user",
              "tags",
              "session_id",
              "environment",
              "organization",
              "prompt_title",
              "_prompt",
              "_environment",
              "_organisation",
            ].includes(k),
        ),
      fc.oneof(text, fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      { maxKeys: 6 },
    ),
  },
  { requiredKeys: [] },
);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const DESTINATIONS: Array<[string, () => Destination]> = [
  ["portkey", () => portkey()],
  ["portkey (plain keys)", () => portkey({ keys: "plain" })],
  ["requesty", () => requesty()],
  ["helicone", () => helicone({ sessionName: "s" })],
  ["cloudflare", () => cloudflare({ fields: ["user", "session", "tags", "extra"] })],
  ["litellm", () => litellm()],
  ["openrouter", () => openrouter()],
  ["promptLayer", () => promptLayer({ apiKey: "pl_fuzz", baseURL: "http://127.0.0.1:9" })],
  ["every in-flight destination", () => portkey()],
];

function tagalongFor(name: string, make: () => Destination, onInvalid: "throw" | "drop") {
  const destinations =
    name === "every in-flight destination"
      ? [portkey(), requesty(), helicone(), cloudflare(), litellm(), openrouter()]
      : [make()];
  return createTagalong({ destinations, onInvalid, logger: silent });
}

/** Every rule a receiver holds the form to, and PromptLayer's metadata map. */
function violations(prepared: ReturnType<ReturnType<typeof createTagalong>["prepare"]>): string[] {
  const out = judgePrepared(prepared);
  const pl = promptLayerMetadata(prepared.metadata);
  for (const [key, value] of Object.entries(pl)) {
    if (typeof value !== "string") out.push(`promptlayer: metadata.${key} is not a string`);
    if (LONE_SURROGATE.test(key + value)) out.push(`promptlayer: metadata.${key} holds a lone surrogate`);
  }
  return out;
}

const input = fc.oneof(wellTyped, metadataLike);

describe.each(DESTINATIONS)("fuzz: %s", (name, make) => {
  it(
    `default policy: ${RUNS} random metadata objects, never an error, every form passes the judges`,
    () => {
      const tagalong = tagalongFor(name, make, "drop");
      fc.assert(
        fc.property(input, (metadata) => {
          const prepared = tagalong.prepare(metadata as never);
          expect(violations(prepared)).toEqual([]);
          expect(() => new Headers(prepared.headers)).not.toThrow();
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    `strict policy: ${RUNS} random metadata objects, a typed error naming field and rule, or a clean form`,
    () => {
      const tagalong = tagalongFor(name, make, "throw");
      let refused = 0;
      fc.assert(
        fc.property(input, (metadata) => {
          let prepared: ReturnType<typeof tagalong.prepare>;
          try {
            prepared = tagalong.prepare(metadata as never);
          } catch (error) {
            expect(InvalidMetadataError.isInstance(error)).toBe(true);
            const issues = (error as InvalidMetadataError).issues;
            expect(issues.length).toBeGreaterThan(0);
            for (const issue of issues) {
              expect(typeof issue.path).toBe("string");
              expect(issue.rule.length).toBeGreaterThan(0);
            }
            refused++;
            return;
          }
          expect(violations(prepared)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
      // The hostile half of the input must really be refused, or the property says little.
      expect(refused).toBeGreaterThan(RUNS / 10);
    },
    TIMEOUT_MS,
  );
});

// The fast path of a call's preparation checks each destination as it encodes; it must answer exactly
// what the checks and the encoder answer apart: the same form when nothing is wrong, none otherwise.
const DECLARATIONS: Array<[string, Declaration]> = [
  ["portkey", portkeyDeclaration()],
  ["portkey (plain keys, short values)", portkeyDeclaration({ keys: "plain", maxValueLength: 8 })],
  ["requesty", requestyDeclaration({ autoCache: true })],
  ["helicone", heliconeDeclaration({ sessionName: "s" })],
  ["cloudflare", cloudflareDeclaration({ fields: ["user", "session", "tags", "extra"] })],
  // Chosen extra keys, in an order of their own: the header's entries follow it.
  // (Nothing there has a limit: it refuses nothing.)
  ["cloudflare (chosen extra keys)", cloudflareDeclaration({ fields: ["user", "extra.plan", "extra.Plan"] })],
  ["litellm", litellmDeclaration()],
  ["openrouter", openrouterDeclaration()],
  ["promptLayer", promptLayerDeclaration],
];

// Metadata whose extra takes a key some destination fills from the model or defines itself (refused there).
const collidingExtra = fc.record({
  user: text,
  extra: fc.dictionary(
    fc.constantFrom(
      "_user",
      "_environment",
      "session_id",
      "environment",
      "organization",
      "prompt_title",
      "Helicone-User-Id",
      "Plan",
      "plan",
    ),
    text,
    { minKeys: 1, maxKeys: 3 },
  ),
});
// Defaults every destination takes (short ASCII values), so that bases which break nothing are common.
const shortBase = fc.record(
  {
    environment: fc.constantFrom("prod", "staging"),
    organization: fc.constant("acme"),
    tags: fc.subarray(["web", "checkout"]),
    trace: fc.constant("t_1"),
    user: fc.constant("u_0"),
    extra: fc.dictionary(
      fc.constantFrom("region", "team", "7", "plan", "Plan"),
      fc.constantFrom("eu", "pay", "1"),
      {
        maxKeys: 3,
      },
    ),
  },
  { requiredKeys: ["environment", "organization"] },
);

// What the fast path is given: well-typed, hostile or colliding metadata, and short ASCII metadata every
// destination takes, so that each destination sees clean input often (helicone, which refuses most of
// the rest, saw none in 1 run of 40 without it).
const fastInput = fc.oneof(wellTyped, metadataLike, collidingExtra, shortBase);

// A call's own layer over a base: nothing, well-typed or colliding, the same values again, or a few
// fields with keys an object lists first (array indexes) and text beyond ASCII.
const layer = fc.oneof(
  fc.constant({}),
  shortBase,
  // One or two entries of the call's own over a larger base: any type, non-ASCII too.
  fc.record(
    {
      user: fc.constantFrom("u_1", "Zoë 😀"),
      extra: fc.dictionary(
        fc.constantFrom("plan", "n"),
        fc.oneof(fc.integer(), fc.boolean(), fc.double(), text),
        {
          maxKeys: 1,
        },
      ),
    },
    { requiredKeys: [] },
  ),
  wellTyped,
  collidingExtra,
  fc.record(
    {
      user: fc.constantFrom("u_1", "Zoë 😀", "x".repeat(130)),
      tags: fc.array(fc.constantFrom("a", "b", "c,d", " e"), { maxLength: 3 }),
      extra: fc.dictionary(
        fc.constantFrom("0", "1", "42", "plan", "Plan", "4294967295"),
        fc.oneof(text, fc.integer()),
        { maxKeys: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
);

describe.each(DECLARATIONS)("fast path: %s", (name, declaration) => {
  it(`${RUNS} random metadata objects: encodeChecked is encode when check finds nothing, else nothing`, () => {
    const mapping = compileMapping(declaration);
    let clean = 0;
    fc.assert(
      fc.property(fastInput, (value) => {
        const m = freezeSnapshot(readMetadata(value).metadata);
        const issues = mapping.check(m);
        if (issues.length === 0) clean++;
        expect(mapping.encodeChecked(m)).toEqual(issues.length === 0 ? mapping.encode(m) : undefined);
      }),
      { numRuns: RUNS },
    );
    // Both answers must really occur, or the property says little.
    expect(clean).toBeGreaterThan(0);
    if (!name.includes("chosen extra keys")) expect(clean).toBeLessThan(RUNS);
  });

  it(`${RUNS} random layers over random bases: the encoder compiled for a base is encodeChecked`, () => {
    const mapping = compileMapping(declaration);
    const snapshot = (value: unknown) => freezeSnapshot(readMetadata(value).metadata);
    let compiled = 0;
    let encoded = 0;
    fc.assert(
      fc.property(fc.oneof(wellTyped, shortBase), layer, (baseValue, layerValue) => {
        const base = snapshot(baseValue);
        const over = mapping.over(base);
        // Never for a base that breaks a rule (nor for extra in headers of its own, ruled across keys).
        if (mapping.encodeChecked(base) === undefined) expect(over).toBeUndefined();
        if (over === undefined) return;
        compiled++;
        const m = mergeLayer(base, snapshot(layerValue));
        const expected = mapping.encodeChecked(m);
        if (expected !== undefined) encoded++;
        // toEqual compares the JSON headers as text: written from entries, they must match exactly.
        expect(over(m)).toEqual(expected);
        expect(over(base)).toEqual(mapping.encodeChecked(base));
      }),
      { numRuns: RUNS },
    );
    if (declaration.extra !== undefined && "header" in declaration.extra) return;
    expect(compiled).toBeGreaterThan(0);
    expect(encoded).toBeGreaterThan(0);
    if (!name.includes("chosen extra keys")) expect(encoded).toBeLessThan(compiled);
  });
});
