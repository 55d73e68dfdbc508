import { describe, expect, it } from "vitest";
import { createTagalong } from "../tagalong";
import type { Metadata } from "../types";
import { PORTKEY_METADATA_HEADER, PORTKEY_TRACE_HEADER, portkey } from "./portkey";

const encode = (m: Metadata, options = {}) =>
  createTagalong({ destinations: [portkey(options)], metadata: m }).prepare();
const sent = (m: Metadata) => JSON.parse(encode(m).headers[PORTKEY_METADATA_HEADER]!);

describe("portkey(): where each field lands", () => {
  it("maps every row of the table in docs/metadata.md", () => {
    const prepared = encode({
      user: "u_42",
      session: "s_1",
      trace: "t_9",
      environment: "production",
      organization: "acme",
      tags: ["checkout", "beta"],
      prompt: { name: "welcome", version: 2, variables: { name: "Ann" } },
      extra: { team: "search", retries: 3, paid: true },
    });
    expect(JSON.parse(prepared.headers[PORTKEY_METADATA_HEADER]!)).toEqual({
      _user: "u_42",
      _environment: "production",
      _organisation: "acme",
      _prompt: "welcome",
      session_id: "s_1",
      tags: "checkout,beta",
      team: "search",
      retries: "3",
      paid: "true",
    });
    expect(prepared.headers[PORTKEY_TRACE_HEADER]).toBe("t_9");
    expect(prepared.body).toEqual({});
  });

  it("sends no header when there is no metadata", () => {
    expect(encode({}).headers).toEqual({});
  });

  it("sends a trace-only call as the trace header alone", () => {
    expect(encode({ trace: "t" }).headers).toEqual({ [PORTKEY_TRACE_HEADER]: "t" });
  });

  it("sends the legacy header and the forward-headers request only when asked", () => {
    const h = encode({ user: "u" }, { legacyHeader: true, forwardMetadata: true }).headers;
    expect(h["x-portkey-meta"]).toBe(h[PORTKEY_METADATA_HEADER]);
    expect(h["x-portkey-forward-headers"]).toBe(PORTKEY_METADATA_HEADER);
    expect(encode({ user: "u" }).headers["x-portkey-meta"]).toBeUndefined();
  });

  it("carries non-ASCII users as escaped JSON that parses back exactly", () => {
    const h = encode({ user: "Zoë 😀" }).headers[PORTKEY_METADATA_HEADER]!;
    expect(h).toBe('{"_user":"Zo\\u00eb \\ud83d\\ude00"}');
    expect(JSON.parse(h)._user).toBe("Zoë 😀");
  });

  it("never lets CR/LF into a header", () => {
    expect(sent({ user: "a\r\nx-evil: 1" })._user).toBe("a\r\nx-evil: 1");
    expect(encode({ user: "a\r\nb" }).headers[PORTKEY_METADATA_HEADER]).not.toMatch(/[\r\n]/);
  });
});

describe("portkey(): rules", () => {
  const issues = (m: Metadata, options = {}) => portkey(options).check!(m);

  it("allows values of up to 128 chars and names the field and destination beyond", () => {
    expect(issues({ user: "x".repeat(128) })).toEqual([]);
    expect(issues({ user: "x".repeat(131) })).toEqual([
      { path: "user", rule: "131 chars, Portkey allows 128", destination: "portkey", code: "max-length" },
    ]);
    expect(issues({ extra: { note: "y".repeat(129) } })[0]?.path).toBe("extra.note");
    expect(issues({ prompt: { name: "p".repeat(200) } })[0]?.path).toBe("prompt.name");
    expect(issues({ user: "x".repeat(200) }, { maxValueLength: 256 })).toEqual([]);
  });

  it("checks the joined tags against the limit", () => {
    expect(issues({ tags: ["a".repeat(64), "b".repeat(64)] })[0]).toMatchObject({
      path: "tags",
      rule: "129 chars, Portkey allows 128",
    });
  });

  it("rejects tags with commas, which the joined form cannot carry", () => {
    expect(issues({ tags: ["ok", "a,b"] })).toEqual([
      {
        path: "tags[1]",
        rule: "must not contain a comma (Portkey joins tags with commas)",
        destination: "portkey",
        code: "separator",
      },
    ]);
  });

  it("rejects extra keys that collide with Portkey's own", () => {
    expect(issues({ extra: { _user: "x", tags: "y" } }).map((i) => i.path)).toEqual([
      "extra._user",
      "extra.tags",
    ]);
  });

  it("requires a printable ASCII trace id", () => {
    expect(issues({ trace: "t-1" })).toEqual([]);
    expect(issues({ trace: "tracé" })[0]?.path).toBe("trace");
    expect(issues({ trace: "a\nb" })[0]?.path).toBe("trace");
  });
});

describe("portkey({ keys }): Portkey's two key conventions", () => {
  const full: Metadata = {
    user: "u",
    environment: "prod",
    organization: "acme",
    prompt: { name: "welcome" },
  };
  it("sends the predefined, indexed keys by default", () => {
    expect(sent(full)).toEqual({
      _user: "u",
      _environment: "prod",
      _organisation: "acme",
      _prompt: "welcome",
    });
  });
  it("sends plain keys when asked, the user still as _user", () => {
    expect(JSON.parse(encode(full, { keys: "plain" }).headers["x-portkey-metadata"]!)).toEqual({
      _user: "u",
      environment: "prod",
      organisation: "acme",
      prompt: "welcome",
    });
  });
  it("reserves the keys of the convention in use, and Portkey's predefined keys in both", () => {
    expect(portkey({ keys: "plain" }).check!({ extra: { environment: "x", _environment: "y" } })).toEqual([
      expect.objectContaining({ path: "extra.environment", code: "reserved-key" }),
      {
        path: "extra._environment",
        rule: 'collides with "_environment", a key Portkey defines itself in x-portkey-metadata',
        destination: "portkey",
        code: "reserved-key",
      },
    ]);
    expect(portkey().check!({ extra: { environment: "x", _prompt: "y" } })).toEqual([
      expect.objectContaining({ path: "extra._prompt", code: "reserved-key" }),
    ]);
    expect(() => portkey({ keys: "indexed" as never })).toThrow(
      'portkey: keys must be "predefined" or "plain"',
    );
  });
});
