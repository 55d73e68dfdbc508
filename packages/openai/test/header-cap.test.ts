// What the header cap (maxHeaderBytes) leaves out, as it arrives at the loopback recorder through the
// real SDK: only the headers' part of a destination's form, never what its body carries (which has no cap).
import { cloudflare, createTagalong, type Logger, litellm } from "@tagalong/core";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { tagalongOptions, wrapOpenAI } from "../src/index";
import { API_KEY, MODEL, useRecorder } from "./helpers";

const recorder = useRecorder();

describe("the header cap on the wire", () => {
  it("LiteLLM: a session left out of the spend-logs header stays in body litellm_session_id, warned and counted once", async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) };
    const tagalong = createTagalong({
      destinations: [cloudflare({ fields: ["user", "session"] }), litellm()],
      logger,
      maxHeaderBytes: 600,
    });
    const client = wrapOpenAI(
      new OpenAI({ apiKey: API_KEY, baseURL: recorder.rec.openaiBaseURL, maxRetries: 0 }),
      tagalong,
    );
    // Both carry the session in a header; LiteLLM's header also carries extra.note, so its session goes.
    const session = "s".repeat(300);
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: "hi" }] },
      tagalongOptions({ user: "u", session, extra: { note: "n".repeat(100) } }),
    );
    const [call] = recorder.rec.calls();
    expect(call!.cloudflare.metadata).toEqual({ user: "u", session });
    expect(call!.litellm.spendLogsMetadata).toEqual({ note: "n".repeat(100) });
    expect(call!.litellm.userId).toBe("u");
    // The body has no cap: LiteLLM's session stays where the proxy reads it.
    expect(call!.litellm.sessionId).toBe(session);
    expect(tagalong.stats().litellm!.leftOut).toEqual({ "header-cap": 1 });
    expect(warnings).toEqual([
      "left out of litellm's form: metadata.session: left out of the headers only (the body still carries it) to keep them under the cap: 830 bytes of headers, the cap is 600 (maxHeaderBytes) (said once per field and rule)",
    ]);
  });

  it("LiteLLM: a session left out with many fields at once (by halving) stays in the body too", async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => void warnings.push(m) };
    const tagalong = createTagalong({ destinations: [litellm()], logger, maxHeaderBytes: 100 });
    const client = wrapOpenAI(
      new OpenAI({ apiKey: API_KEY, baseURL: recorder.rec.openaiBaseURL, maxRetries: 0 }),
      tagalong,
    );
    // Ten extra keys go one by one or by halving, longest first; then the session, which fits no header.
    const extra = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`e${i}`, "x".repeat(200)]));
    const session = "s".repeat(100);
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: "hi" }] },
      tagalongOptions({ session, extra }),
    );
    const [call] = recorder.rec.calls();
    expect(call!.litellm.spendLogsMetadata).toBeUndefined();
    expect(call!.litellm.sessionId).toBe(session);
    expect(tagalong.stats().litellm!.leftOut).toEqual({ "header-cap": 11 });
    expect(warnings.filter((w) => w.includes("metadata.session"))).toEqual([
      expect.stringContaining("metadata.session: left out of the headers only (the body still carries it)"),
    ]);
    expect(warnings.filter((w) => w.includes("body still carries"))).toHaveLength(1);
  });
});
