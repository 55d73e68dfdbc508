import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { InvalidMetadataError } from "./errors";
import { currentMetadata, currentScope, withMetadata } from "./scope";

describe("withMetadata / currentMetadata", () => {
  it("is empty outside any scope", () => {
    expect(currentMetadata()).toEqual({});
  });

  it("nests, merging inner over outer, and restores the outer scope after", () => {
    withMetadata({ user: "a", tags: ["x"] }, () => {
      withMetadata({ session: "s", tags: ["y"], extra: { k: 1 } }, () => {
        expect(currentMetadata()).toEqual({ user: "a", session: "s", tags: ["x", "y"], extra: { k: 1 } });
      });
      expect(currentMetadata()).toEqual({ user: "a", tags: ["x"] });
    });
    expect(currentMetadata()).toEqual({});
  });

  it("returns the callback's value, sync and async", async () => {
    expect(withMetadata({ user: "a" }, () => 42)).toBe(42);
    await expect(withMetadata({ user: "a" }, async () => 43)).resolves.toBe(43);
  });

  it("survives awaits, timers, promise chains and streams", async () => {
    const seen: string[] = [];
    await withMetadata({ user: "async" }, async () => {
      await sleep(1);
      seen.push(currentMetadata().user!);
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentMetadata().user!);
          resolve();
        }, 1),
      );
      await Promise.resolve().then(() => seen.push(currentMetadata().user!));
      const stream = new ReadableStream<string>({
        async pull(controller) {
          await sleep(1);
          controller.enqueue(currentMetadata().user!);
          controller.close();
        },
      });
      const reader = stream.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) seen.push(r.value);
    });
    expect(seen).toEqual(["async", "async", "async", "async"]);
  });

  it("has no cross-talk between 1,000 concurrent scopes", async () => {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        withMetadata({ user: `u${i}` }, async () => {
          await sleep(Math.random() * 5);
          const first = currentMetadata().user;
          return withMetadata({ session: `s${i}` }, async () => {
            await sleep(Math.random() * 5);
            return { i, first, user: currentMetadata().user, session: currentMetadata().session };
          });
        }),
      ),
    );
    const mismatches = results.filter(
      (r) => r.first !== `u${r.i}` || r.user !== `u${r.i}` || r.session !== `s${r.i}`,
    );
    expect(mismatches).toHaveLength(0);
  });

  it("with onInvalid throw, rejects bad metadata before the callback runs", () => {
    let ran = false;
    expect(() =>
      withMetadata(
        { prompt: { name: "" } },
        () => {
          ran = true;
        },
        { onInvalid: "throw" },
      ),
    ).toThrow(InvalidMetadataError);
    expect(ran).toBe(false);
    expect(() => withMetadata({ user: 7 } as never, () => 0, { onInvalid: "throw" })).toThrow(
      "metadata.user: must be a string, got 7",
    );
  });

  it("names a missing callback or swapped arguments, rather than failing inside the scope store", () => {
    expect(() => (withMetadata as (m: unknown) => unknown)({ user: "u" })).toThrow(
      "withMetadata(metadata, fn): fn must be the function to run in the scope, got undefined",
    );
    expect(() => withMetadata((() => 1) as never, { user: "u" } as never)).toThrow(
      "withMetadata(metadata, fn): fn must be the function to run in the scope, got object",
    );
  });

  it("refuses a misspelt option or an unknown policy before the callback runs, rather than dropping silently", () => {
    let ran = false;
    const run = (options: unknown) =>
      withMetadata({ user: 7 } as never, () => (ran = true), options as never);
    expect(() => run({ oninvalid: "throw" })).toThrow(
      'withMetadata: unknown option "oninvalid" (did you mean "onInvalid"?); known options: onInvalid',
    );
    expect(() => run({ onInvalid: "strict" })).toThrow(
      'withMetadata: onInvalid must be "throw" or "drop", got "strict"',
    );
    expect(ran).toBe(false);
    expect(run({ onInvalid: "drop" })).toBe(true);
  });

  it("by default, runs the callback without the bad fields, printing nothing itself", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const seen = withMetadata({ user: "ok", session: 5 } as never, () => currentScope()!);
      expect(seen.metadata).toEqual({ user: "ok" });
      // Each Tagalong reports the refused field through its own logger when a call uses the scope.
      expect(seen.issues).toEqual([{ path: "session", rule: "must be a string, got 5", code: "type" }]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it("does not mutate or freeze the caller's object, and is not changed by it later", () => {
    const mine = { user: "a", tags: ["x"] };
    withMetadata(mine, () => {
      mine.tags.push("late");
      expect(currentMetadata().tags).toEqual(["x"]);
      expect(Object.isFrozen(currentMetadata())).toBe(true);
    });
    expect(Object.isFrozen(mine)).toBe(false);
  });
});
