import { describe, expect, it } from "vitest";
import { mergeLayer } from "./merge";
import { freezeSnapshot } from "./scope";
import type { Metadata } from "./types";

/** Layers as Tagalong holds them: snapshots it froze itself, merged earliest first. */
const merge = (...layers: Metadata[]): Metadata =>
  layers.reduce<Metadata>((base, layer) => mergeLayer(base, freezeSnapshot(layer)), freezeSnapshot({}));

describe("mergeLayer", () => {
  it("replaces scalars and prompt with the later value", () => {
    const merged = merge(
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
    expect(merge({ tags: ["a", "b"] }, { tags: ["b", "c", "a", "d"] }, { tags: ["e"] }).tags).toEqual([
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
  });

  it("merges extra key by key, later keys winning", () => {
    expect(merge({ extra: { a: 1, b: "x" } }, { extra: { b: "y", c: true } }).extra).toEqual({
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
    expect(merge(defaults, outer, inner, perCall)).toEqual({
      environment: "production",
      user: "call",
      session: "s-inner",
      tags: ["d", "o", "i"],
      extra: { k: 2 },
    });
  });

  it("ignores undefined fields", () => {
    expect(merge({ user: "a" }, { user: undefined })).toEqual({ user: "a" });
  });

  it("shares what the layer leaves alone, is frozen, and never mutates its inputs", () => {
    const base = merge({ tags: ["a"], extra: { k: 1 }, prompt: { name: "p", variables: { v: "1" } } });
    const layer = freezeSnapshot({ user: "u", tags: ["b"] });
    const merged = mergeLayer(base, layer);
    expect(merged).toEqual({
      user: "u",
      tags: ["a", "b"],
      extra: { k: 1 },
      prompt: { name: "p", variables: { v: "1" } },
    });
    expect(merged.extra).toBe(base.extra);
    expect(merged.prompt).toBe(base.prompt);
    expect(merged.tags).not.toBe(base.tags);
    expect(Object.isFrozen(merged) && Object.isFrozen(merged.tags)).toBe(true);
    expect(base.tags).toEqual(["a"]);
    expect(layer.tags).toEqual(["b"]);
  });
});
