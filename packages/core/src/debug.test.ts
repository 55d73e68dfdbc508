import { afterEach, describe, expect, it, vi } from "vitest";
import { useRecorder } from "../test/use-recorder";
import { portkey } from "./destinations/portkey";
import { promptLayer } from "./destinations/promptlayer";
import { requesty } from "./destinations/requesty";
import { consoleLogger, debugEnabled } from "./logger";
import { withMetadata } from "./scope";
import { createTagalong } from "./tagalong";
import type { Logger } from "./types";

const KEY = "pl_debug_key_0123456789abcdef";
const recorder = useRecorder({ promptLayerApiKey: KEY });

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const write = (message: string) => void lines.push(message);
  return { logger: { debug: write, info: write, warn: write, error: write }, lines };
}

// A call with values that must never appear in a debug line.
const CALL = { user: "u_secret_42", trace: "t_9", tags: ["a", "b"], extra: { plan: "pro-plan-value" } };

function debugLinesFor(env: Record<string, string>): string[] {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const { logger, lines } = capture();
  const tagalong = createTagalong({
    destinations: [portkey(), requesty()],
    metadata: { environment: "prod" },
    logger,
  });
  withMetadata({ session: "s_1" }, () => tagalong.prepare(CALL));
  return lines;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("debug lines for each call", () => {
  it("say nothing, and wrap nothing, when no switch is on", () => {
    vi.stubEnv("DEBUG", "");
    vi.stubEnv("TAGALONG_LOG_LEVEL", "");
    const { logger, lines } = capture();
    const tagalong = createTagalong({ destinations: [portkey()], logger });
    tagalong.prepare(CALL);
    expect(lines).toEqual([]);
  });

  it("DEBUG=tagalong: the resolved fields, and each destination's headers with byte sizes and body fields", () => {
    const lines = debugLinesFor({ DEBUG: "tagalong" });
    expect(lines).toEqual([
      "call: metadata user, session, trace, environment, tags[2], extra {plan}",
      expect.stringMatching(
        /^portkey: added headers x-portkey-metadata \(\d+ B\), x-portkey-trace-id \(3 B\)$/,
      ),
      "requesty: added body requesty {tags, user_id, trace_id, extra}",
    ]);
  });

  it("the byte size is the header value's UTF-8 length", () => {
    vi.stubEnv("DEBUG", "tagalong:portkey");
    const { logger, lines } = capture();
    const tagalong = createTagalong({ destinations: [portkey()], logger });
    const prepared = tagalong.prepare({ user: "Zoë 😀" });
    const bytes = new TextEncoder().encode(prepared.headers["x-portkey-metadata"]).length;
    expect(lines).toEqual([`portkey: added headers x-portkey-metadata (${bytes} B)`]);
  });

  it("reports what the call carries: a field a destination cannot carry is not in its line", () => {
    vi.stubEnv("DEBUG", "tagalong:portkey,tagalong:requesty");
    const { logger, lines } = capture();
    const tagalong = createTagalong({ destinations: [portkey(), requesty()], logger });
    // 200 chars: over Portkey's 128, fine for Requesty. The default policy leaves it out of Portkey only.
    tagalong.prepare({ user: "u", extra: { note: "x".repeat(200) } });
    const added = lines.filter((l) => l.includes(": added "));
    expect(added).toEqual([
      expect.stringMatching(/^portkey: added headers x-portkey-metadata \(13 B\)$/), // {"_user":"u"}
      "requesty: added body requesty {user_id, extra}",
    ]);
  });

  it("never prints a value", () => {
    const lines = debugLinesFor({ DEBUG: "*" }).join("\n");
    for (const value of ["u_secret_42", "t_9", "pro-plan-value", "s_1", "prod"]) {
      expect(lines).not.toContain(value);
    }
  });

  it("DEBUG=tagalong:portkey: that destination's line only", () => {
    expect(debugLinesFor({ DEBUG: "tagalong:portkey" })).toEqual([
      expect.stringMatching(/^portkey: added headers x-portkey-metadata/),
    ]);
  });

  it("follows the debug package's syntax: commas and spaces, wildcards, - excludes", () => {
    expect(
      debugLinesFor({ DEBUG: "express:*, tagalong:*,-tagalong:requesty" }).map((l) => l.split(":")[0]),
    ).toEqual(["call", "portkey"]);
    expect(debugLinesFor({ DEBUG: "tagalong:call other" })).toEqual([expect.stringMatching(/^call: /)]);
    expect(debugLinesFor({ DEBUG: "tagalongish,xtagalong" })).toEqual([]);
  });

  it("TAGALONG_LOG_LEVEL=debug turns every topic on", () => {
    expect(debugLinesFor({ TAGALONG_LOG_LEVEL: "debug" })).toHaveLength(3);
  });

  it("TAGALONG_LOG_LEVEL is read in any case; a value that is no level is said once, not ignored silently", () => {
    expect(debugLinesFor({ TAGALONG_LOG_LEVEL: " DEBUG " })).toHaveLength(3);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    try {
      vi.stubEnv("TAGALONG_LOG_LEVEL", "verbose");
      consoleLogger().info("hidden");
      consoleLogger().warn("shown");
      vi.stubEnv("TAGALONG_LOG_LEVEL", "Info");
      consoleLogger().info("shown at info");
      expect(warn.mock.calls.map((c) => c.join(" "))).toEqual([
        '[tagalong] TAGALONG_LOG_LEVEL="verbose" is not a level (debug, info, warn, error, silent): it is ignored',
        "[tagalong] shown",
      ]);
      expect(info.mock.calls.map((c) => c.join(" "))).toEqual(["[tagalong] shown at info"]);
      // Not a level, though `in` finds it on every object: the level stays warn.
      vi.stubEnv("TAGALONG_LOG_LEVEL", "constructor");
      consoleLogger().info("hidden too");
      expect(info.mock.calls).toHaveLength(1);
    } finally {
      warn.mockRestore();
      info.mockRestore();
    }
  });

  it("consoleLogger('debug') turns every topic on for itself; DEBUG alone sets the console logger's level", () => {
    vi.stubEnv("DEBUG", "");
    expect(debugEnabled(consoleLogger("debug"), "portkey")).toBe(true);
    expect(debugEnabled(consoleLogger(), "portkey")).toBe(false);
    vi.stubEnv("DEBUG", "tagalong:portkey");
    const spy = vi.spyOn(console, "debug").mockImplementation(() => {});
    try {
      const tagalong = createTagalong({ destinations: [portkey(), requesty()] });
      tagalong.prepare({ user: "u" });
      expect(spy.mock.calls.map((c) => c.join(" "))).toEqual([
        expect.stringMatching(/^\[tagalong\] portkey: added headers x-portkey-metadata \(\d+ B\)$/),
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("debug lines for deliveries", () => {
  it("DEBUG=tagalong:delivery or tagalong:promptlayer: one line per request, no API key; off for other topics", async () => {
    const run = async (debug: string) => {
      vi.stubEnv("DEBUG", debug);
      const { logger, lines } = capture();
      const pl = promptLayer({ apiKey: KEY, baseURL: recorder.rec.promptLayerURL });
      const tagalong = createTagalong({ destinations: [pl], logger, onError: () => {} });
      tagalong.record({
        provider: "openai",
        model: "m",
        input: [{ role: "user", content: "hi" }],
        output: [{ role: "assistant", content: "yo" }],
        startTime: new Date(Date.now() - 5),
        endTime: new Date(),
        status: "success",
        metadata: { user: "u" },
      });
      await tagalong.flush();
      return lines;
    };
    const lines = await run("tagalong:delivery");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(/^promptlayer: POST http:\/\/127\.0\.0\.1:\d+\/log-request -> 201 in \d+ ms/);
      expect(line).not.toContain(KEY);
    }
    expect((await run("tagalong:promptlayer")).length).toBe(lines.length);
    expect(await run("tagalong:portkey")).toEqual([]);
  });
});
