import { describe, expect, it } from "vitest";
import { checkMetadata, withoutIssues } from "./validate";

const paths = (value: unknown) => checkMetadata(value).map((i) => i.path);
const rules = (value: unknown) => checkMetadata(value).map((i) => `${i.path}: ${i.rule}`);

describe("checkMetadata: the model's own rules", () => {
  it("accepts every field of the model", () => {
    expect(
      checkMetadata({
        user: "u",
        session: "s",
        trace: "t",
        environment: "e",
        organization: "o",
        tags: ["a"],
        prompt: { name: "p", version: 3, variables: { q: "x" } },
        extra: { s: "x", n: 1.5, b: false },
      }),
    ).toEqual([]);
    expect(checkMetadata({})).toEqual([]);
  });

  it("rejects anything but a plain object", () => {
    for (const bad of [null, "u", 1, [], new Date(), new Map()]) expect(paths(bad)).toEqual(["(root)"]);
  });

  it("names unknown fields and suggests the right one", () => {
    expect(rules({ organisation: "acme" })).toEqual([
      "organisation: is not a metadata field (did you mean organization?)",
    ]);
    expect(rules({ team: "x" })).toEqual(["team: is not a metadata field (custom keys go in extra)"]);
  });

  it("requires non-empty strings for scalar fields", () => {
    expect(rules({ user: 42 })).toEqual(["user: must be a string, got 42"]);
    expect(rules({ session: "" })).toEqual(["session: must not be empty"]);
    expect(paths({ trace: null, environment: {}, organization: [] })).toEqual([
      "trace",
      "environment",
      "organization",
    ]);
  });

  it("requires tags to be non-empty strings", () => {
    expect(rules({ tags: "a,b" })).toEqual(["tags: must be an array of strings, got a string"]);
    expect(paths({ tags: ["ok", 1, ""] })).toEqual(["tags[1]", "tags[2]"]);
  });

  describe("prompt", () => {
    it("requires a non-empty name", () => {
      expect(rules({ prompt: {} })).toEqual(["prompt.name: is required"]);
      expect(rules({ prompt: { name: "" } })).toEqual(["prompt.name: must not be empty"]);
    });
    it("never takes version and label together", () => {
      expect(rules({ prompt: { name: "p", version: 1, label: "prod" } })).toEqual([
        "prompt.label: must not be set together with prompt.version",
      ]);
    });
    it("takes a version that is an integer >= 1", () => {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1"]) {
        expect(paths({ prompt: { name: "p", version: bad } })).toEqual(["prompt.version"]);
      }
      expect(checkMetadata({ prompt: { name: "p", version: 1 } })).toEqual([]);
    });
    it("takes a label of 1..512 chars", () => {
      expect(rules({ prompt: { name: "p", label: "" } })).toEqual([
        "prompt.label: must be 1..512 chars, got 0",
      ]);
      expect(rules({ prompt: { name: "p", label: "x".repeat(513) } })).toEqual([
        "prompt.label: must be 1..512 chars, got 513",
      ]);
      expect(checkMetadata({ prompt: { name: "p", label: "x".repeat(512) } })).toEqual([]);
    });
    it("takes string variables only", () => {
      expect(paths({ prompt: { name: "p", variables: { a: "1", b: 2 } } })).toEqual(["prompt.variables.b"]);
      expect(paths({ prompt: { name: "p", colour: "red" } })).toEqual(["prompt.colour"]);
    });
  });

  it("rejects extra values that cannot be JSON-serialised as given", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(
      rules({
        extra: {
          big: 10n,
          fn: () => 1,
          nan: Number.NaN,
          inf: Number.POSITIVE_INFINITY,
          obj: circular,
          nil: null,
          sym: Symbol("s"),
        },
      }),
    ).toEqual([
      "extra.big: must be a string, a finite number or a boolean, got a BigInt",
      "extra.fn: must be a string, a finite number or a boolean, got a function",
      "extra.nan: must be a string, a finite number or a boolean, got NaN",
      "extra.inf: must be a string, a finite number or a boolean, got Infinity",
      "extra.obj: must be a string, a finite number or a boolean, got an object",
      "extra.nil: must be a string, a finite number or a boolean, got null",
      "extra.sym: must be a string, a finite number or a boolean, got a symbol",
    ]);
    expect(paths({ extra: { "": "x" } })).toEqual(["extra."]);
  });
});

describe("withoutIssues: the drop policy", () => {
  it("drops exactly the fields named, keeping the rest", () => {
    const metadata = {
      user: "u",
      session: 5,
      tags: ["a", 1, "b"],
      extra: { ok: 1, bad: Number.NaN },
    } as never;
    expect(withoutIssues(metadata, checkMetadata(metadata))).toEqual({
      user: "u",
      tags: ["a", "b"],
      extra: { ok: 1 },
    });
  });
  it("drops the whole prompt when one of its fields is bad", () => {
    const metadata = { user: "u", prompt: { name: "p", version: 1, label: "x" } };
    expect(withoutIssues(metadata, checkMetadata(metadata))).toEqual({ user: "u" });
  });
});
