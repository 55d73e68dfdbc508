import { describe, expect, it } from "vitest";
import { createTagalong } from "../tagalong";
import type { Metadata } from "../types";
import { requesty } from "./requesty";

const body = (m: Metadata, options = {}) =>
  createTagalong({ destinations: [requesty(options)], metadata: m }).prepare().body;

describe("requesty(): where each field lands", () => {
  it("maps every row of the table in docs/metadata.md", () => {
    expect(
      body({
        user: "u_42",
        session: "s_1",
        trace: "t_9",
        environment: "production",
        organization: "acme",
        tags: ["checkout"],
        prompt: { name: "welcome", label: "prod" },
        extra: { team: "search", retries: 3, paid: true },
      }),
    ).toEqual({
      requesty: {
        tags: ["checkout"],
        user_id: "u_42",
        trace_id: "t_9",
        extra: {
          session_id: "s_1",
          environment: "production",
          organization: "acme",
          prompt_title: "welcome",
          team: "search",
          retries: 3,
          paid: true,
        },
      },
    });
  });

  it("keeps extra values as given and sends nothing for empty metadata", () => {
    expect(body({ extra: { n: 1.5, b: false } })).toEqual({ requesty: { extra: { n: 1.5, b: false } } });
    expect(body({})).toEqual({});
  });

  it("sets auto_cache when asked", () => {
    expect(body({}, { autoCache: true })).toEqual({ requesty: { auto_cache: true } });
  });

  it("adds no headers", () => {
    expect(createTagalong({ destinations: [requesty()], metadata: { user: "u" } }).prepare().headers).toEqual(
      {},
    );
  });

  it("rejects extra keys that collide with the ones it fills from the model", () => {
    expect(requesty().check!({ extra: { session_id: "x" } })).toEqual([
      {
        path: "extra.session_id",
        rule: 'collides with the key "session_id" that Requesty fills from the model in requesty.extra',
        destination: "requesty",
        code: "reserved-key",
      },
    ]);
  });
});
