import { afterEach, describe, expect, it, vi } from "vitest";
import { useRecorder } from "../test/use-recorder";
import { promptLayer } from "./destinations/promptlayer";
import { flushAfter } from "./serverless";
import { createTagalong } from "./tagalong";
import type { CompletedCall, Logger, WaitUntil } from "./types";

const recorder = useRecorder();
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const VERCEL = Symbol.for("@vercel/request-context");
const globals = globalThis as unknown as Record<symbol, unknown>;

function call(user: string): CompletedCall {
  const now = new Date();
  return {
    provider: "openai",
    model: "gpt-4o-mini",
    input: [{ role: "user", content: "hi" }],
    output: [{ role: "assistant", content: "hello" }],
    startTime: now,
    endTime: now,
    status: "success",
    metadata: { user },
  };
}

function setup(waitUntil?: WaitUntil, waitUntilMs?: number) {
  const errors: unknown[] = [];
  const baseURL = recorder.rec.promptLayerURL;
  const tagalong = createTagalong({
    destinations: [promptLayer({ apiKey: "pl_key_serverless", baseURL, backoffMs: 20, waitUntilMs })],
    logger: silent,
    onError: (e) => errors.push(e),
    waitUntil,
  });
  return { tagalong, errors };
}

const logsFor = (user: string) => recorder.rec.promptLayer.logs().filter((l) => l.metadata.user_id === user);

afterEach(() => {
  delete globals[VERCEL];
});

describe("serverless: deliveries outlive the request", () => {
  it("hands each delivery to Vercel's request-context waitUntil, found without @vercel/functions", async () => {
    const handed: Promise<unknown>[] = [];
    globals[VERCEL] = { get: () => ({ waitUntil: (p: Promise<unknown>) => handed.push(p) }) };
    // PromptLayer is slow to accept: the response goes out long before tracking is delivered.
    recorder.rec.fail({ kind: "promptlayer", status: 503, times: 2 });
    const { tagalong, errors } = setup();
    tagalong.record(call("vercel_user"));
    expect(handed).toHaveLength(1);
    expect(logsFor("vercel_user")).toHaveLength(0);
    // What the platform does after the response: wait for what it was handed, nothing else.
    await Promise.all(handed);
    expect(logsFor("vercel_user")).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(recorder.rec.promptLayer.violations()).toEqual([]);
  });

  it("hands nothing outside a request context", async () => {
    globals[VERCEL] = { get: () => undefined };
    const { tagalong } = setup();
    tagalong.record(call("no_context"));
    await tagalong.flush();
    expect(logsFor("no_context")).toHaveLength(1);
  });

  it("uses the waitUntil option (Cloudflare's `waitUntil` from cloudflare:workers) over detection", async () => {
    const detected: Promise<unknown>[] = [];
    const given: Promise<unknown>[] = [];
    globals[VERCEL] = { get: () => ({ waitUntil: (p: Promise<unknown>) => detected.push(p) }) };
    const { tagalong } = setup((p) => void given.push(p));
    tagalong.record(call("option_user"));
    tagalong.record(call("option_user_2"));
    expect(given).toHaveLength(2);
    expect(detected).toHaveLength(0);
    await Promise.all(given);
    expect(logsFor("option_user")).toHaveLength(1);
    expect(logsFor("option_user_2")).toHaveLength(1);
  });

  it("runs each handed delivery on its own: one invocation never carries another's (Workers cancel it)", async () => {
    const handed: Promise<unknown>[] = [];
    const tagalong = createTagalong({
      destinations: [
        promptLayer({
          apiKey: "pl_key_serverless",
          baseURL: recorder.rec.promptLayerURL,
          concurrency: 1,
          backoffMs: 20,
        }),
      ],
      logger: silent,
      waitUntil: (p) => void handed.push(p),
    });
    const stuck = recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    tagalong.record(call("first_invocation"));
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length === 1);
    // The first invocation's delivery hangs; the second's does not wait for its slot.
    tagalong.record(call("second_invocation"));
    await Promise.race([handed[1], new Promise((r) => setTimeout(r, 2000))]);
    expect(logsFor("second_invocation")).toHaveLength(1);
    expect(logsFor("first_invocation")).toHaveLength(0);
    stuck.clear();
    await Promise.all(handed);
    expect(logsFor("first_invocation")).toHaveLength(1);
  });

  it("settles the handed promise when a delivery fails for good, and reports it", async () => {
    const handed: Promise<unknown>[] = [];
    recorder.rec.fail({ kind: "promptlayer", status: 401 });
    const { tagalong, errors } = setup((p) => void handed.push(p));
    tagalong.record(call("rejected"));
    await Promise.all(handed);
    expect(errors).toHaveLength(1);
  });

  it("flushAfter (AWS Lambda): the wrapped handler resolves only once tracking is delivered", async () => {
    recorder.rec.fail({ kind: "promptlayer", status: 503, times: 2 });
    const { tagalong } = setup();
    let returnedBeforeDelivery = false;
    const handler = flushAfter(tagalong, async (event: { user: string }) => {
      tagalong.record(call(event.user));
      returnedBeforeDelivery = logsFor(event.user).length === 0;
      return { statusCode: 200 };
    });
    await expect(handler({ user: "lambda_user" })).resolves.toEqual({ statusCode: 200 });
    expect(returnedBeforeDelivery).toBe(true);
    expect(logsFor("lambda_user")).toHaveLength(1);
  });

  it("flushAfter passes the handler's own error through unchanged, after flushing", async () => {
    const { tagalong } = setup();
    const mine = new Error("handler failed");
    const handler = flushAfter(tagalong, (user: string) => {
      tagalong.record(call(user));
      throw mine;
    });
    await expect(handler("lambda_error")).rejects.toBe(mine);
    expect(logsFor("lambda_error")).toHaveLength(1);
  });

  it("flushAfter refuses a misspelt option when it wraps the handler (it waited without a deadline)", () => {
    const { tagalong } = setup();
    const handler = async () => "done";
    expect(() => flushAfter(tagalong, handler, { timeout: 2000 } as never)).toThrow(
      'flushAfter: unknown option "timeout" (did you mean "timeoutMs"?); known options: timeoutMs',
    );
    expect(() => flushAfter(tagalong, handler, { timeoutMs: "2000" } as never)).toThrow(
      'flushAfter: timeoutMs must be a number >= 0, got "2000"',
    );
  });

  it("flushAfter with a deadline resolves by it while PromptLayer hangs; the delivery stays pending", async () => {
    const hang = recorder.rec.fail({ kind: "promptlayer", hang: true });
    const { tagalong } = setup();
    const handler = flushAfter(
      tagalong,
      async (user: string) => {
        tagalong.record(call(user));
        return "done";
      },
      { timeoutMs: 100 },
    );
    await expect(handler("lambda_deadline")).resolves.toBe("done");
    expect(hang.hits).toBe(1);
    expect(tagalong.stats().promptlayer).toMatchObject({ queued: 1, sent: 0, abandoned: 0 });
    hang.clear();
    await tagalong.flush();
    expect(logsFor("lambda_deadline")).toHaveLength(1);
  });
});

describe("serverless: a call not yet final (a retry may supersede it)", () => {
  it("is delivered as final within 20 s under a waitUntil (Workers cancel it about 30 s after the response), not held 65 s", async () => {
    const handed: Promise<unknown>[] = [];
    const { tagalong, errors } = setup((p) => void handed.push(p));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      // The AI SDK's failed attempt: final only once no retry came for 65 s.
      tagalong.record({ ...call("held_serverless"), status: "error", final: new Promise(() => {}) });
      expect(handed).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(20_000);
    } finally {
      vi.useRealTimers();
    }
    const settled = await Promise.race([
      Promise.all(handed).then(() => "settled"),
      new Promise((resolve) => setTimeout(() => resolve("still held"), 2000)),
    ]);
    expect(settled).toBe("settled");
    expect(logsFor("held_serverless")).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("is held until final without a waitUntil", async () => {
    const { tagalong } = setup();
    let final!: (value: boolean) => void;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      tagalong.record({ ...call("held_node"), final: new Promise((resolve) => (final = resolve)) });
      await vi.advanceTimersByTimeAsync(60_000);
    } finally {
      vi.useRealTimers();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logsFor("held_node")).toHaveLength(0);
    final(true);
    await tagalong.flush();
    expect(logsFor("held_node")).toHaveLength(1);
  });
});

describe("serverless: a delivery that outlasts the invocation", () => {
  it("keeps being retried, and a call not yet final held, for as long as waitUntilMs says (Vercel: maxDuration)", async () => {
    const handed: Promise<unknown>[] = [];
    const { tagalong, errors } = setup((p) => void handed.push(p), 120_000);
    const outage = recorder.rec.fail({ kind: "promptlayer", status: 503 });
    let final!: (value: boolean) => void;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      tagalong.record(call("outage_vercel"));
      tagalong.record({ ...call("held_vercel"), final: new Promise((resolve) => (final = resolve)) });
      await vi.advanceTimersByTimeAsync(0);
      while (outage.hits === 0 || tagalong.stats().promptlayer?.retried === 0)
        await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(60_000);
    } finally {
      vi.useRealTimers();
    }
    expect(errors).toEqual([]);
    expect(tagalong.stats().promptlayer).toMatchObject({ abandoned: 0, sent: 0 });
    expect(logsFor("held_vercel")).toHaveLength(0);
    outage.clear();
    final(true);
    await Promise.all(handed);
    expect(logsFor("outage_vercel")).toHaveLength(1);
    expect(logsFor("held_vercel")).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("is abandoned and reported within 25 s under a waitUntil while PromptLayer fails, not retried unseen for 10 minutes", async () => {
    const handed: Promise<unknown>[] = [];
    const { tagalong, errors } = setup((p) => void handed.push(p));
    const outage = recorder.rec.fail({ kind: "promptlayer", status: 503 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      tagalong.record(call("outage_serverless"));
      await vi.advanceTimersByTimeAsync(0);
      // The first attempt's answer arrives in real time (setImmediate is not faked).
      while (outage.hits === 0 || tagalong.stats().promptlayer?.retried === 0)
        await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(25_000);
    } finally {
      vi.useRealTimers();
    }
    await recorder.rec.waitFor(() => errors.length > 0);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toMatch(
      /^promptlayer: abandoned a delivery still pending 25 s after/,
    );
    expect((errors[0] as Error).message).toMatch(/last error: log-request: HTTP 503/);
    expect(tagalong.stats().promptlayer).toMatchObject({ queued: 0, abandoned: 1, sent: 0, failed: 0 });
    // The platform is released too: what it was handed has settled.
    await Promise.all(handed);
  });

  it("after an outage of minutes, calls recorded under a waitUntil are logged again once PromptLayer is back", async () => {
    // The shipped delivery options: a delivery waiting for the probe is abandoned at 25 s, and the
    // probe falls due every 15-30 s. An abandoned delivery must not keep the probe from going out, and
    // one whose deadline comes before the next probe is tried once more (its last chance, at 22.5 s).
    const errors: unknown[] = [];
    const tagalong = createTagalong({
      destinations: [promptLayer({ apiKey: "pl_key_serverless", baseURL: recorder.rec.promptLayerURL })],
      logger: silent,
      onError: (e) => errors.push(e),
      waitUntil: () => {},
    });
    const outage = recorder.rec.fail({ kind: "promptlayer", status: 503 });
    // A call every 5 s, its delivery's I/O in real time between the faked timers.
    const callsFor = async (ms: number, user: string) => {
      for (let t = 0; t < ms; t += 5000) {
        tagalong.record(call(`${user}_${t}`));
        await vi.advanceTimersByTimeAsync(0);
        await realTurns();
        await vi.advanceTimersByTimeAsync(5000);
        await realTurns();
      }
    };
    const abandoned = () => tagalong.stats().promptlayer?.abandoned ?? 0;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      await callsFor(180_000, "during");
      expect(outage.hits).toBeGreaterThan(0);
      outage.clear();
      const abandonedWhenBack = abandoned();
      await callsFor(120_000, "after");
      // Only calls recorded in the outage's last 25 s can still be abandoned, waiting for the next probe.
      // Only a call whose last chance (22.5 s after it) came before the service was back can still be
      // abandoned: the one recorded 25 s before, its last attempt failing 2.5 s before the end.
      expect(abandoned() - abandonedWhenBack).toBeLessThanOrEqual(1);
    } finally {
      vi.useRealTimers();
    }
    // Recorded in the outage's last 20 s, waiting for a probe due after their deadline: each was
    // tried once more before it, and logged.
    const logged = (user: string) => recorder.rec.promptLayer.logs().some((l) => l.metadata.user_id === user);
    expect([160_000, 165_000, 170_000, 175_000].filter((t) => !logged(`during_${t}`))).toEqual([]);
    const after = recorder.rec.promptLayer.logs().filter((l) => l.metadata.user_id?.startsWith("after_"));
    expect(after).toHaveLength(24);
    // Each delivery abandoned during the outage was reported, once.
    expect(errors).toHaveLength(abandoned());
  });
});

/** Lets real I/O (the loopback's answers) happen while timers are faked: setImmediate is not. */
async function realTurns(n = 200): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
