import { describe, expect, it } from "vitest";
import { judgeCloudflare, judgeHelicone, judgeLiteLLM, judgeOpenRouter } from "./gateway-judges";

describe("judgeHelicone", () => {
  it("reads user, session, prompt and properties", () => {
    const { view, violations } = judgeHelicone({
      "helicone-user-id": "u",
      "helicone-session-id": "s",
      "helicone-session-path": "/a/b",
      "helicone-prompt-id": "p",
      "helicone-property-team": "search",
      authorization: "Bearer x",
    });
    expect(violations).toEqual([]);
    expect(view).toMatchObject({
      userId: "u",
      sessionId: "s",
      sessionPath: "/a/b",
      promptId: "p",
      properties: { team: "search" },
    });
  });
  it("flags non-ASCII values, bad paths and a path without a session", () => {
    expect(judgeHelicone({ "helicone-user-id": "Zoë" }).violations).toEqual([
      "helicone: helicone-user-id is not printable ASCII",
    ]);
    expect(judgeHelicone({ "helicone-session-path": "a" }).violations).toEqual([
      "helicone: helicone-session-path must start with /",
      "helicone: session name or path without helicone-session-id",
    ]);
  });
});

describe("judgeCloudflare", () => {
  it("accepts up to 5 scalar entries and flags more, nested values and bad JSON", () => {
    expect(judgeCloudflare({ "cf-aig-metadata": '{"a":1,"b":"x","c":true}' }).violations).toEqual([]);
    expect(
      judgeCloudflare({ "cf-aig-metadata": '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}' }).violations,
    ).toEqual(["cloudflare: cf-aig-metadata has 6 entries (the gateway keeps 5)"]);
    expect(judgeCloudflare({ "cf-aig-metadata": '{"a":{"b":1}}' }).violations).toEqual([
      'cloudflare: cf-aig-metadata value "a" must be a string, number or boolean',
    ]);
    expect(judgeCloudflare({ "cf-aig-metadata": "{" }).violations).toEqual([
      "cloudflare: cf-aig-metadata is not valid JSON",
    ]);
  });
});

describe("judgeLiteLLM", () => {
  it("reads headers and the session body field, and flags body metadata that may reach the provider", () => {
    const ok = judgeLiteLLM(
      { "x-litellm-end-user-id": "u", "x-litellm-tags": "a,b", "x-litellm-spend-logs-metadata": '{"k":"v"}' },
      { litellm_session_id: "s" },
    );
    expect(ok.violations).toEqual([]);
    expect(ok.view).toEqual({ userId: "u", tags: ["a", "b"], spendLogsMetadata: { k: "v" }, sessionId: "s" });
    expect(judgeLiteLLM({ "x-litellm-tags": "a,,b" }, { metadata: { k: 1 } }).violations).toEqual([
      "litellm: x-litellm-tags has an empty tag",
      "litellm: body metadata without store may reach the provider",
    ]);
  });
});

describe("judgeOpenRouter", () => {
  it("reads user, session and trace, and flags their limits", () => {
    expect(
      judgeOpenRouter({ user: "u", session_id: "s", trace: { trace_id: "t", k: 1 } }).violations,
    ).toEqual([]);
    expect(
      judgeOpenRouter({ user: 1, session_id: "s".repeat(129), trace: { trace_id: 2 } }).violations,
    ).toEqual([
      "openrouter: user must be a string",
      "openrouter: session_id has 129 chars (max 128)",
      "openrouter: trace.trace_id must be a string",
    ]);
  });
});
