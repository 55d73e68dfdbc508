import { describe, expect, it } from "vitest";
import { FULL_METADATA } from "../../test/fixtures/metadata";
import { InvalidMetadataError, TagalongError } from "../errors";
import { createTagalong } from "../tagalong";
import type { Destination, Metadata } from "../types";
import { CLOUDFLARE_METADATA_HEADER, cloudflare } from "./cloudflare";
import { helicone } from "./helicone";
import { LITELLM_METADATA_HEADER, litellm } from "./litellm";
import { openrouter } from "./openrouter";

const FULL = FULL_METADATA;
const prepare = (d: Destination, m: Metadata) =>
  createTagalong({ destinations: [d], onInvalid: "throw" }).prepare(m);

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
