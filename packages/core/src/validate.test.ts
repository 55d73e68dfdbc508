import { describe, expect, it } from "vitest";
import { checkMetadata, readMetadata } from "./validate";

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
    // A field's name in another case, with a suffix, or misspelt is that field (following "custom keys
    // go in extra" would carry it as a custom key, not as the field).
    for (const [key, field] of [
      ["User", "user"],
      ["sessionID", "session"],
      ["traceId", "trace"],
      ["Tags", "tags"],
      ["userName", "user"],
      ["sesion", "session"],
      ["enviroment", "environment"],
      ["promt", "prompt"],
    ]) {
      expect(rules({ [key!]: "x" })).toEqual([`${key}: is not a metadata field (did you mean ${field}?)`]);
    }
    // Nor is a name merely close to a field's taken for it.
    expect(rules({ version: 3 })).toEqual(["version: is not a metadata field (custom keys go in extra)"]);
    // A key named like something every object inherits is no alias either.
    expect(rules({ constructor: "x" })).toEqual([
      "constructor: is not a metadata field (custom keys go in extra)",
    ]);
  });

  it("reads a field only as its own enumerable key, as a spread would copy it", () => {
    const hidden = Object.defineProperty({ session: "s" }, "user", { value: "u", enumerable: false });
    expect(readMetadata(hidden)).toEqual({ metadata: { session: "s" }, issues: [] });
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
    it("leaves version-and-label and a label's length to the destinations that care", () => {
      expect(rules({ prompt: { name: "p", version: 1, label: "x".repeat(600) } })).toEqual([]);
    });
    it("takes a version that is an integer >= 1", () => {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1"]) {
        expect(paths({ prompt: { name: "p", version: bad } })).toEqual(["prompt.version"]);
      }
      expect(checkMetadata({ prompt: { name: "p", version: 1 } })).toEqual([]);
    });
    it("takes a non-empty label", () => {
      expect(rules({ prompt: { name: "p", label: "" } })).toEqual(["prompt.label: must not be empty"]);
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

  it("reads a key set to undefined as absent, in extra and in a prompt's variables, as it does a field", () => {
    const value = {
      user: undefined,
      extra: { plan: undefined, seats: 3 },
      prompt: { name: "p", label: undefined, variables: { city: undefined, country: "FR" } },
    };
    expect(checkMetadata(value)).toEqual([]);
    expect(readMetadata(value).metadata).toEqual({
      extra: { seats: 3 },
      prompt: { name: "p", variables: { country: "FR" } },
    });
    expect(Object.keys(readMetadata(value).metadata.extra!)).toEqual(["seats"]);
  });
});

describe("readMetadata: one snapshot, the model's rules applied while reading", () => {
  it("keeps exactly the fields that keep the rules", () => {
    const metadata = {
      user: "u",
      session: 5,
      tags: ["a", 1, "b"],
      extra: { ok: 1, bad: Number.NaN },
    } as never;
    const { metadata: kept, issues } = readMetadata(metadata);
    expect(kept).toEqual({ user: "u", tags: ["a", "b"], extra: { ok: 1 } });
    expect(issues.map((i) => i.path)).toEqual(["session", "tags[1]", "extra.bad"]);
  });
  it("keeps each tag once, in order of first appearance, short lists and long ones alike", () => {
    expect(readMetadata({ tags: ["x", "y", "x", "z", "y"] }).metadata.tags).toEqual(["x", "y", "z"]);
    const long = Array.from({ length: 40 }, (_, i) => `t${i % 20}`);
    expect(readMetadata({ tags: long }).metadata.tags).toEqual(long.slice(0, 20));
  });
  it("leaves the whole prompt out when one of its fields is bad", () => {
    expect(readMetadata({ user: "u", prompt: { name: "p", version: 0 } }).metadata).toEqual({ user: "u" });
  });
  it("reads every property once: a getter cannot answer differently later, nor throw at the caller", () => {
    let reads = 0;
    const tricky = {
      get user() {
        reads++;
        return reads === 1 ? "u_1" : ({ not: "a string" } as never);
      },
      tags: Object.defineProperty(["a", "b"], 1, {
        get() {
          throw new Error("tag getter exploded");
        },
      }),
      extra: {
        get boom(): string {
          throw new Error("getter exploded");
        },
      },
    };
    const { metadata, issues } = readMetadata(tricky);
    expect(reads).toBe(1);
    expect(metadata).toEqual({ user: "u_1", tags: ["a"], extra: {} });
    expect(issues).toEqual([
      { path: "tags[1]", rule: "could not be read (tag getter exploded)", code: "unreadable" },
      { path: "extra.boom", rule: "could not be read (getter exploded)", code: "unreadable" },
    ]);
  });
  it("refuses lone surrogates and a __proto__ key, which no encoder can carry faithfully", () => {
    const proto = JSON.parse('{"__proto__": "x", "ok": "y"}');
    expect(rules({ user: "a\ud800", tags: ["\udc00b"], extra: proto })).toEqual([
      "user: must be well-formed text (it has a lone UTF-16 surrogate)",
      "tags[0]: must be well-formed text (it has a lone UTF-16 surrogate)",
      "extra.__proto__: key __proto__ is not carried (JavaScript objects on the way would swallow it): rename it",
    ]);
    expect(readMetadata({ user: "Zoë 😀", extra: proto }).metadata).toEqual({
      user: "Zoë 😀",
      extra: { ok: "y" },
    });
  });
  it("survives a hostile object", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(readMetadata(proxy).issues[0]).toMatchObject({ path: "(root)", code: "unreadable" });
  });
});
