import { describe, expect, it } from "vitest";
import { useRecorder } from "../test/use-recorder";
import { createDeliveryQueue, type DeliveryQueueOptions, parseRetryAfter } from "./delivery-queue";
import { DeliveryError } from "./errors";
import type { Logger } from "./types";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const recorder = useRecorder();

function queue(options: Partial<DeliveryQueueOptions> = {}) {
  const errors: unknown[] = [];
  const q = createDeliveryQueue({ destination: "test", backoffMs: 5, ...options });
  q.attach({ logger: silent, reportError: (e) => errors.push(e) });
  return { q, errors };
}

/** A minimal body the recorder's /log-request accepts (201 `{id}`). */
function logBody() {
  const now = new Date().toISOString();
  return {
    provider: "openai",
    model: "m",
    input: { type: "chat", messages: [] },
    output: { type: "chat", messages: [] },
    request_start_time: now,
    request_end_time: now,
  };
}

const post = (url: string) => ({
  label: "log-request",
  url: `${url}/log-request`,
  headers: { "X-API-KEY": "k" },
  body: logBody(),
});

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates, and ignores what it cannot read", () => {
    const now = Date.parse("2026-11-22T10:00:00Z");
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter("0.25", now)).toBe(250);
    expect(parseRetryAfter("Sun, 22 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("createDeliveryQueue", () => {
  it("starts jobs on a later macrotask, never inside push or its microtasks", async () => {
    const { q } = queue();
    let started = false;
    expect(
      q.push(async () => {
        started = true;
      }),
    ).toBe(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toBe(false);
    expect(q.stats().queued).toBe(1);
    await q.flush();
    expect(started).toBe(true);
    expect(q.stats()).toEqual({ queued: 0, sent: 1, retried: 0, failed: 0, dropped: 0, abandoned: 0 });
  });

  it("runs at most `concurrency` jobs at once, in the order pushed", async () => {
    const { q } = queue({ concurrency: 2 });
    const g = gate();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.push(async () => {
        order.push(i);
        most = Math.max(most, ++running);
        await g.opened;
        running--;
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([0, 1]);
    g.open();
    await q.flush();
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("a job that throws is counted as failed and reported; flush still resolves", async () => {
    const { q, errors } = queue();
    q.push(async () => {
      throw new Error("boom");
    });
    q.push(async () => {});
    await q.flush();
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    expect(q.stats()).toMatchObject({ sent: 1, failed: 1 });
  });

  it("backs off exponentially between retries (half the step plus jitter)", async () => {
    recorder.rec.fail({ path: "/log-request", status: 500, times: 3 });
    const { q } = queue({ backoffMs: 40, random: () => 0 });
    let answer: unknown;
    q.push(async (ctx) => {
      answer = await ctx.post(post(recorder.rec.url));
    });
    await q.flush();
    expect(answer).toMatchObject({ id: 1, success: true });
    const times = recorder.rec.requests.map((r) => r.time);
    expect(recorder.rec.requests.map((r) => r.status)).toEqual([500, 500, 500, 201]);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // With random() = 0 the delays are 20, 40 and 80 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(q.stats()).toMatchObject({ sent: 1, retried: 3 });
  });

  it("gives up after maxAttempts with the last status", async () => {
    recorder.rec.fail({ path: "/log-request", status: 503 });
    const { q, errors } = queue({ maxAttempts: 2 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    expect(recorder.rec.requests).toHaveLength(2);
    const error = errors[0] as DeliveryError;
    expect(DeliveryError.isInstance(error)).toBe(true);
    expect([error.destination, error.status, error.attempts]).toEqual(["test", 503, 2]);
    expect(error.message).toMatch(
      /^test: log-request to .* failed with HTTP 503 \(recorder: injected 503\), after 2 attempts$/,
    );
  });

  it("does not retry a 4xx other than 408 and 429", async () => {
    const { q, errors } = queue();
    q.push((ctx) =>
      ctx.post({ label: "nowhere", url: `${recorder.rec.url}/nowhere`, body: {} }).then(() => {}),
    );
    await q.flush();
    expect(recorder.rec.requests).toHaveLength(1);
    expect((errors[0] as DeliveryError).status).toBe(404);
    expect(q.stats()).toMatchObject({ retried: 0, failed: 1 });
  });

  it("caps a long Retry-After at maxRetryAfterMs", async () => {
    recorder.rec.fail({ path: "/log-request", status: 429, retryAfter: 3600, times: 1 });
    const { q } = queue({ maxRetryAfterMs: 30 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    expect(recorder.rec.requests.map((r) => r.status)).toEqual([429, 201]);
  });

  it("a body that is not JSON fails at once, without a request", async () => {
    const { q, errors } = queue();
    q.push((ctx) =>
      ctx.post({ label: "bad", url: `${recorder.rec.url}/log-request`, body: { n: 1n } }).then(() => {}),
    );
    await q.flush();
    expect(recorder.rec.requests).toHaveLength(0);
    expect((errors[0] as Error).message).toBe("test: bad body is not serialisable as JSON");
  });

  it("scrubs secrets from errors", async () => {
    const { q, errors } = queue({ secrets: ["s3cr3t-value"] });
    q.push((ctx) =>
      ctx.post({ label: "x", url: `${recorder.rec.url}/nowhere?k=s3cr3t-value`, body: {} }).then(() => {}),
    );
    await q.flush();
    expect((errors[0] as Error).message).toContain("k=[redacted]");
    expect((errors[0] as Error).message).not.toContain("s3cr3t-value");
  });

  it("reports through the console when no host is attached", async () => {
    const q = createDeliveryQueue({ destination: "test" });
    const warnings: unknown[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    try {
      q.push(async () => {
        throw new Error("lost");
      });
      await q.flush();
    } finally {
      console.warn = original;
    }
    expect(warnings).toEqual(["[tagalong] lost"]);
  });
});
