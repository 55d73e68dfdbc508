import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { portkey } from "./destinations/portkey";
import { requesty } from "./destinations/requesty";
import { TagalongError } from "./errors";
import { createTagalong } from "./tagalong";

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
    extra: fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 8 }),
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

function jsonSafe(value: unknown): boolean {
  if (typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(jsonSafe);
  if (typeof value === "object" && value !== null) return Object.values(value).every(jsonSafe);
  return false;
}

const BYTESTRING_ASCII = /^[\u0020-\u007e]*$/;

describe("encoders (property)", () => {
  it("either produce output that keeps every wire rule or throw TagalongError", () => {
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], onInvalid: "throw" });
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.oneof(wellTyped, metadataLike), (metadata) => {
        let prepared: ReturnType<typeof tagalong.prepare>;
        try {
          prepared = tagalong.prepare(metadata as never);
        } catch (error) {
          expect(TagalongError.isInstance(error)).toBe(true);
          rejected++;
          return;
        }
        accepted++;
        let bytes = 0;
        for (const [name, value] of Object.entries(prepared.headers)) {
          expect(value).toMatch(BYTESTRING_ASCII);
          bytes += name.length + value.length;
        }
        expect(bytes).toBeLessThanOrEqual(8192);
        expect(() => new Headers(prepared.headers)).not.toThrow();
        const raw = prepared.headers["x-portkey-metadata"];
        if (raw !== undefined) {
          const parsed = JSON.parse(raw) as Record<string, unknown>;
          for (const value of Object.values(parsed)) {
            expect(typeof value).toBe("string");
            expect((value as string).length).toBeLessThanOrEqual(128);
          }
          if (metadata.user !== undefined) expect(parsed._user).toBe(metadata.user);
        }
        // The body is plain JSON: nothing JSON.stringify would drop, change or choke on.
        expect(jsonSafe(prepared.body)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Both outcomes must really occur, or the property says nothing.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
