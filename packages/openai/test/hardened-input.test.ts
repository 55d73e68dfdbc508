// Hostile and unlucky metadata, as seen on the wire through a wrapped OpenAI client at the recorder:
// each case is a defect that once broke or silently emptied a call. Under the default policy the call
// always goes out, every vendor rule holds, and what a destination cannot carry is left out of its
// form alone, said once through the configured logger.
import {
  cloudflare,
  createTagalong,
  helicone,
  type Logger,
  litellm,
  type Metadata,
  portkey,
  requesty,
  type TagalongOptions,
  withMetadata,
} from "@tagalong/core";
import type { ModelCall } from "@tagalong/testing";
import OpenAI from "openai";
import { describe, expect, it, vi } from "vitest";
import { tagalongOptions, wrapOpenAI } from "../src/index";
import { API_KEY, MODEL, useRecorder } from "./helpers";

const recorder = useRecorder();

function setup(options: Partial<TagalongOptions> = {}) {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) };
  const tagalong = createTagalong({
    destinations: [portkey(), requesty(), helicone(), cloudflare({ fields: ["user", "extra"] }), litellm()],
    logger,
    ...options,
  });
  const client = wrapOpenAI(
    new OpenAI({ apiKey: API_KEY, baseURL: recorder.rec.openaiBaseURL, maxRetries: 0 }),
    tagalong,
  );
  const call = async (metadata?: Metadata): Promise<ModelCall> => {
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: "hi" }] },
      metadata === undefined ? undefined : tagalongOptions(metadata),
    );
    const calls = recorder.rec.calls();
    const last = calls[calls.length - 1]!;
    expect(last.violations).toEqual([]);
    return last;
  };
  return { tagalong, call, warnings };
}

describe("hardened input, on the wire", () => {
  it("extra keys named like Object.prototype members travel like any other key", async () => {
    const { call } = setup();
    const sent = await call({ extra: { toString: "y".repeat(200), constructor: "c", hasOwnProperty: "h" } });
    // Portkey cannot carry 200 chars: only that key is left out of its header.
    expect(sent.portkey.metadata).toEqual({ constructor: "c", hasOwnProperty: "h" });
    expect(sent.requesty.extra).toEqual({ toString: "y".repeat(200), constructor: "c", hasOwnProperty: "h" });
  });

  it("an own __proto__ key is refused with a warning, never silently lost; its neighbours travel", async () => {
    const { call, warnings } = setup();
    const extra = JSON.parse('{"__proto__": "x", "plan": "pro"}');
    const sent = await call({ extra });
    expect(sent.portkey.metadata).toEqual({ plan: "pro" });
    expect(sent.requesty.extra).toEqual({ plan: "pro" });
    expect(warnings).toEqual([
      expect.stringContaining(
        "left out of every destination: metadata.extra.__proto__: key __proto__ is not carried",
      ),
    ]);
  });

  it("an oversize trace is left out of the headers, not the call", async () => {
    const { call } = setup();
    const sent = await call({ user: "u_1", trace: "t".repeat(9000) });
    expect(sent.portkey.traceId).toBeUndefined();
    expect(sent.portkey.metadata).toMatchObject({ _user: "u_1" });
    expect(sent.requesty).toMatchObject({ user_id: "u_1", trace_id: "t".repeat(9000) });
  });

  it("lone surrogates are refused by the model; well-formed text of any script travels", async () => {
    const { call } = setup();
    const sent = await call({
      user: "Zoë 😀",
      session: "s\ud800",
      tags: ["ok", "\udc00"],
      extra: { note: "a\ud83d" },
    });
    expect(sent.portkey.metadata).toEqual({ _user: "Zoë 😀", tags: "ok" });
    expect(sent.requesty).toEqual({ user_id: "Zoë 😀", tags: ["ok"] });
    // Helicone's headers are ASCII: the user is left out of Helicone's form only.
    expect(sent.helicone.userId).toBeUndefined();
    expect(sent.cloudflare.metadata).toEqual({ user: "Zoë 😀" });
  });

  it("metadata is read once: a getter that changes its answer, or throws, cannot reach the wire", async () => {
    const { call, warnings } = setup();
    let reads = 0;
    const tricky = {
      get user() {
        reads++;
        return reads === 1 ? "u_1" : ({ sneaky: true } as unknown as string);
      },
      extra: {
        get boom(): string {
          throw new Error("getter exploded");
        },
        plan: "pro",
      },
    };
    const sent = await call(tricky);
    expect(reads).toBe(1);
    expect(sent.portkey.metadata).toEqual({ _user: "u_1", plan: "pro" });
    expect(sent.cloudflare.metadata).toEqual({ user: "u_1", plan: "pro" });
    expect(sent.litellm.userId).toBe("u_1");
    expect(sent.requesty).toEqual({ user_id: "u_1", extra: { plan: "pro" } });
    expect(warnings).toEqual([
      expect.stringContaining("metadata.extra.boom: could not be read (getter exploded)"),
    ]);
  });

  it("Helicone keys that differ only in case are an issue, not a silent loss", async () => {
    const { call, warnings } = setup();
    const sent = await call({ extra: { plan: "a", Plan: "b" } });
    expect(sent.helicone.properties).toEqual({ plan: "a" });
    expect(sent.requesty.extra).toEqual({ plan: "a", Plan: "b" });
    expect(warnings).toEqual([
      "left out of helicone's form: metadata.extra.Plan: lands on the same Helicone header as extra.plan (header names ignore case) (said once per field and rule)",
    ]);
  });

  it("withMetadata's refusals go through the configured logger, and TAGALONG_LOG_LEVEL=silent silences the default", async () => {
    const consoleWarn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const level = process.env.TAGALONG_LOG_LEVEL;
    try {
      const { call, warnings } = setup();
      const sent = await withMetadata({ user: "u_1", session: 5 } as never, () => call());
      expect(sent.portkey.metadata).toEqual({ _user: "u_1" });
      expect(warnings).toEqual([
        "left out of every destination: metadata.session: must be a string, got 5 (said once per field and rule)",
      ]);
      process.env.TAGALONG_LOG_LEVEL = "silent";
      const quiet = setup({ logger: undefined });
      await withMetadata({ user: "u_2", session: 6 } as never, () => quiet.call());
      expect(consoleWarn).not.toHaveBeenCalled();
    } finally {
      if (level === undefined) delete process.env.TAGALONG_LOG_LEVEL;
      else process.env.TAGALONG_LOG_LEVEL = level;
      consoleWarn.mockRestore();
    }
  });

  it("portkey({ keys: 'plain' }): an extra key named like one of Portkey's predefined keys is left out of Portkey's header alone, said once", async () => {
    const { tagalong, call, warnings } = setup({ destinations: [portkey({ keys: "plain" }), requesty()] });
    const metadata: Metadata = {
      environment: "production",
      extra: { _environment: "staging", _organisation: "o", _prompt: "p", plan: "pro" },
    };
    const sent = await call(metadata);
    await call(metadata);
    // Portkey would file "staging" as the request's environment, beside the model's "production".
    expect(sent.portkey.metadata).toEqual({ environment: "production", plan: "pro" });
    expect(sent.requesty.extra).toEqual({ environment: "production", ...metadata.extra });
    expect(tagalong.stats().portkey!.leftOut).toEqual({ "reserved-key": 6 });
    expect(warnings).toEqual(
      ["_environment", "_organisation", "_prompt"].map(
        (key) =>
          `left out of portkey's form: metadata.extra.${key}: collides with "${key}", a key Portkey defines itself in x-portkey-metadata (said once per field and rule)`,
      ),
    );
    const strict = setup({ destinations: [portkey({ keys: "plain" })], onInvalid: "throw" });
    const before = recorder.rec.requests.length;
    await expect(strict.call({ extra: { _environment: "staging" } })).rejects.toMatchObject({
      name: "InvalidMetadataError",
      issues: [{ path: "extra._environment", code: "reserved-key", destination: "portkey" }],
    });
    expect(recorder.rec.requests.length).toBe(before);
  });

  it("with onInvalid throw, the same inputs are a typed error before anything is sent", async () => {
    const { call } = setup({ onInvalid: "throw" });
    const before = recorder.rec.requests.length;
    for (const metadata of [
      { extra: JSON.parse('{"__proto__": "x"}') },
      { user: "a\ud800" },
      { extra: { plan: "a", Plan: "b" } },
      { trace: "t".repeat(9000) },
    ]) {
      await expect(call(metadata)).rejects.toMatchObject({ name: "InvalidMetadataError" });
    }
    expect(recorder.rec.requests.length).toBe(before);
  });
});
