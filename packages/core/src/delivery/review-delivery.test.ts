// Review repros (rev-delivery): each test states what the docs promise; a failure is a defect (R1-R3 fail on main).
import { describe, expect, it } from "vitest";
import { withLoopbackServer } from "../../test/loopback-server";
import { useRecorder } from "../../test/use-recorder";
import type { Logger } from "../types";
import { createDeliveryQueue, type DeliveryQueueOptions } from "./queue";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const recorder = useRecorder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let bodies = 0;
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

/** A queue under a serverless wait-until hook: what it hands the platform goes to `handed`. */
function serverlessQueue(options: Partial<DeliveryQueueOptions> = {}) {
  const errors: unknown[] = [];
  const handed: Promise<unknown>[] = [];
  const hook = { inRequest: true };
  const q = createDeliveryQueue({ destination: "test", backoffMs: 5, ...options });
  q.attach({
    logger: silent,
    reportError: (e) => errors.push(e),
    // Like Vercel's request context: a hook inside a request, none outside.
    waitUntil: () => (hook.inRequest ? (p) => void handed.push(p) : undefined),
  });
  return { q, errors, handed, hook };
}

describe("review: delivery", () => {
  it("R1 a delivery answered after its waitUntil deadline is counted as sent (docs: 'A delivery answered after all is counted as sent')", async () => {
    recorder.rec.fail({ path: "/log-request", delayMs: 600, times: 1 });
    const { q, handed } = serverlessQueue({ waitUntilMs: 200, timeoutMs: 5000 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await Promise.all(handed); // settles at the 200 ms deadline: abandoned and reported
    expect(q.stats()).toMatchObject({ abandoned: 1, sent: 0 });
    // The answer (201) arrives at ~600 ms: the log is stored.
    await recorder.rec.waitFor((r) => r.promptLayer.logs().length === 1);
    await sleep(100);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(1);
    expect(q.stats()).toMatchObject({ sent: 1, abandoned: 0 });
  });

  it("R2 after an outage under waitUntil, the circuit closes again once the service is back (no delivery abandoned forever)", async () => {
    const outage = recorder.rec.fail({ path: "/log-request", status: 503 });
    // Five failures open the breaker; its probe is due ~400 ms later (backoff 400, jitter pinned).
    const { q, errors, handed } = serverlessQueue({
      waitUntilMs: 150,
      backoffMs: 400,
      maxBackoffMs: 400,
      timeoutMs: 2000,
      random: () => 0.99,
    });
    for (let i = 0; i < 5; i++) q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await recorder.rec.waitFor(() => outage.hits === 5);
    await sleep(30);
    // A call recorded while the circuit is open waits for the probe, and its invocation's
    // waitUntilMs (150 ms) ends first: it is abandoned and reported (as documented).
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await Promise.all(handed.splice(0));
    expect(q.stats()).toMatchObject({ abandoned: 6, queued: 0 });
    await sleep(900); // the probe timer fires and wakes an expired job
    outage.clear();
    // Service is back. A new invocation records a call.
    errors.length = 0;
    const before = recorder.rec.promptLayer.requests().length;
    let settled = 0;
    for (let round = 0; round < 3; round++) {
      q.push(async (ctx) => {
        try {
          return await ctx.post(post(recorder.rec.url));
        } finally {
          settled++;
        }
      });
      await Promise.all(handed.splice(0));
      await sleep(500);
    }
    // Nothing reached the service after it came back: every later delivery waits on a probe that never comes.
    // Nor do those jobs ever end: each stays parked in the breaker (no deadline), holding its call,
    // uncounted by maxQueue (queued says 0).
    expect({ settled, queued: q.stats().queued }).toEqual({ settled: 3, queued: 0 });
    expect(recorder.rec.promptLayer.requests().length - before).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual([]);
    expect(q.stats().sent).toBe(3);
    expect(recorder.rec.promptLayer.logs()).toHaveLength(3);
  });

  it("R3 flush() resolves only once every job pushed before it has settled, even while an abandoned one winds down", async () => {
    // Job 1 hangs until its attempt times out (800 ms); under waitUntil it is abandoned at 150 ms.
    recorder.rec.fail({ path: "/log-request", hang: true, times: 1 });
    const { q, hook } = serverlessQueue({ waitUntilMs: 150, timeoutMs: 800, maxAttempts: 1 });
    q.push((ctx) => ctx.post(post(recorder.rec.url)));
    await sleep(300);
    expect(q.stats()).toMatchObject({ abandoned: 1, queued: 0 });
    // Job 2, recorded outside a request context (no waitUntil: the shared queue), takes 1200 ms.
    hook.inRequest = false;
    let done = false;
    q.push(async () => {
      await sleep(1200);
      done = true;
    });
    await sleep(20);
    await q.flush();
    expect(done).toBe(true);
  });
});

describe("review: delivery, fetch transport", () => {
  it("R4 a URL with credentials is delivered by the fetch transport as by Node's client (not retried as a network error)", async () => {
    const errors: unknown[] = [];
    const q = createDeliveryQueue({
      destination: "test",
      backoffMs: 5,
      maxRetryMs: 300,
      fetch: (input, init) => fetch(input, init),
    });
    q.attach({ logger: silent, reportError: (e) => errors.push(e) });
    const url = recorder.rec.url.replace("http://", "http://user:secret-pass@");
    q.push((ctx) => ctx.post(post(url)));
    await q.flush();
    expect(errors.map((e) => (e as Error).message)).toEqual([]);
    expect(q.stats()).toMatchObject({ sent: 1, retried: 0 });
  });
});

describe("review: breaker probes", () => {
  it("R5 while the circuit is open, one probe at a time: a request already out failing late is not taken for the probe", async () => {
    const held: import("node:http").ServerResponse[] = [];
    let n = 0;
    const handle = (_req: unknown, res: import("node:http").ServerResponse) => {
      const i = ++n;
      const fail = () => res.writeHead(503, { "content-type": "application/json" }).end('{"message":"down"}');
      if (i <= 5)
        fail(); // these open the circuit
      else if (i <= 10)
        setTimeout(fail, 300); // already out when it opened; they fail late
      else held.push(res); // the probe(s): hang
    };
    await withLoopbackServer(handle, async (url, seen) => {
      const q = createDeliveryQueue({
        destination: "test",
        concurrency: 10,
        backoffMs: 50,
        maxBackoffMs: 50,
        timeoutMs: 5000,
        random: () => 0.99,
      });
      q.attach({ logger: silent, reportError: () => {} });
      for (let i = 0; i < 10; i++) q.push((ctx) => ctx.post(post(url)));
      await sleep(1000);
      const requests = seen.length;
      await q.shutdown({ timeoutMs: 0 });
      for (const res of held) res.destroy();
      // 10 first attempts, then one probe (out since ~50 ms, still waiting for its answer): 11.
      expect(requests).toBe(11);
    });
  });
});
