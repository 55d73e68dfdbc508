import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { cloudflare } from "./destinations/cloudflare";
import { litellm } from "./destinations/litellm";
import { portkey } from "./destinations/portkey";
import { requesty } from "./destinations/requesty";
import { InvalidMetadataError, TagalongError } from "./errors";
import { withMetadata } from "./scope";
import { createTagalong } from "./tagalong";
import type { CompletedCall, Destination, Logger, Metadata, MetadataIssue } from "./types";

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

  it("prepares a call the same on its fast path and its full one, its metadata frozen", () => {
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { environment: "prod" },
    });
    // Clean: the fast path. With an extra key both destinations fill from the model: the full path,
    // which leaves it out of both and counts it.
    const clean = tagalong.prepare({ user: "u_1", tags: ["a"], extra: { k: 1 } });
    const refused = tagalong.prepare({ user: "u_1", tags: ["a"], extra: { k: 1, session_id: "x" } });
    expect(refused.metadata.extra).toEqual({ k: 1, session_id: "x" });
    expect(clean.body).toEqual(refused.body);
    expect(clean.headers).toEqual(refused.headers);
    expect(JSON.parse(clean.headers["x-portkey-metadata"]!)).toEqual({
      _environment: "prod",
      _user: "u_1",
      tags: "a",
      k: "1",
    });
    // The metadata (shared with the defaults and scopes) is frozen; a call's own form is not (see PreparedCall).
    for (const call of [clean, refused]) {
      for (const part of [call.metadata, call.metadata.tags, call.metadata.extra])
        expect(Object.isFrozen(part)).toBe(true);
      expect(Object.isFrozen(call.headers) || Object.isFrozen(call.body)).toBe(false);
    }
    expect(tagalong.stats()).toEqual({
      portkey: { tagged: 2, leftOut: { "reserved-key": 1 } },
      requesty: { tagged: 2, leftOut: { "reserved-key": 1 } },
    });
  });

  it("encodes with a destination's own encode when it replaces a built-in destination's", () => {
    const custom: Destination = { ...portkey(), encode: () => ({ headers: { "x-custom": "1" } }) };
    const prepared = createTagalong({ destinations: [custom] }).prepare({ user: "u_1" });
    expect(prepared.headers).toEqual({ "x-custom": "1" });
  });

  it("shares one frozen prepared form per scope, from its second call, when there is no per-call metadata", () => {
    const tagalong = createTagalong({ destinations: [portkey(), requesty()] });
    withMetadata({ user: "a" }, () => {
      // The scope's first call has a form of its own (a scope per request never pays for a shared one).
      const own = tagalong.prepare();
      expect(own.headers["x-portkey-metadata"]).toBe('{"_user":"a"}');
      const shared = tagalong.prepare();
      expect(shared).not.toBe(own);
      expect(shared).toEqual(own);
      expect(tagalong.prepare()).toBe(shared);
      for (const part of [shared, shared.headers, shared.body, shared.body.requesty, shared.metadata])
        expect(Object.isFrozen(part)).toBe(true);
      withMetadata({ user: "b" }, () => {
        expect(tagalong.prepare().metadata).toEqual({ user: "b" });
        expect(tagalong.prepare()).not.toBe(shared);
      });
      // A call with metadata of its own has a form of its own, and the shared one stays as it was.
      expect(tagalong.prepare({ session: "s_1" }).metadata).toEqual({ user: "a", session: "s_1" });
      expect(tagalong.prepare()).toBe(shared);
      // A second Tagalong in the same scope has forms of its own.
      const other = createTagalong({ destinations: [portkey()] });
      expect(other.prepare().body).toEqual({});
      expect(other.prepare()).toEqual(other.prepare());
      expect(tagalong.prepare()).toBe(shared);
    });
    expect(tagalong.prepare()).toBe(tagalong.prepare());
  });

  it("prepares a scope's first call as its later ones: per-call metadata over the scope over the defaults", () => {
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { environment: "prod", extra: { region: "eu" } },
    });
    const forms = (perCall?: { session: string }) =>
      withMetadata({ user: "u_1", extra: { team: "a" } }, () =>
        withMetadata({ extra: { team: "b" } }, () => [tagalong.prepare(perCall), tagalong.prepare(perCall)]),
      );
    for (const perCall of [undefined, { session: "s_1" }]) {
      const [first, second] = forms(perCall);
      expect(first).toEqual(second);
      expect(first!.metadata).toEqual({
        environment: "prod",
        user: "u_1",
        ...perCall,
        extra: { region: "eu", team: "b" },
      });
    }
  });

  it("leaves a scope's field out for the destination that refuses it, from the scope's first call, warning once", () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silent, warn: (m) => warnings.push(m) };
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger });
    const big = "x".repeat(200);
    const [first, second] = withMetadata({ user: "u_1", extra: { big } }, () => [
      tagalong.prepare(),
      tagalong.prepare(),
    ]);
    for (const prepared of [first!, second!]) {
      expect(prepared.headers["x-portkey-metadata"]).toBe('{"_user":"u_1"}');
      expect(prepared.body).toEqual({ requesty: { user_id: "u_1", extra: { big } } });
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      "left out of portkey's form: metadata.extra.big: 200 chars, Portkey allows 128",
    );
  });

  it("with onInvalid throw, rejects bad defaults, per-call metadata and destination rules where given", () => {
    const strict = { onInvalid: "throw" } as const;
    expect(() =>
      createTagalong({ destinations: [portkey()], metadata: { user: "x".repeat(131) }, ...strict }),
    ).toThrow("metadata.user: 131 chars, Portkey allows 128 (portkey)");
    const tagalong = createTagalong({ destinations: [portkey()], ...strict });
    expect(() => tagalong.prepare({ prompt: { name: "" } })).toThrow(InvalidMetadataError);
    expect(() => withMetadata({ extra: { big: "x".repeat(200) } }, () => tagalong.prepare())).toThrow(
      "metadata.extra.big: 200 chars, Portkey allows 128 (portkey)",
    );
    expect(() => withMetadata({ user: 7 } as never, () => tagalong.prepare())).toThrow(
      "metadata.user: must be a string, got 7",
    );
    expect(() => createTagalong({ destinations: [{} as Destination] })).toThrow(TagalongError);
    expect(() => createTagalong({} as never)).toThrow(TagalongError);
  });

  it("with onInvalid throw, names a refused tag by its place in the layer that set it", () => {
    const tagalong = createTagalong({
      destinations: [portkey()],
      metadata: { tags: ["app"] },
      onInvalid: "throw",
    });
    const thrown = (run: () => unknown): readonly MetadataIssue[] => {
      try {
        run();
      } catch (error) {
        if (InvalidMetadataError.isInstance(error)) return error.issues;
      }
      throw new Error("expected an InvalidMetadataError");
    };
    const comma = "must not contain a comma (Portkey joins tags with commas)";
    // The call's first tag, not the second of all (the defaults' tag comes first once merged).
    expect(thrown(() => tagalong.prepare({ tags: ["a,b"] }))).toEqual([
      { path: "tags[0]", rule: comma, destination: "portkey", code: "separator" },
    ]);
    // A scope's tag, by its place among the scope's tags, and the call's own beside it.
    expect(
      thrown(() => withMetadata({ tags: ["ok", "x,y"] }, () => tagalong.prepare({ tags: ["mine", "c,d"] }))),
    ).toEqual([
      {
        path: "tags[1]",
        rule: `${comma} (a tag of withMetadata)`,
        destination: "portkey",
        code: "separator",
      },
      { path: "tags[1]", rule: comma, destination: "portkey", code: "separator" },
    ]);
    expect(thrown(() => withMetadata({ tags: ["x,y"] }, () => tagalong.prepare()))).toEqual([
      {
        path: "tags[0]",
        rule: `${comma} (a tag of withMetadata)`,
        destination: "portkey",
        code: "separator",
      },
    ]);
  });

  it("warns about a left-out tag by its place in the layer that set it", () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silent, warn: (m) => warnings.push(m) };
    const tagalong = createTagalong({ destinations: [portkey()], metadata: { tags: ["app"] }, logger });
    // The call's first tag (the second of all once merged).
    tagalong.prepare({ tags: ["a,b"] });
    expect(warnings).toEqual([
      "left out of portkey's form: metadata.tags[0]: must not contain a comma (Portkey joins tags with commas) (said once per field and rule)",
    ]);
  });

  it("with onInvalid throw, refuses headers over the cap; the cap is configurable", () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, "v".repeat(100)]));
    const tagalong = createTagalong({ destinations: [portkey()], onInvalid: "throw", logger: silent });
    // The error names the field that would be left out first, and the destination.
    expect(() => tagalong.prepare({ extra: many })).toThrow(
      "metadata.extra.key10: 11113 bytes of headers, the cap is 8192 (maxHeaderBytes) (portkey)",
    );
    const roomy = createTagalong({ destinations: [portkey()], maxHeaderBytes: 16_000, onInvalid: "throw" });
    expect(roomy.prepare({ extra: many }).headers["x-portkey-metadata"]).toBeDefined();
  });

  it("over the header cap, leaves out a field that shrinks the headers, sized as the headers carry it", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [cloudflare({ fields: ["user", "session", "extra.small"] }), litellm()],
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    // The prompt's variables travel in no header; Cloudflare carries neither the prompt nor extra.a.
    const prepared = tagalong.prepare({
      user: "u_42",
      session: "s_1",
      prompt: { name: "support", variables: { doc: "d".repeat(20_000) } },
      extra: { small: "ok", a: "x".repeat(5000), b: "y".repeat(4000) },
    });
    expect(JSON.parse(prepared.headers["cf-aig-metadata"]!)).toEqual({
      user: "u_42",
      session: "s_1",
      small: "ok",
    });
    expect(JSON.parse(prepared.headers["x-litellm-spend-logs-metadata"]!)).toEqual({
      session_id: "s_1",
      prompt_name: "support",
      small: "ok",
      b: "y".repeat(4000),
    });
    expect(warnings).toEqual([
      "left out of litellm's form: metadata.extra.a: left out to keep the headers under the cap: 9196 bytes of headers, the cap is 8192 (maxHeaderBytes) (said once per field and rule)",
    ]);
    expect(tagalong.stats()).toEqual({
      cloudflare: { tagged: 1, leftOut: {} },
      litellm: { tagged: 1, leftOut: { "header-cap": 1 } },
    });
  });

  it("over the header cap, of two fields as long, leaves out the one in the fuller header", () => {
    const tagalong = createTagalong({
      destinations: [cloudflare({ fields: ["user", "session"] }), litellm()],
      logger: silent,
      maxHeaderBytes: 600,
    });
    // Both carry the session; LiteLLM's header also carries extra.note, so its session goes.
    const session = "s".repeat(300);
    const prepared = tagalong.prepare({ user: "u", session, extra: { note: "n".repeat(100) } });
    expect(JSON.parse(prepared.headers["cf-aig-metadata"]!)).toEqual({ user: "u", session });
    expect(JSON.parse(prepared.headers["x-litellm-spend-logs-metadata"]!)).toEqual({ note: "n".repeat(100) });
    // Only its header lost the session: the body has no cap.
    expect(prepared.body).toEqual({ litellm_session_id: session });
    expect(tagalong.stats().litellm!.leftOut).toEqual({ "header-cap": 1 });
    expect(tagalong.stats().cloudflare!.leftOut).toEqual({});
  });

  it("over the header cap, sizes non-ASCII text as its escapes in a JSON header", () => {
    const tagalong = createTagalong({ destinations: [litellm()], logger: silent });
    // 1400 chars take 8400 bytes as \uXXXX escapes: leaving them out is enough, the longer ASCII stays.
    const plain = "x".repeat(1500);
    const prepared = tagalong.prepare({ extra: { zh: "中".repeat(1400), plain } });
    expect(JSON.parse(prepared.headers["x-litellm-spend-logs-metadata"]!)).toEqual({ plain });
    expect(tagalong.stats().litellm!.leftOut).toEqual({ "header-cap": 1 });
  });

  it("by default, leaves a field out of the one destination that cannot carry it, warns once, counts it", () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silent, warn: (m) => warnings.push(m) };
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger });
    const long = "x".repeat(200);
    for (let i = 0; i < 3; i++) {
      const prepared = tagalong.prepare({ user: long, session: "s", tags: ["ok", "a,b"] });
      // The call goes out; Requesty carries what Portkey cannot.
      expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)).toEqual({ session_id: "s", tags: "ok" });
      expect(prepared.body).toEqual({
        requesty: { tags: ["ok", "a,b"], user_id: long, extra: { session_id: "s" } },
      });
    }
    expect(warnings).toEqual([
      "left out of portkey's form: metadata.user: 200 chars, Portkey allows 128 (said once per field and rule)",
      "left out of portkey's form: metadata.tags[1]: must not contain a comma (Portkey joins tags with commas) (said once per field and rule)",
    ]);
    expect(tagalong.stats()).toEqual({
      portkey: { tagged: 3, leftOut: { "max-length": 3, separator: 3 } },
      requesty: { tagged: 3, leftOut: {} },
    });
  });

  it("says once when it stops warning about new left-out fields, rather than falling silent", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey()],
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    // Keys from data: each one a field of its own, each too long for Portkey.
    for (let i = 0; i < 1001; i++) tagalong.prepare({ extra: { [`k${i}`]: "x".repeat(129) } });
    tagalong.prepare({ user: "u".repeat(129) });
    expect(warnings).toHaveLength(1001);
    expect(warnings[1000]).toBe(
      "1000 different fields left out so far, each warned about once: further ones are not warned about, only counted in stats()",
    );
    expect(tagalong.stats().portkey!.leftOut).toEqual({ "max-length": 1002 });
  });

  it("by default, leaves a value of the wrong type out of every destination and sends the rest", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    const prepared = tagalong.prepare({ user: 42, session: "s" } as never);
    expect(prepared.metadata).toEqual({ session: "s" });
    expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)).toEqual({ session_id: "s" });
    expect(warnings).toEqual([
      "left out of every destination: metadata.user: must be a string, got 42 (said once per field and rule)",
    ]);
    expect(tagalong.stats().requesty!.leftOut).toEqual({ type: 1 });
  });

  it("by default, leaves out a field a layer sets but the model refuses, rather than carrying a lower layer's value", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: {
        user: "anonymous",
        prompt: { name: "default-answer", version: 2 },
        extra: { plan: "free" },
      },
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    // The call names another template and another user: neither the defaults' prompt nor their user is its.
    const own = tagalong.prepare({
      user: 42,
      prompt: { name: "refund", version: 0 },
      extra: { plan: {} },
    } as never);
    expect(own.metadata).toEqual({ extra: {} });
    expect(own.headers).toEqual({});
    expect(own.body).toEqual({});
    // A scope's refused field, in every call of the scope and of the scopes inside it.
    withMetadata({ user: 42, session: "s" } as never, () => {
      expect(tagalong.prepare().metadata).toEqual({
        session: "s",
        prompt: { name: "default-answer", version: 2 },
        extra: { plan: "free" },
      });
      withMetadata({ tags: ["t"] }, () => {
        expect(JSON.parse(tagalong.prepare().headers["x-portkey-metadata"]!)).toEqual({
          session_id: "s",
          _prompt: "default-answer",
          plan: "free",
          tags: "t",
        });
        // A value set again by a layer above is carried.
        expect(tagalong.prepare({ user: "u_7" }).metadata.user).toBe("u_7");
        withMetadata({ user: "u_8" }, () => expect(tagalong.prepare().metadata.user).toBe("u_8"));
      });
    });
    expect(warnings).toEqual([
      "left out of every destination: metadata.user: must be a string, got 42 (said once per field and rule)",
      "left out of every destination: metadata.prompt.version: must be an integer >= 1, got 0 (said once per field and rule)",
      "left out of every destination: metadata.extra.plan: must be a string, a finite number or a boolean, got an object (said once per field and rule)",
    ]);
  });

  it("by default, fits the headers under the cap by leaving out the largest fields of the fullest form", () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, "v".repeat(100)]));
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger: silent });
    const prepared = tagalong.prepare({ user: "u", trace: "t".repeat(9000), extra: many });
    const bytes = Object.entries(prepared.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    expect(bytes).toBeLessThanOrEqual(8192);
    // Portkey lost the 9 kB trace and some extra keys; Requesty's body carries all of it.
    expect(prepared.headers["x-portkey-trace-id"]).toBeUndefined();
    expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)._user).toBe("u");
    const field = prepared.body.requesty as { trace_id: string; extra: Record<string, unknown> };
    expect(field.trace_id).toHaveLength(9000);
    expect(Object.keys(field.extra)).toHaveLength(100);
    expect(tagalong.stats().portkey!.leftOut["header-cap"]).toBeGreaterThan(1);
  });

  it("fits a call with thousands of extra keys under the cap without holding the call for seconds, leaving out no more than it must", () => {
    const extra = Object.fromEntries(
      Array.from({ length: 3000 }, (_, i) => [`k${1000 + i}`, "v".repeat(20)]),
    );
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger: silent });
    const started = performance.now();
    const prepared = tagalong.prepare({ user: "u", extra });
    // One by one, each left-out key re-encoded the form: 11 s here.
    expect(performance.now() - started).toBeLessThan(2000);
    const header = prepared.headers["x-portkey-metadata"]!;
    const bytes = "x-portkey-metadata".length + header.length + 4;
    expect(bytes).toBeLessThanOrEqual(8192);
    // One more key (`"k1234":"vvvvvvvvvvvvvvvvvvvv",`, 31 bytes) would not have fitted.
    expect(bytes + 31).toBeGreaterThan(8192);
    expect(JSON.parse(header)._user).toBe("u");
    expect(Object.keys(JSON.parse(header))).toHaveLength(
      3000 - tagalong.stats().portkey!.leftOut["header-cap"]! + 1,
    );
    expect(Object.keys((prepared.body.requesty as { extra: object }).extra)).toHaveLength(3000);
  });

  it("announces a default a destination refuses once, at createTagalong, and keeps it for the others", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { organization: "o".repeat(200) },
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("left out of portkey's form (in the defaults): metadata.organization");
    for (let i = 0; i < 3; i++) {
      const prepared = tagalong.prepare({ user: `u${i}` });
      expect(JSON.parse(prepared.headers["x-portkey-metadata"]!)).toEqual({ _user: `u${i}` });
      expect((prepared.body.requesty as { extra: object }).extra).toEqual({ organization: "o".repeat(200) });
    }
    expect(warnings).toHaveLength(1);
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

  it("warns of a misspelt flush or shutdown option, which would otherwise set no deadline without a word", async () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey()],
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    await tagalong.flush({ timeout: 100 } as never);
    await tagalong.shutdown({ timeoutms: 100 } as never);
    expect(warnings).toEqual([
      'flush: unknown option "timeout" (did you mean "timeoutMs"?); known options: timeoutMs',
      'shutdown: unknown option "timeoutms" (did you mean "timeoutMs"?); known options: timeoutMs',
    ]);
  });

  it("a shutdown given a timeoutMs that is not a number keeps its default deadline; a flush given one too long for a timer waits", async () => {
    const asked: Array<number | undefined> = [];
    let finish!: () => void;
    const slow = new Promise<void>((resolve) => (finish = resolve));
    const tagalong = createTagalong({
      destinations: [
        { name: "a", shutdown: async (o) => void asked.push(o?.timeoutMs) },
        { name: "b", flush: () => slow },
      ],
    });
    // A timer longer than 2^31 - 1 ms fires after 1 ms: that flush would return before its work.
    let flushed = false;
    const flush = tagalong.flush({ timeoutMs: 2 ** 40 }).then(() => (flushed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(flushed).toBe(false);
    finish();
    await flush;
    await tagalong.shutdown({ timeoutMs: Number.NaN });
    expect(asked).toEqual([5000]);
  });
});

describe("tags on the wire", () => {
  it("carry each tag once, whether a layer repeats one or two layers share it", () => {
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { tags: ["d", "d"] },
    });
    const portkeyTags = (perCall?: Metadata) =>
      JSON.parse(tagalong.prepare(perCall).headers["x-portkey-metadata"]!).tags as string;
    expect(portkeyTags()).toBe("d");
    expect(portkeyTags({ tags: ["x", "x"] })).toBe("d,x");
    expect(portkeyTags({ tags: ["x", "d", "x"] })).toBe("d,x");
    const alone = createTagalong({ destinations: [portkey(), requesty()] }).prepare({
      tags: ["x", "y", "x"],
    });
    expect(JSON.parse(alone.headers["x-portkey-metadata"]!).tags).toBe("x,y");
    expect((alone.body.requesty as { tags: string[] }).tags).toEqual(["x", "y"]);
  });

  it("too long together, in strict mode: the implied tags are left out first, the last first; the call's own tags too long alone are thrown for", () => {
    const warnings: string[] = [];
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      onInvalid: "throw",
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    const implied = { tags: Array.from({ length: 6 }, (_, i) => `run-${i}-${"x".repeat(20)}`) };
    const prepared = tagalong.prepare({ tags: ["vip"] }, { implied });
    const portkeyTags = JSON.parse(prepared.headers["x-portkey-metadata"]!).tags as string;
    expect(portkeyTags).toBe([...implied.tags.slice(0, 4), "vip"].join(","));
    expect((prepared.body.requesty as { tags: string[] }).tags).toEqual([...implied.tags, "vip"]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^left out of portkey's form \(implied by the adapter\): metadata\.tags\[5\]: left out to keep the tags within the rule: 165 chars, Portkey allows 128/,
      ),
      expect.stringMatching(/^left out of portkey's form \(implied by the adapter\): metadata\.tags\[4\]/),
    ]);
    const own = Array.from({ length: 6 }, (_, i) => `own-${i}-${"x".repeat(20)}`);
    expect(() => tagalong.prepare({ tags: own }, { implied: { tags: ["run"] } })).toThrow(
      InvalidMetadataError,
    );
  });
});

describe("stats()", () => {
  it("counts a recorder's calls once, when it records them, beside its left-out fields", () => {
    const seen: CompletedCall[] = [];
    const recorder: Destination = {
      name: "recorder",
      check: (m) =>
        m.user === "bad" ? [{ path: "user", rule: "no", destination: "recorder", code: "nope" }] : [],
      record: (c) => void seen.push(c),
    };
    const tagalong = createTagalong({ destinations: [portkey(), recorder], logger: silent });
    const prepared = tagalong.prepare({ user: "bad", session: "s" });
    tagalong.record({ ...call(), metadata: prepared.metadata });
    expect(seen[0]!.metadata).toEqual({ session: "s" });
    expect(tagalong.stats()).toEqual({
      portkey: { tagged: 1, leftOut: {} },
      recorder: { tagged: 1, leftOut: { nope: 1 } },
    });
  });
});

const named = (model: string): CompletedCall => ({ ...call(), model });

const context = new AsyncLocalStorage<string>();

function setup(options: { waitUntil?: (p: Promise<unknown>) => void; recordsInContext?: boolean } = {}) {
  const recorded: string[] = [];
  const contexts: Array<string | undefined> = [];
  const errors: unknown[] = [];
  const sink: Destination = {
    name: "sink",
    recordsInContext: options.recordsInContext,
    record: (c) => {
      recorded.push(c.model);
      contexts.push(context.getStore());
    },
  };
  const tagalong = createTagalong({
    destinations: [sink],
    logger: silent,
    onError: (e) => errors.push(e),
    waitUntil: options.waitUntil,
  });
  return { tagalong, recorded, contexts, errors };
}

// After the held builds: they run on a setImmediate, and setImmediate callbacks run in the order they were set.
const nextTask = () => new Promise((resolve) => setImmediate(resolve));

describe("recordLater", () => {
  it("builds in a later task, in the order the calls were handed over", async () => {
    const { tagalong, recorded } = setup();
    tagalong.recordLater(() => named("a"));
    tagalong.recordLater(() => named("b"));
    await Promise.resolve();
    expect(recorded).toEqual([]);
    await nextTask();
    expect(recorded).toEqual(["a", "b"]);
  });

  it("runs what is held before flush(), shutdown() and stats() look at the destinations", async () => {
    const { tagalong, recorded } = setup();
    tagalong.recordLater(() => named("flushed"));
    const flushed = tagalong.flush();
    expect(recorded).toEqual(["flushed"]);
    await flushed;
    tagalong.recordLater(() => named("counted"));
    expect(tagalong.stats().sink!.tagged).toBe(2);
    tagalong.recordLater(() => named("shut"));
    await tagalong.shutdown();
    expect(recorded).toEqual(["flushed", "counted", "shut"]);
  });

  it("builds run together in one later task, outside the calls' async context", async () => {
    const { tagalong, recorded, contexts } = setup();
    context.run("first", () => tagalong.recordLater(() => named("a")));
    context.run("second", () => tagalong.recordLater(() => named("b")));
    await nextTask();
    expect(recorded).toEqual(["a", "b"]);
    expect(contexts).toEqual(["first", "first"]);
  });

  it("runs at once, in the call's context, when a recorder reads the caller's context (recordsInContext)", () => {
    const { tagalong, recorded, contexts } = setup({ recordsInContext: true });
    context.run("mine", () => tagalong.recordLater(() => named("now")));
    expect(recorded).toEqual(["now"]);
    expect(contexts).toEqual(["mine"]);
  });

  it("runs at once where a serverless waitUntil keeps the invocation alive", () => {
    const { tagalong, recorded } = setup({ waitUntil: () => {} });
    tagalong.recordLater(() => named("now"));
    expect(recorded).toEqual(["now"]);
  });

  it("a build that throws is reported to onError, and the others are still recorded", async () => {
    const { tagalong, recorded, errors } = setup();
    tagalong.recordLater(() => {
      throw new Error("build failed");
    });
    tagalong.recordLater(() => named("after"));
    await tagalong.flush();
    expect(recorded).toEqual(["after"]);
    expect(errors).toEqual([expect.objectContaining({ message: "build failed" })]);
  });
});
