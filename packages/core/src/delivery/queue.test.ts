import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { withLoopbackServer } from "../../test/loopback-server";
import { useRecorder } from "../../test/use-recorder";
import { DeliveryError } from "../errors";
import type { Logger } from "../types";
import { parseRetryAfter } from "./attempt";
import { createDeliveryQueue, type DeliveryQueueOptions } from "./queue";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const recorder = useRecorder();

function queue(options: Partial<DeliveryQueueOptions> = {}) {
  const errors: unknown[] = [];
  const q = createDeliveryQueue({ destination: "test", backoffMs: 5, ...options });
  q.attach({ logger: silent, reportError: (e) => errors.push(e) });
  return { q, errors };
}

/** A queue under a serverless wait-until hook, like Vercel's: one inside a request, none outside (`hook.inRequest`). */
function serverlessQueue(options: Partial<DeliveryQueueOptions> = {}) {
  const handed: Promise<unknown>[] = [];
  const hook = { inRequest: true };
  const errors: unknown[] = [];
  const q = createDeliveryQueue({ destination: "test", backoffMs: 5, ...options });
  q.attach({
    logger: silent,
    reportError: (e) => errors.push(e),
    waitUntil: () => (hook.inRequest ? (p) => void handed.push(p) : undefined),
  });
  return { q, errors, handed, hook };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A queue under a waitUntil whose circuit is open: PromptLayer answers 503 until `outage.clear()`, five
 * deliveries have failed, and the probe (like every retry) falls due `probeMs` later, jitter at its top.
 */
async function openCircuit(options: Partial<DeliveryQueueOptions> & { probeMs: number }) {
  const outage = recorder.rec.fail({ path: "/log-request", status: 503 });
  const { probeMs, ...rest } = options;
  const queue = serverlessQueue({ backoffMs: probeMs, maxBackoffMs: probeMs, random: () => 0.99, ...rest });
  for (let i = 0; i < 5; i++) queue.q.push((ctx) => ctx.post(post(recorder.rec.url)));
  // A first attempt that fails after its job's last chance (a loaded machine) is retried at once.
  await recorder.rec.waitFor(() => outage.hits >= 5);
  return { ...queue, outage };
}

let bodies = 0;
/** A minimal body the recorder's /log-request accepts (201 `{id}`); each one distinct. */
function logBody() {
  const now = new Date().toISOString();
  return {
    provider: "openai",
    model: `m-${++bodies}`,
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

  it("its methods work detached from the queue (as callbacks, destructured)", async () => {
    const { q } = queue();
    const { push, flush, stats, shutdown } = q;
    expect(push(async () => {})).toBe(true);
    await flush();
    expect(stats()).toMatchObject({ sent: 1, queued: 0 });
    await shutdown({ timeoutMs: 100 });
    expect(push(async () => {})).toBe(false);
    expect(stats()).toMatchObject({ sent: 1, dropped: 1 });
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
      /^test: log-request to .* failed with HTTP 503 \(recorder: injected 503\), after 2 attempts over \d+\.\d s$/,
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

  it("reads a failure answer with the destination's own reader, whitespace-folded and cut to 300", async () => {
    recorder.rec.fail({
      path: "/log-request",
      status: 400,
      body: { oops: { why: `no\n\n ${"w".repeat(400)}` } },
    });
    const seen: string[] = [];
    const { q, errors } = queue({
      describeFailure: (text) => {
        seen.push(text);
        return (JSON.parse(text) as { oops: { why: string } }).oops.why;
      },
    });
    q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    expect(seen).toEqual([JSON.stringify({ oops: { why: `no\n\n ${"w".repeat(400)}` } })]);
    const said = (errors[0] as Error).message.match(/HTTP 400 \((.*)\), not retried/)?.[1];
    expect(said).toBe(`no ${"w".repeat(297)}...`);
  });

  it("without a reader (or when it returns undefined), reads the usual JSON fields, else the text", async () => {
    const answers = [
      { success: false, message: "said in message" },
      { error: { message: "said in error.message" } },
      { error: "said in error" },
      { detail: "said in detail" },
      { detail: [{ msg: "a list" }] },
    ];
    for (const body of answers) recorder.rec.fail({ path: "/log-request", status: 400, body, times: 1 });
    const { q, errors } = queue({ describeFailure: () => undefined });
    for (const _ of answers) q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    const said = errors.map((e) => (e as Error).message.match(/HTTP 400 \((.*)\), not retried/)?.[1]);
    expect(said.sort()).toEqual(
      [
        "said in message",
        "said in error.message",
        "said in error",
        "said in detail",
        '{"detail":[{"msg":"a list"}]}',
      ].sort(),
    );
  });

  it("caps a long Retry-After at maxRetryAfterMs", async () => {
    recorder.rec.fail({ path: "/log-request", status: 429, retryAfter: 3600, times: 1 });
    const { q } = queue({ maxRetryAfterMs: 30 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    expect(recorder.rec.requests.map((r) => r.status)).toEqual([429, 201]);
  });

  it("waits at least backoffMs when Retry-After asks for less: a service answering Retry-After: 0 is not hammered", async () => {
    recorder.rec.fail({ path: "/log-request", status: 503, retryAfter: 0, times: 3 });
    const { q } = queue({ backoffMs: 100, maxBackoffMs: 100 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)).then(() => {}));
    await q.flush();
    const requests = recorder.rec.requests;
    expect(requests.map((r) => r.status)).toEqual([503, 503, 503, 201]);
    for (let i = 1; i < requests.length; i++)
      expect(requests[i]!.time - requests[i - 1]!.time).toBeGreaterThanOrEqual(90);
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

  it("keeps delivering when every fetch resolves in microtasks and the caller never yields to a macrotask", async () => {
    const sent: string[] = [];
    const answer = { ok: true, status: 201, headers: new Headers(), text: async () => '{"id":1}' };
    const inMemory = (async (_url: string, init: RequestInit) => {
      sent.push(init.body as string);
      return answer;
    }) as unknown as typeof fetch;
    const { q, errors } = queue({ fetch: inMemory, concurrency: 8, maxQueue: 100 });
    for (let i = 0; i < 5000; i++) {
      // A call answered in memory: only microtasks between two records.
      await Promise.resolve();
      q.push((ctx) => ctx.post({ label: "log-request", url: "http://in-memory/log-request", body: { i } }));
    }
    await q.flush();
    expect(sent).toHaveLength(5000);
    expect(new Set(sent).size).toBe(5000);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 5000, dropped: 0, failed: 0 });
    expect(errors).toEqual([]);
  });

  it("while the service is down, the circuit breaker stops spending attempts; everything goes once it answers", async () => {
    const outage = recorder.rec.fail({ path: "/log-request", status: 503 });
    const { q, errors } = queue({ concurrency: 20, backoffMs: 40, maxBackoffMs: 80 });
    const downSince = Date.now();
    for (let i = 0; i < 40; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length >= 20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const attemptsWhileDown = outage.hits;
    // Read, not assumed: on a loaded machine the 500 ms can stretch, and the probes with them.
    const downForMs = Date.now() - downSince;
    outage.clear();
    await q.flush();
    // Without the breaker, 20 deliveries retrying every 20-80 ms would make over 100 attempts in 500 ms;
    // with it, the first wave and then one probe at a time, each after a backoff of at least 40 ms.
    expect(attemptsWhileDown).toBeGreaterThanOrEqual(20);
    expect(attemptsWhileDown).toBeLessThanOrEqual(20 + Math.ceil(downForMs / 40) + 2);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(40);
    expect(recorder.rec.promptLayer.duplicates()).toBe(0);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 40, failed: 0, dropped: 0, abandoned: 0 });
    expect(errors).toEqual([]);
  });

  it("while the circuit is open, one probe at a time: a request already out that fails late is not taken for the probe", async () => {
    let n = 0;
    const probes: ServerResponse[] = [];
    const fail = (res: ServerResponse) =>
      res.writeHead(503, { "content-type": "application/json" }).end('{"message":"down"}');
    const handle = (_req: IncomingMessage, res: ServerResponse) => {
      const i = ++n;
      if (i <= 5)
        fail(res); // these open the circuit
      else if (i <= 10)
        setTimeout(() => fail(res), 300); // already out when it opened: they fail late
      else probes.push(res); // the probe: no answer
    };
    await withLoopbackServer(handle, async (url, seen) => {
      const { q } = queue({
        concurrency: 10,
        backoffMs: 50,
        maxBackoffMs: 50,
        timeoutMs: 5000,
        random: () => 0.99,
      });
      for (let i = 0; i < 10; i++) q.push((ctx) => ctx.post(post(url)));
      await sleep(1000);
      const requests = seen.length;
      await q.shutdown({ timeoutMs: 0 });
      for (const res of probes) res.destroy();
      // The 10 first attempts, then one probe (out since ~50 ms, still without an answer).
      expect(requests).toBe(11);
      expect(q.stats()).toMatchObject({ queued: 0, sent: 0, abandoned: 10 });
    });
  });

  it("retries are bounded by time (maxRetryMs), and the failure names the last error", async () => {
    recorder.rec.fail({ path: "/log-request", status: 503 });
    const { q, errors } = queue({ maxRetryMs: 150, backoffMs: 20, maxBackoffMs: 20 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await q.flush();
    expect(q.stats()).toMatchObject({ queued: 0, sent: 0, failed: 1 });
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toMatch(/HTTP 503/);
    expect(recorder.rec.promptLayer.requests().length).toBeGreaterThanOrEqual(2);
  });

  it("a slow answer within timeoutMs counts as sent and is never sent twice; one past it is retried (a duplicate)", async () => {
    const slow = recorder.rec.fail({ path: "/log-request", delayMs: 300 });
    const patient = queue({ timeoutMs: 3000 });
    for (let i = 0; i < 5; i++) patient.q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await patient.q.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(5);
    expect(recorder.rec.promptLayer.duplicates()).toBe(0);
    expect(patient.q.stats()).toMatchObject({ sent: 5, retried: 0, failed: 0 });

    // The at-least-once case the timeout exists for: cut off after the service stored the log.
    await recorder.rec.reset();
    recorder.rec.fail({ path: "/log-request", delayMs: 300, times: 1 });
    const hasty = queue({ timeoutMs: 100 });
    hasty.q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await hasty.q.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(2);
    expect(recorder.rec.promptLayer.duplicates()).toBe(1);
    expect(hasty.q.stats()).toMatchObject({ sent: 1, retried: 1 });
    expect(slow.hits).toBe(5);
  });

  it("a time setting of Infinity means no limit, not the 1 ms a timer overflows to", async () => {
    // timeoutMs: an answer that takes a while is not cut off (and sent again) at 1 ms.
    recorder.rec.fail({ path: "/log-request", delayMs: 50, times: 1 });
    const patient = queue({ timeoutMs: Number.POSITIVE_INFINITY });
    patient.q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await patient.q.flush();
    expect(patient.errors).toEqual([]);
    expect(patient.q.stats()).toMatchObject({ sent: 1, retried: 0, failed: 0 });
    expect(recorder.rec.promptLayer.duplicates()).toBe(0);

    // maxRetryMs: deliveries waiting for the open circuit's probe do not give up at 1 ms.
    recorder.rec.fail({ path: "/log-request", status: 503, times: 12 });
    const lasting = queue({
      maxRetryMs: Number.POSITIVE_INFINITY,
      concurrency: 4,
      backoffMs: 10,
      maxBackoffMs: 20,
    });
    for (let i = 0; i < 4; i++) lasting.q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await lasting.q.flush();
    expect(lasting.errors).toEqual([]);
    expect(lasting.q.stats()).toMatchObject({ sent: 4, failed: 0 });
  });

  it("shutdown abandons what hangs at its deadline and says what it was waiting on", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true });
    const { q, errors } = queue({ concurrency: 2, timeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length === 2);
    await q.shutdown({ timeoutMs: 100 });
    expect(q.stats()).toMatchObject({ queued: 0, sent: 0, failed: 0, abandoned: 5 });
    expect(errors.map((e) => (e as Error).message)).toEqual([
      expect.stringMatching(
        /^test: abandoned 5 deliveries still pending when the destination shut down \(waited 100 ms\): 2 waiting for an answer \(the oldest for \d+\.\d s\); 3 not started$/,
      ),
    ]);
    expect(recorder.rec.promptLayer.requests()).toHaveLength(2);
  });

  it("a header fetch refuses is reported at once, not retried, without the runtime's error object or the key it held", async () => {
    const key = "pl_secret_0123456789\nX";
    const { q, errors } = queue({ secrets: [key] });
    q.push((ctx) => ctx.post({ ...post(recorder.rec.url), headers: { "X-API-KEY": key } }));
    await q.flush();
    const error = errors[0] as DeliveryError;
    expect(DeliveryError.isInstance(error)).toBe(true);
    expect(error.cause).toBeUndefined();
    expect(error.message).toMatch(/^test: log-request headers are not valid \(/);
    expect(error.message).not.toContain("pl_secret_0123456789");
    expect(recorder.rec.requests).toHaveLength(0);
  });

  it("settle() holds a delivery until it is final, and a flush releases it", async () => {
    const { q } = queue();
    let final!: (value: boolean) => void;
    const superseded = new Promise<boolean>((resolve) => (final = resolve));
    q.push(async (ctx) => ((await ctx.settle(superseded, true)) ? ctx.post(post(recorder.rec.url)) : false));
    const held = new Promise<boolean>(() => {});
    q.push(async (ctx) => ((await ctx.settle(held, true)) ? ctx.post(post(recorder.rec.url)) : false));
    await new Promise((resolve) => setTimeout(resolve, 20));
    final(false);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await q.flush();
    // The superseded one sent nothing and counts nowhere; the held one went out when flush began.
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 1, failed: 0 });
  });

  it("a delivery held until it is final leaves its slot to the others meanwhile", async () => {
    const { q } = queue({ concurrency: 2, lingerMs: 0 });
    const never = new Promise<boolean>(() => {});
    for (let i = 0; i < 2; i++)
      q.push(async (ctx) => ((await ctx.settle(never, true)) ? ctx.post(post(recorder.rec.url)) : false));
    for (let i = 0; i < 3; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor(() => q.stats().sent === 3);
    expect(q.stats()).toMatchObject({ queued: 2, sent: 3 });
    expect(recorder.rec.promptLayer.logs()).toHaveLength(3);
    await q.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(5);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 5 });

    // A backlog of held jobs starts one after another, not each inside the last (a stack that deep overflows).
    const backlog = queue({ concurrency: 1, lingerMs: 0, maxQueue: 20_000 });
    for (let i = 0; i < 20_000; i++) backlog.q.push(async (ctx) => ctx.settle(never, false));
    await recorder.rec.waitFor(() => backlog.q.stats().queued === 20_000 && backlog.q.stats().sent === 0);
    await backlog.q.flush();
    expect(backlog.errors).toEqual([]);
    expect(backlog.q.stats()).toMatchObject({ queued: 0, sent: 0, failed: 0 });
  });

  it("a flush under way holds no delivery pushed after it began: a superseded attempt is not sent", async () => {
    const hang = recorder.rec.fail({ path: "/log-request", hang: true, times: 1 });
    const { q } = queue({ timeoutMs: 60_000 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    const flushed = q.flush();
    await recorder.rec.waitFor((r) => r.promptLayer.requests().length === 1);
    // Pushed while that flush waits for the hung delivery: the flush does not wait for this one.
    let final!: (value: boolean) => void;
    const superseded = new Promise<boolean>((resolve) => (final = resolve));
    const started = gate();
    q.push(async (ctx) => {
      started.open();
      return (await ctx.settle(superseded, true)) ? ctx.post(post(recorder.rec.url)) : false;
    });
    await started.opened;
    await new Promise((resolve) => setTimeout(resolve, 20));
    final(false);
    hang.clear();
    await flushed;
    await q.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 1, failed: 0 });
  });

  it("starts deliveries in batches: a full batch at once, a partial one after lingerMs or at a flush", async () => {
    const { q } = queue({ concurrency: 4, lingerMs: 60_000 });
    for (let i = 0; i < 3; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.rec.requests).toHaveLength(0);
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor(() => q.stats().sent === 4);
    // A lone call lingers until its batch fills, lingerMs passes, or a flush.
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.rec.requests).toHaveLength(4);
    await q.flush();
    expect(recorder.rec.promptLayer.logs()).toHaveLength(5);

    const { q: eager } = queue({ concurrency: 4, lingerMs: 0 });
    eager.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor((r) => r.promptLayer.logs().length === 6);
  });

  it("jobs that arrive while a batch runs wait for their own batch: a slot that frees does not start them one by one", async () => {
    const { q } = queue({ concurrency: 2, lingerMs: 60_000 });
    const started: number[] = [];
    const first = gate();
    const job = (n: number, wait?: Promise<void>) => async () => {
      started.push(n);
      await wait;
    };
    q.push(job(1, first.opened));
    q.push(job(2, first.opened));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([1, 2]);
    q.push(job(3));
    first.open();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Both slots are free, one job waits: it lingers with its batch.
    expect(q.stats()).toMatchObject({ sent: 2, queued: 1 });
    expect(started).toEqual([1, 2]);
    // A full batch waits: it starts.
    q.push(job(4));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([1, 2, 3, 4]);

    // A backlog (a full batch waiting behind the running one) fills each slot as it frees.
    const { q: busy } = queue({ concurrency: 2, lingerMs: 60_000 });
    const held = gate();
    const order: number[] = [];
    for (let n = 1; n <= 5; n++)
      busy.push(async () => {
        order.push(n);
        if (n <= 2) await held.opened;
      });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([1, 2]);
    held.open();
    await busy.flush();
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(busy.stats()).toMatchObject({ sent: 5, queued: 0 });
  });
});

describe("createDeliveryQueue under a waitUntil (each job on its own, with its own deadline)", () => {
  it("a delivery answered in the moment it is abandoned at its deadline counts as sent", async () => {
    const { q, handed } = serverlessQueue({
      waitUntilMs: 100,
      // The answer arrives whatever the abort (its signal is not passed on), and is handed over
      // once the deadline has passed: an answer in hand as the delivery is abandoned.
      fetch: async (input, init) => {
        const res = await fetch(input, { ...init, signal: undefined });
        const text = await res.text();
        await handed[0];
        return new Response(text, { status: res.status });
      },
    });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor(() => q.stats().abandoned === 0 && q.stats().sent === 1);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 1, failed: 0, abandoned: 0 });
  });

  it("a delivery abandoned at its deadline is cut there: its request is aborted, not left running until timeoutMs", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true });
    const { q, errors, handed } = serverlessQueue({ waitUntilMs: 150, timeoutMs: 60_000 });
    let ended = false;
    q.push(async (ctx) => {
      try {
        return await ctx.post(post(recorder.rec.url));
      } finally {
        ended = true;
      }
    });
    await Promise.all(handed);
    await recorder.rec.waitFor(() => ended);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 0, failed: 0, abandoned: 1 });
    expect(errors.map((e) => (e as Error).message)).toEqual([
      expect.stringMatching(
        /^test: abandoned a delivery still pending 0\.1 s after it was handed to waitUntil/,
      ),
    ]);
  });

  it("after an outage, the circuit closes once the service is back: an abandoned delivery does not keep its place in the breaker", async () => {
    // Five failures open the circuit; its probe is due ~400 ms later.
    const { q, errors, handed, outage } = await openCircuit({
      waitUntilMs: 150,
      probeMs: 400,
      timeoutMs: 2000,
    });
    // Recorded while the circuit is open: it waits for the probe, and its 150 ms end first.
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await Promise.all(handed.splice(0));
    expect(q.stats()).toMatchObject({ abandoned: 6, queued: 0 });
    await sleep(900); // the probe falls due while nothing waits for it
    outage.clear();
    errors.length = 0;
    const before = recorder.rec.promptLayer.requests().length;
    for (let round = 0; round < 3; round++) {
      q.push((ctx) => ctx.post(post(recorder.rec.url)));
      await Promise.all(handed.splice(0));
    }
    expect(recorder.rec.promptLayer.requests().length - before).toBe(3);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(3);
    expect(errors).toEqual([]);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 3, abandoned: 6 });
  });

  it("a probe whose delivery is abandoned hands the probe on: the next delivery waiting goes out at once", async () => {
    recorder.rec.fail({ path: "/log-request", status: 503, times: 5 });
    recorder.rec.fail({ path: "/log-request", hang: true, times: 1 }); // the first probe: no answer
    const { q, handed } = serverlessQueue({
      waitUntilMs: 1500,
      backoffMs: 300,
      maxBackoffMs: 300,
      timeoutMs: 60_000,
      random: () => 0.99,
    });
    for (let i = 0; i < 5; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await sleep(700);
    // Waits for the probe, which is out (since ~300 ms) until its delivery's deadline at 1500 ms.
    const late = post(recorder.rec.url);
    q.push((ctx) => ctx.post(late));
    await Promise.all(handed);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 1, abandoned: 5 });
    expect(recorder.rec.promptLayer.logs().filter((l) => l.body.model === late.body.model)).toHaveLength(1);
  });

  it("a delivery whose deadline comes before the next probe gets a last chance: recorded as an outage ends, it is delivered, not abandoned", async () => {
    // The probe (and every retry) is due ~3 s later, after the 1.5 s deadline.
    const { q, errors, handed, outage } = await openCircuit({
      waitUntilMs: 1500,
      probeMs: 3000,
      timeoutMs: 1000,
    });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await sleep(100);
    outage.clear();
    const before = recorder.rec.promptLayer.requests().length;
    await Promise.all(handed);
    expect(errors).toEqual([]);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 6, abandoned: 0 });
    expect(recorder.rec.promptLayer.logs()).toHaveLength(6);
    // One probe (the first last chance), then the five others released by its answer.
    expect(recorder.rec.promptLayer.requests().length - before).toBe(6);
  });

  it("last chances during an outage go out one at a time, no closer than backoffMs: many deadlines at once send one probe", async () => {
    const { q, errors, handed, outage } = await openCircuit({
      waitUntilMs: 1500,
      probeMs: 3000,
      timeoutMs: 1000,
    });
    for (let i = 0; i < 20; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await Promise.all(handed);
    // The five failures that opened the circuit, and one probe.
    expect(outage.hits).toBe(6);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 0, abandoned: 25 });
    expect(errors).toHaveLength(25);
    expect((errors[24] as Error).message).toMatch(/last error: log-request: HTTP 503/);
  });

  it("a last chance does not cut a Retry-After short: the service asked everyone to wait", async () => {
    const limited = recorder.rec.fail({ path: "/log-request", status: 429, retryAfter: 5 });
    const { q, handed } = serverlessQueue({ waitUntilMs: 1500, backoffMs: 20 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor(() => limited.hits === 1);
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await Promise.all(handed);
    expect(limited.hits).toBe(1);
    expect(q.stats()).toMatchObject({ queued: 0, sent: 0, abandoned: 2 });
  });

  it("a flush waits for every job pushed before it, not for one abandoned before it began", async () => {
    const { q, hook } = serverlessQueue({ waitUntilMs: 150 });
    // Abandoned at 150 ms; its own work (not a request the queue can cut) goes on until 800 ms.
    q.push(() => sleep(800));
    await sleep(300);
    expect(q.stats()).toMatchObject({ abandoned: 1, queued: 0 });
    // Recorded outside a request (no waitUntil: the shared queue), and takes 1200 ms.
    hook.inRequest = false;
    let done = false;
    q.push(async () => {
      await sleep(1200);
      done = true;
    });
    await q.flush();
    expect(done).toBe(true);
    // The abandoned job ended after all (at 800 ms, before this one): it counts as sent.
    expect(q.stats()).toMatchObject({ queued: 0, sent: 2, abandoned: 0 });
  });
});

describe("a receiver that redirects", () => {
  it("is reported as HTTP 3xx by both transports: fetch does not follow it with a GET", async () => {
    // 302 for the POST; the place it points to answers a GET with 200 and a POST with 405.
    const redirect = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.url === "/log-request") res.writeHead(302, { location: "/moved" }).end();
      else res.writeHead(req.method === "GET" ? 200 : 405, { "content-type": "application/json" }).end("{}");
    };
    await withLoopbackServer(redirect, async (url, seen) => {
      const messages: string[] = [];
      for (const options of [
        { fetch: (input, init) => fetch(input, init) } as Partial<DeliveryQueueOptions>,
        {},
      ]) {
        seen.length = 0;
        const { q, errors } = queue(options);
        q.push((ctx) => ctx.post(post(url)));
        await q.flush();
        expect(q.stats()).toMatchObject({ sent: 0, failed: 1 });
        expect(seen).toEqual(["POST /log-request"]);
        messages.push((errors[0] as Error).message);
      }
      expect(messages[0]).toMatch(/HTTP 302/);
      expect(messages[0]).toBe(messages[1]);
    });
  });
});

describe("a delivery URL with credentials in it", () => {
  it("is sent by both transports with the credentials as Basic auth, not in the URL (fetch refuses such a URL)", async () => {
    const authorizations: Array<string | undefined> = [];
    const answer = (req: IncomingMessage, res: ServerResponse): void => {
      authorizations.push(req.headers.authorization);
      res.writeHead(201, { "content-type": "application/json" }).end('{"success":true,"id":1}');
    };
    await withLoopbackServer(answer, async (url, seen) => {
      // Percent-encoded in the URL, sent decoded (UTF-8), as Node's client does.
      const credentialed = url.replace("http://", "http://us%40er:p%C3%A4ss@");
      for (const options of [
        { fetch: (input, init) => fetch(input, init) } as Partial<DeliveryQueueOptions>,
        {},
      ]) {
        const { q, errors } = queue(options);
        q.push((ctx) => ctx.post(post(credentialed)));
        await q.flush();
        expect(errors).toEqual([]);
        expect(q.stats()).toMatchObject({ sent: 1, retried: 0, failed: 0 });
      }
      expect(seen).toEqual(["POST /log-request", "POST /log-request"]);
      const basic = `Basic ${Buffer.from("us@er:päss").toString("base64")}`;
      expect(authorizations).toEqual([basic, basic]);
    });
  });
});
