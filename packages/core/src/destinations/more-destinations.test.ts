import { describe, expect, it } from "vitest";
import { FULL_METADATA } from "../../test/fixtures/metadata";
import { InvalidMetadataError, TagalongError } from "../errors";
import { createTagalong } from "../tagalong";
import type { Destination, Metadata } from "../types";
import { CLOUDFLARE_METADATA_HEADER, type CloudflareField, cloudflare } from "./cloudflare";
import { helicone } from "./helicone";
import { LITELLM_METADATA_HEADER, litellm } from "./litellm";
import { openrouter } from "./openrouter";

const FULL = FULL_METADATA;
const prepare = (d: Destination, m: Metadata) =>
  createTagalong({ destinations: [d], onInvalid: "throw" }).prepare(m);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("helicone()", () => {
  it("maps the model to Helicone's headers", () => {
    expect(prepare(helicone({ sessionName: "Checkout", sessionPath: "/agent" }), FULL).headers).toEqual({
      "helicone-user-id": "u_42",
      "helicone-session-id": "s_1",
      "helicone-session-name": "Checkout",
      "helicone-session-path": "/agent",
      "helicone-prompt-id": "welcome",
      "helicone-property-trace": "t_9",
      "helicone-property-environment": "production",
      "helicone-property-organization": "acme",
      "helicone-property-tags": "checkout,beta",
      "helicone-property-team": "search",
      "helicone-property-retries": "3",
    });
  });
  it("rejects values a header cannot carry and keys that are not header tokens", () => {
    expect(() => prepare(helicone(), { user: "Zoë" })).toThrow(
      "metadata.user: must be printable ASCII to travel as the helicone-user-id header (helicone)",
    );
    expect(() => prepare(helicone(), { extra: { "team name": "x" } })).toThrow(
      /extra.team name: key must be a header token/,
    );
    expect(() => prepare(helicone(), { extra: { Environment: "x" } })).toThrow(/collides/);
  });
  it("refuses at setup a session name or path Helicone's headers cannot carry, instead of failing every call", () => {
    // A header value above U+00FF makes fetch throw on every call with a session.
    expect(() => helicone({ sessionName: "Support 🤖" })).toThrow(
      "helicone: sessionName must be printable ASCII (it travels as the helicone-session-name header)",
    );
    expect(() => helicone({ sessionName: "Zoë" })).toThrow(TagalongError);
    expect(() => helicone({ sessionName: " Support" })).toThrow(/must not start or end with a space/);
    expect(() => helicone({ sessionPath: "/a\nb" })).toThrow(TagalongError);
    // Helicone's session tree is path syntax: "/parent/child".
    expect(() => helicone({ sessionPath: "agent/search" })).toThrow(
      'helicone: sessionPath must start with "/" (Helicone reads it as a path, e.g. /agent/search)',
    );
    expect(() => helicone({ sessionName: 7 as unknown as string })).toThrow(/must be a string/);
    expect(
      prepare(helicone({ sessionName: "Support", sessionPath: "/agent" }), { session: "s" }).headers,
    ).toEqual({
      "helicone-session-id": "s",
      "helicone-session-name": "Support",
      "helicone-session-path": "/agent",
    });
  });
});

describe("cloudflare()", () => {
  it("sends the chosen fields, at most 5, as escaped JSON", () => {
    const h = prepare(cloudflare(), { ...FULL, user: "Zoë" }).headers[CLOUDFLARE_METADATA_HEADER]!;
    expect(h).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(h)).toEqual({
      user: "Zoë",
      session: "s_1",
      trace: "t_9",
      environment: "production",
      organization: "acme",
    });
    const chosen = prepare(cloudflare({ fields: ["user", "extra.retries", "tags"] }), FULL).headers[
      CLOUDFLARE_METADATA_HEADER
    ]!;
    expect(JSON.parse(chosen)).toEqual({ user: "u_42", retries: 3, tags: "checkout,beta" });
  });
  it("makes going over 5 entries an error, never a silent cut", () => {
    expect(() =>
      cloudflare({ fields: ["user", "session", "trace", "environment", "organization", "tags"] }),
    ).toThrow(TagalongError);
    const d = cloudflare({ fields: ["user", "session", "extra"] });
    expect(() => prepare(d, { user: "u", session: "s", extra: { a: 1, b: 2, c: 3, d: 4 } })).toThrow(
      "metadata.extra.d: makes entry 6 of cf-aig-metadata (user, session, a, b, c, d); Cloudflare keeps at most 5 (cloudflare)",
    );
    expect(prepare(d, { user: "u", extra: { a: 1 } }).headers[CLOUDFLARE_METADATA_HEADER]).toBe(
      '{"user":"u","a":1}',
    );
  });
  it("keeps the fields in the order they are chosen: past 5 entries, the last chosen are left out", () => {
    const d = cloudflare({
      fields: ["extra.plan", "user", "session", "trace", "environment", "organization"],
    });
    const m = {
      user: "u",
      session: "s",
      trace: "t",
      environment: "e",
      organization: "o",
      extra: { plan: "pro" },
    };
    const h = createTagalong({ destinations: [d], logger: silent }).prepare(m).headers;
    expect(JSON.parse(h[CLOUDFLARE_METADATA_HEADER]!)).toEqual({
      plan: "pro",
      user: "u",
      session: "s",
      trace: "t",
      environment: "e",
    });
    expect(() => prepare(d, m)).toThrow(
      "metadata.organization: makes entry 6 of cf-aig-metadata (plan, user, session, trace, environment, organization); Cloudflare keeps at most 5 (cloudflare)",
    );
    // Every extra key takes the place of "extra" among the fields.
    const all = cloudflare({ fields: ["user", "extra", "session"] });
    expect(() => prepare(all, { user: "u", session: "s", extra: { a: 1, b: 2, c: 3, d: 4 } })).toThrow(
      "metadata.session: makes entry 6 of cf-aig-metadata (user, a, b, c, d, session); Cloudflare keeps at most 5 (cloudflare)",
    );
  });
  it("does not count an extra key it leaves out as reserved among the 5 entries", () => {
    const d = cloudflare({ fields: ["user", "extra"] });
    const m = { user: "u", extra: { user: "x", a: 1, b: 2, c: 3, d: 4 } };
    const warned: string[] = [];
    const logger = { debug() {}, info() {}, warn: (s: string) => warned.push(s), error() {} };
    const tagalong = createTagalong({ destinations: [d], logger });
    expect(JSON.parse(tagalong.prepare(m).headers[CLOUDFLARE_METADATA_HEADER]!)).toEqual({
      user: "u",
      a: 1,
      b: 2,
      c: 3,
      d: 4,
    });
    expect(tagalong.stats().cloudflare!.leftOut).toEqual({ "reserved-key": 1 });
    expect(warned).toHaveLength(1);
    const strict = createTagalong({ destinations: [d], onInvalid: "throw" });
    expect(() => strict.prepare(m)).toThrow(
      new InvalidMetadataError([
        {
          path: "extra.user",
          rule: 'collides with the key "user" that Cloudflare fills from the model in cf-aig-metadata',
          destination: "cloudflare",
          code: "reserved-key",
        },
      ]),
    );
  });
  it("refuses at setup a field it does not know, or one named twice, instead of sending nothing for it", () => {
    expect(() => cloudflare({ fields: ["user", "sesion" as CloudflareField] })).toThrow(
      'cloudflare({ fields }): unknown field "sesion" (did you mean "session"?); fields are user, session, trace, environment, organization, tags, prompt, extra, extra.<key>',
    );
    expect(() => cloudflare({ fields: ["user", "prompt.version" as CloudflareField] })).toThrow(
      TagalongError,
    );
    expect(() => cloudflare({ fields: ["extra."] })).toThrow(TagalongError);
    expect(() => cloudflare({ fields: ["user", "user"] })).toThrow(
      'cloudflare({ fields }): "user" is named twice',
    );
    expect(() => cloudflare({ fields: "user" as unknown as CloudflareField[] })).toThrow(
      "cloudflare({ fields }): must be an array",
    );
  });
  it("sends nothing when no chosen field is set", () => {
    expect(prepare(cloudflare(), { tags: ["x"] }).headers).toEqual({});
  });
});

describe("litellm()", () => {
  it("puts user and tags in headers, the rest in spend-logs metadata, the session in its proxy-only body field", () => {
    const p = prepare(litellm(), FULL);
    expect(p.headers["x-litellm-end-user-id"]).toBe("u_42");
    expect(p.headers["x-litellm-tags"]).toBe("checkout,beta");
    expect(JSON.parse(p.headers[LITELLM_METADATA_HEADER]!)).toEqual({
      session_id: "s_1",
      trace_id: "t_9",
      environment: "production",
      organization: "acme",
      prompt_name: "welcome",
      prompt_version: 2,
      team: "search",
      retries: 3,
    });
    expect(p.body).toEqual({ litellm_session_id: "s_1" });
  });
  it("rejects users and tags its plain headers cannot carry", () => {
    expect(() => prepare(litellm(), { user: "a\nb" })).toThrow(InvalidMetadataError);
    expect(() => prepare(litellm(), { tags: ["a,b"] })).toThrow(/comma/);
    expect(() => prepare(litellm(), { tags: ["é"] })).toThrow(/printable ASCII/);
  });
});

describe("openrouter()", () => {
  it("maps the model to user, session_id and the trace object", () => {
    expect(prepare(openrouter(), FULL).body).toEqual({
      user: "u_42",
      session_id: "s_1",
      trace: {
        trace_id: "t_9",
        environment: "production",
        organization: "acme",
        tags: ["checkout", "beta"],
        generation_name: "welcome",
        prompt_version: 2,
        team: "search",
        retries: 3,
      },
    });
    expect(prepare(openrouter(), FULL).headers).toEqual({});
  });
  it("limits the session to 128 chars", () => {
    expect(() => prepare(openrouter(), { session: "s".repeat(129) })).toThrow(
      "metadata.session: 129 chars, OpenRouter allows 128 (openrouter)",
    );
  });
});
