import { describe, expect, it } from "vitest";
import { mergeMetadata } from "./merge";
import type { Metadata } from "./types";

describe("mergeMetadata", () => {
  it("replaces scalars and prompt with the later value", () => {
    const merged = mergeMetadata(
      { user: "a", session: "s1", environment: "dev", prompt: { name: "p1", version: 1 } },
      { user: "b", prompt: { name: "p2", label: "prod" } },
    );
    expect(merged).toEqual({
      user: "b",
      session: "s1",
      environment: "dev",
      prompt: { name: "p2", label: "prod" },
    });
  });

  it("unions tags in order without duplicates", () => {
    expect(mergeMetadata({ tags: ["a", "b"] }, { tags: ["b", "c", "a", "d"] }, { tags: ["e"] }).tags).toEqual(
      ["a", "b", "c", "d", "e"],
    );
    expect(mergeMetadata({ tags: ["x", "x"] }).tags).toEqual(["x"]);
  });

  it("merges extra key by key, later keys winning", () => {
    expect(mergeMetadata({ extra: { a: 1, b: "x" } }, { extra: { b: "y", c: true } }).extra).toEqual({
      a: 1,
      b: "y",
      c: true,
    });
  });

  it("orders defaults < outer scope < inner scope < per-call", () => {
    const defaults: Metadata = { environment: "production", user: "default", tags: ["d"] };
    const outer: Metadata = { user: "outer", session: "s-outer", tags: ["o"] };
    const inner: Metadata = { session: "s-inner", tags: ["i"], extra: { k: 1 } };
    const perCall: Metadata = { user: "call", extra: { k: 2 } };
    expect(mergeMetadata(defaults, outer, inner, perCall)).toEqual({
      environment: "production",
      user: "call",
      session: "s-inner",
      tags: ["d", "o", "i"],
      extra: { k: 2 },
    });
  });

  it("ignores undefined layers and undefined fields", () => {
    expect(mergeMetadata(undefined, { user: "a" }, undefined, { user: undefined })).toEqual({ user: "a" });
  });

  it("shares no object with its inputs and never mutates them", () => {
    const a: Metadata = Object.freeze({
      tags: Object.freeze(["a"]) as string[],
      extra: Object.freeze({ k: 1 }),
      prompt: Object.freeze({ name: "p", variables: Object.freeze({ v: "1" }) }),
    });
    const merged = mergeMetadata(a);
    expect(merged).toEqual(a);
    expect(merged.tags).not.toBe(a.tags);
    expect(merged.extra).not.toBe(a.extra);
    expect(merged.prompt).not.toBe(a.prompt);
    expect(merged.prompt?.variables).not.toBe(a.prompt?.variables);
  });
});
