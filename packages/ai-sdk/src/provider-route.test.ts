import { describe, expect, it } from "vitest";
import { bodyRoute, unreachableBodyFields, withBodyFieldsInProviderOptions } from "./provider-route";

const body = { requesty: { user_id: "u_1", tags: ["a"] } };
const V3 = { specificationVersion: "v3" };

describe("where the body fields go, by model.provider", () => {
  it("routes each provider package its own way", () => {
    expect(bodyRoute({ provider: "requesty.chat" })).toEqual({ kind: "nested", key: "requesty" });
    expect(bodyRoute({ provider: "openai.chat" })).toEqual({ kind: "fetch", providerName: "openai" });
    expect(bodyRoute({ provider: "openai.responses" })).toEqual({ kind: "fetch", providerName: "openai" });
    expect(bodyRoute({ provider: "azure.chat" })).toEqual({ kind: "fetch", providerName: "azure" });
    expect(bodyRoute({ provider: "my-gateway.chat" })).toEqual({
      kind: "provider-options",
      key: "my-gateway",
      camelKey: "myGateway",
    });
    // @requesty/ai-sdk 2's completion model spreads providerOptions.requesty into the body itself.
    expect(bodyRoute({ provider: "requesty.completion" })).toEqual({
      kind: "provider-options",
      key: "requesty",
      camelKey: "requesty",
    });
  });

  it("models of one class and provider, made apart (a model per call), share one route, found once", () => {
    class Model {
      constructor(readonly provider: string) {}
    }
    const route = bodyRoute(new Model("gw.chat"));
    expect(bodyRoute(new Model("gw.chat"))).toBe(route);
    expect(bodyRoute(new Model("requesty.chat"))).toEqual({ kind: "nested", key: "requesty" });
    expect(bodyRoute(new Model("gw.chat"))).toEqual(route);
    expect(bodyRoute(Object.assign(Object.create(null), { provider: "openai.chat" }))).toEqual({
      kind: "fetch",
      providerName: "openai",
    });
  });

  it("a nesting provider (@requesty/ai-sdk) takes the field named like it flat, the caller's keys winning", () => {
    const theirs = { requesty: { user_id: "mine", auto_cache: true } };
    expect(
      withBodyFieldsInProviderOptions(theirs, bodyRoute({ provider: "requesty.chat" }), body, V3),
    ).toEqual({
      requesty: { user_id: "mine", auto_cache: true, tags: ["a"] },
    });
    expect(theirs).toEqual({ requesty: { user_id: "mine", auto_cache: true } });
  });

  it("@requesty/ai-sdk takes other top-level fields through extraBody (version 3), merged with the caller's", () => {
    const theirs = { requesty: { extraBody: { user: "mine" } } };
    const fields = { ...body, user: "u_1", session_id: "s_1" };
    expect(
      withBodyFieldsInProviderOptions(theirs, bodyRoute({ provider: "requesty.chat" }), fields, V3),
    ).toEqual({
      // No key the provider sends flat: the requesty field goes in extraBody too.
      requesty: { extraBody: { user: "mine", requesty: { user_id: "u_1", tags: ["a"] }, session_id: "s_1" } },
    });
    // @requesty/ai-sdk 2 would nest extraBody inside the body's requesty: it is left out there.
    expect(
      withBodyFieldsInProviderOptions(theirs, bodyRoute({ provider: "requesty.chat" }), fields, {
        specificationVersion: "v2",
      }),
    ).toEqual({ requesty: { user_id: "u_1", tags: ["a"], extraBody: { user: "mine" } } });
    const route = bodyRoute({ provider: "requesty.chat" });
    expect(unreachableBodyFields(route, { specificationVersion: "v3" }, fields)).toEqual([]);
    expect(unreachableBodyFields(route, { specificationVersion: "v2" }, fields)).toEqual([
      "user",
      "session_id",
    ]);
    // Whether a fetch-only provider carries them is found per call, on the wire (see the middleware).
    expect(unreachableBodyFields(bodyRoute({ provider: "openai.chat" }), {}, fields)).toEqual([]);
  });

  it("openai-compatible: under the raw name, and under the camelCase name when the caller uses it", () => {
    const route = bodyRoute({ provider: "my-gateway.chat" });
    expect(withBodyFieldsInProviderOptions({}, route, body, V3)).toEqual({ "my-gateway": body });
    const theirs = { myGateway: { requesty: { auto_cache: true }, reasoningEffort: "low" } };
    expect(withBodyFieldsInProviderOptions(theirs, route, body, V3)).toEqual({
      "my-gateway": body,
      myGateway: { requesty: { user_id: "u_1", tags: ["a"], auto_cache: true }, reasoningEffort: "low" },
    });
  });

  it("leaves the options alone for a provider only a fetch can reach", () => {
    const theirs = { openai: { user: "x" } };
    expect(withBodyFieldsInProviderOptions(theirs, bodyRoute({ provider: "openai.chat" }), body, V3)).toBe(
      theirs,
    );
  });

  it("a known package's model class decides, whatever its provider's name", () => {
    class OpenAICompatibleChatLanguageModel {
      constructor(readonly provider: string) {}
    }
    class OpenAIChatLanguageModel {
      constructor(readonly provider: string) {}
    }
    class RequestyChatLanguageModel {
      constructor(readonly provider: string) {}
    }
    for (const name of ["openai", "azure", "requesty"]) {
      expect(bodyRoute(new OpenAICompatibleChatLanguageModel(`${name}.chat`))).toEqual({
        kind: "provider-options",
        key: name,
        camelKey: name,
      });
    }
    expect(bodyRoute(new OpenAIChatLanguageModel("requesty.chat"))).toEqual({
      kind: "fetch",
      providerName: "requesty",
    });
    expect(bodyRoute(new RequestyChatLanguageModel("requesty.chat"))).toEqual({
      kind: "nested",
      key: "requesty",
    });
  });

  it("@requesty/ai-sdk: the provider's own extraBody (its requesty keys, its other keys) and the caller's user win over ours; flat keys replace its requesty", () => {
    const route = bodyRoute({ provider: "requesty.chat" });
    const model = {
      specificationVersion: "v3",
      config: { extraBody: { requesty: { auto_cache: true, user_id: "config" }, session_id: "mine" } },
      settings: { extraBody: { trace: "mine" } },
    };
    const fields = { ...body, user: "u_1", session_id: "s_1", trace: "t_1" };
    expect(withBodyFieldsInProviderOptions({}, route, fields, model)).toEqual({
      requesty: {
        extraBody: { requesty: { user_id: "config", auto_cache: true, tags: ["a"] }, user: "u_1" },
      },
    });
    expect(
      withBodyFieldsInProviderOptions(
        { requesty: { user: "caller", user_id: "per-call" } },
        route,
        fields,
        model,
      ),
    ).toEqual({
      // The provider sends the call's flat keys alone as the body's requesty, not the extraBody's.
      requesty: { user: "caller", user_id: "per-call", tags: ["a"] },
    });
    const withUserSetting = { ...model, settings: { user: "settings-user" } };
    expect(withBodyFieldsInProviderOptions({}, route, fields, withUserSetting).requesty?.extraBody).toEqual({
      requesty: { user_id: "config", auto_cache: true, tags: ["a"] },
      trace: "t_1",
    });
  });

  it("openai-compatible: a field the caller set under the generic openaiCompatible or openai-compatible key is the caller's", () => {
    const route = bodyRoute({ provider: "gw.chat" });
    const fields = { ...body, user: "u_1" };
    expect(
      withBodyFieldsInProviderOptions({ openaiCompatible: { user: "mine" } }, route, fields, V3),
    ).toEqual({
      openaiCompatible: { user: "mine" },
      gw: body,
    });
    const theirs = { "openai-compatible": { user: "mine" } };
    expect(withBodyFieldsInProviderOptions(theirs, route, { user: "u_1" }, V3)).toBe(theirs);
  });
});
