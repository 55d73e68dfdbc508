import { describe, expect, it } from "vitest";
import { portkey } from "./destinations/portkey";
import { requesty } from "./destinations/requesty";
import { InvalidMetadataError, TagalongError } from "./errors";
import { withMetadata } from "./scope";
import { createTagalong } from "./tagalong";
import type { CompletedCall, Destination, Logger } from "./types";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function call(): CompletedCall {
  const now = new Date();
  return {
    provider: "openai",
    model: "m",
    input: [],
    output: [],
    startTime: now,
    endTime: now,
    status: "success",
    metadata: {},
  };
}

describe("createTagalong", () => {
  it("resolves defaults < scope < per-call and encodes every destination", () => {
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { environment: "prod", tags: ["d"] },
    });
    const prepared = withMetadata({ user: "u_1", tags: ["s"] }, () =>
      tagalong.prepare({ tags: ["c"], extra: { k: 1 } }),
    );
    expect(prepared.metadata).toEqual({
      environment: "prod",
      user: "u_1",
      tags: ["d", "s", "c"],
      extra: { k: 1 },
    });
    expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)).toEqual({
      _environment: "prod",
      _user: "u_1",
      tags: "d,s,c",
      k: "1",
    });
    expect(prepared.body).toEqual({
      requesty: { tags: ["d", "s", "c"], user_id: "u_1", extra: { environment: "prod", k: 1 } },
    });
  });

  it("shares one frozen prepared form per scope when there is no per-call metadata", () => {
    const tagalong = createTagalong({ destinations: [portkey()] });
    withMetadata({ user: "a" }, () => {
      const first = tagalong.prepare();
      expect(tagalong.prepare()).toBe(first);
      expect(Object.isFrozen(first.headers)).toBe(true);
      withMetadata({ user: "b" }, () => expect(tagalong.prepare()).not.toBe(first));
    });
    expect(tagalong.prepare()).toBe(tagalong.prepare());
  });

  it("rejects bad defaults, per-call metadata and destination rules where they are given", () => {
    expect(() => createTagalong({ destinations: [portkey()], metadata: { user: "x".repeat(131) } })).toThrow(
      "metadata.user: 131 chars, Portkey allows 128 (portkey)",
    );
    const tagalong = createTagalong({ destinations: [portkey()] });
    expect(() => tagalong.prepare({ prompt: { name: "" } })).toThrow(InvalidMetadataError);
    expect(() => withMetadata({ extra: { big: "x".repeat(200) } }, () => tagalong.prepare())).toThrow(
      "metadata.extra.big: 200 chars, Portkey allows 128 (portkey)",
    );
    expect(() => createTagalong({ destinations: [{} as Destination] })).toThrow(TagalongError);
    expect(() => createTagalong({} as never)).toThrow(TagalongError);
  });

  it("caps the total header size, configurably", () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, "v".repeat(100)]));
    const tagalong = createTagalong({ destinations: [portkey()], logger: silent });
    expect(() => tagalong.prepare({ extra: many })).toThrow(/bytes of headers, the cap is 8192/);
    const roomy = createTagalong({ destinations: [portkey()], maxHeaderBytes: 16_000 });
    expect(roomy.prepare({ extra: many }).headers["x-portkey-metadata"]).toBeDefined();
  });

  it("drops bad fields with a warning when onInvalid is drop", () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silent, warn: (m) => warnings.push(m) };
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], onInvalid: "drop", logger });
    const prepared = tagalong.prepare({ user: "x".repeat(200), session: "s", tags: ["ok", "a,b"] });
    expect(prepared.metadata).toEqual({ session: "s", tags: ["ok"] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("metadata.user: 200 chars, Portkey allows 128 (portkey)");
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, "v".repeat(100)]));
    expect(tagalong.prepare({ user: "u", extra: many }).metadata).toEqual({ user: "u" });
  });

  it("hands completed calls to recorders, and keeps their failures off the caller's path", async () => {
    const seen: CompletedCall[] = [];
    const errors: unknown[] = [];
    const ok: Destination = { name: "ok", record: (c) => seen.push(c), flush: async () => {} };
    const broken: Destination = {
      name: "broken",
      record() {
        throw new Error("boom");
      },
    };
    const tagalong = createTagalong({ destinations: [broken, ok], onError: (e) => errors.push(e) });
    expect(tagalong.recordsCalls).toBe(true);
    expect(() => tagalong.record(call())).not.toThrow();
    expect(seen).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("boom");
    await expect(tagalong.flush()).resolves.toBeUndefined();
    expect(createTagalong({ destinations: [portkey()] }).recordsCalls).toBe(false);
  });

  it("survives an onError hook that throws", () => {
    const tagalong = createTagalong({
      destinations: [{ name: "x", record: () => Promise.reject(new Error("never awaited")) as never }],
      onError() {
        throw new Error("bad hook");
      },
    });
    expect(() => tagalong.reportError(new Error("e"))).not.toThrow();
  });

  it("calls start hooks on every call, cached or not, and keeps their failures off the caller's path", () => {
    const started: unknown[] = [];
    const errors: unknown[] = [];
    const tagalong = createTagalong({
      destinations: [
        portkey(),
        { name: "span", start: (m) => started.push(m.user) },
        {
          name: "broken",
          start() {
            throw new Error("start failed");
          },
        },
      ],
      onError: (e) => errors.push(e),
    });
    withMetadata({ user: "a" }, () => {
      tagalong.prepare();
      tagalong.prepare();
      tagalong.prepare({ user: "b" });
    });
    expect(started).toEqual(["a", "a", "b"]);
    expect(errors).toHaveLength(3);
  });

  it("shuts down every destination, flushing those without shutdown", async () => {
    const order: string[] = [];
    const tagalong = createTagalong({
      destinations: [
        { name: "a", flush: async () => void order.push("a.flush") },
        {
          name: "b",
          flush: async () => void order.push("b.flush"),
          shutdown: async () => void order.push("b.shutdown"),
        },
      ],
    });
    await tagalong.shutdown();
    expect(order.sort()).toEqual(["a.flush", "b.shutdown"]);
  });
});
