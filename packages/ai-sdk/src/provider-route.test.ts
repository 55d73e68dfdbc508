import { describe, expect, it } from "vitest";
import { bodyRoute, withBodyFieldsInProviderOptions } from "./provider-route";

const body = { requesty: { user_id: "u_1", tags: ["a"] } };

describe("where the body fields go, by model.provider", () => {
  it("routes each provider package its own way", () => {
    expect(bodyRoute("requesty.chat")).toEqual({ kind: "requesty-flat" });
    expect(bodyRoute("openai.chat")).toEqual({ kind: "fetch", providerName: "openai" });
    expect(bodyRoute("openai.responses")).toEqual({ kind: "fetch", providerName: "openai" });
    expect(bodyRoute("azure.chat")).toEqual({ kind: "fetch", providerName: "azure" });
    expect(bodyRoute("my-gateway.chat")).toEqual({
      kind: "provider-options",
      key: "my-gateway",
      camelKey: "myGateway",
    });
    // @requesty/ai-sdk 2's completion model spreads providerOptions.requesty into the body itself.
    expect(bodyRoute("requesty.completion")).toEqual({
      kind: "provider-options",
      key: "requesty",
      camelKey: "requesty",
    });
  });

  it("@requesty/ai-sdk takes the field's keys flat, the caller's keys winning", () => {
    const theirs = { requesty: { user_id: "mine", auto_cache: true } };
    expect(withBodyFieldsInProviderOptions(theirs, bodyRoute("requesty.chat"), body)).toEqual({
      requesty: { user_id: "mine", auto_cache: true, tags: ["a"] },
    });
    expect(theirs).toEqual({ requesty: { user_id: "mine", auto_cache: true } });
  });

  it("openai-compatible: under the raw name, and under the camelCase name when the caller uses it", () => {
    const route = bodyRoute("my-gateway.chat");
    expect(withBodyFieldsInProviderOptions({}, route, body)).toEqual({ "my-gateway": body });
    const theirs = { myGateway: { requesty: { auto_cache: true }, reasoningEffort: "low" } };
    expect(withBodyFieldsInProviderOptions(theirs, route, body)).toEqual({
      "my-gateway": body,
      myGateway: { requesty: { user_id: "u_1", tags: ["a"], auto_cache: true }, reasoningEffort: "low" },
    });
  });

  it("leaves the options alone for a provider only a fetch can reach", () => {
    const theirs = { openai: { user: "x" } };
    expect(withBodyFieldsInProviderOptions(theirs, bodyRoute("openai.chat"), body)).toBe(theirs);
  });
});
