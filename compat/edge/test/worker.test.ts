// A Cloudflare Worker (src/worker.ts, bundled for workerd) run by miniflare, calling the loopback
// recorder through wrapOpenAI. The Worker answers while PromptLayer is still hung; the tracking
// must arrive afterwards all the same, kept alive by `waitUntil` from "cloudflare:workers".
// miniflare 4 needs Node >= 22: on Node 20 this suite is skipped by the matrix's definition.
import type { ModelCall } from "@tagalong/testing";
import type { Miniflare } from "miniflare";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "./bundle";
import { hungLogRequests as hungIn, logFor as logForIn, startMiniflare } from "./miniflare";
import { useRecorder } from "./use-recorder";

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);

interface WorkerAnswer {
  id: string;
  text: string;
  scopesFollowAsync: boolean;
  seenAfterAwait: string | null;
}

describe.skipIf(NODE_MAJOR < 22)("a Cloudflare Worker under miniflare (workerd)", () => {
  const recorder = useRecorder();
  let script: string;
  const workers: Miniflare[] = [];

  beforeAll(async () => {
    script = await bundleWorker(new URL("../src/worker.ts", import.meta.url));
  });
  // Runs before the recorder's own afterEach (hooks unwind in reverse order).
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.dispose()));
  });

  async function startWorker(compatibilityFlags: string[], bindings: Record<string, string> = {}) {
    const mf = await startMiniflare(script, recorder.rec, compatibilityFlags, bindings);
    workers.push(mf);
    const ask = async (query: string): Promise<WorkerAnswer> => {
      const res = await mf.dispatchFetch(`http://worker.test/chat?${query}`);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return JSON.parse(text) as WorkerAnswer;
    };
    /** What the Worker's onError was told so far. */
    const errors = async (): Promise<string[]> =>
      (await (await mf.dispatchFetch("http://worker.test/errors")).json()) as string[];
    /** Calls tagalong.shutdown({ timeoutMs }) from an invocation of its own; what it answered. */
    const shutdown = async (timeoutMs: number): Promise<string> =>
      (await mf.dispatchFetch(`http://worker.test/shutdown?timeoutMs=${timeoutMs}`)).text();
    return Object.assign(ask, { errors, shutdown });
  }

  const callFor = (user: string): ModelCall => {
    const calls = recorder.rec.callsWhere((c) => c.body?.messages?.[0]?.content === `hello from ${user}`);
    expect(calls).toHaveLength(1);
    return calls[0]!;
  };
  /** The model call carried the user's metadata: Portkey's header and Requesty's body field. */
  const expectTaggedInFlight = (user: string): void => {
    const call = callFor(user);
    expect(call.portkey.metadata).toEqual({ _user: user, session_id: `s_${user}`, _environment: "workers" });
    expect(call.requesty).toEqual({
      user_id: user,
      extra: { session_id: `s_${user}`, environment: "workers" },
    });
  };
  /** The metadata a call the Worker made for `user` is logged with at PromptLayer. */
  const loggedMetadata = (user: string) => ({
    user_id: user,
    session_id: `s_${user}`,
    environment: "workers",
  });
  const logFor = (user: string) => logForIn(recorder.rec, user);
  const hungLogRequests = () => hungIn(recorder.rec);

  /** Answers, then PromptLayer recovers: the log (with its metadata) must arrive after the response. */
  async function answersBeforePromptLayer(
    ask: (query: string) => Promise<WorkerAnswer>,
    user: string,
    via: string,
  ) {
    const outage = recorder.rec.fail({ kind: "promptlayer", hang: true });
    const answer = await ask(`user=${user}&via=${via}`);
    expect(answer.text).toBe(`echo: hello from ${user}`);
    // The delivery started inside the invocation and is still unanswered: nothing is logged yet.
    await recorder.rec.waitFor(() => hungLogRequests() === 1);
    expect(recorder.rec.promptLayer.logs()).toEqual([]);
    // PromptLayer comes back: the hung request is cut and retried; the log carries the metadata.
    outage.clear();
    const log = await recorder.rec.waitFor(() => logFor(user));
    expect(log.metadata).toEqual(loggedMetadata(user));
    expect(log.headers["x-api-key"]).toBe("pl_test_workers");
    return answer;
  }

  describe("with nodejs_compat (AsyncLocalStorage)", () => {
    it("answers before PromptLayer does; a withMetadata scope held across awaits reaches every destination", async () => {
      const ask = await startWorker(["nodejs_compat"]);
      const answer = await answersBeforePromptLayer(ask, "alice_scope", "scope");
      expect(answer.scopesFollowAsync).toBe(true);
      expect(answer.seenAfterAwait).toBe("alice_scope");
      expectTaggedInFlight("alice_scope");
    });
  });

  describe("without nodejs_compat (no Node built-ins, no AsyncLocalStorage)", () => {
    it("answers before PromptLayer does; per-call metadata reaches every destination", async () => {
      const ask = await startWorker([]);
      const answer = await answersBeforePromptLayer(ask, "bob_call", "call");
      expect(answer.scopesFollowAsync).toBe(false);
      expectTaggedInFlight("bob_call");
    });

    it("loses a withMetadata scope at the first await: the call carries only the defaults", async () => {
      const ask = await startWorker([]);
      const answer = await ask("user=carol_scope&via=scope");
      expect(answer.scopesFollowAsync).toBe(false);
      expect(answer.seenAfterAwait).toBeNull();
      expect(callFor("carol_scope").portkey.metadata).toEqual({ _environment: "workers" });
      expect(callFor("carol_scope").requesty).toEqual({ extra: { environment: "workers" } });
    });
  });

  it("one invocation's hung delivery neither blocks nor carries another's", async () => {
    const ask = await startWorker(["nodejs_compat"], { DELIVERY_CONCURRENCY: "1" });
    const outage = recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    await ask("user=dave_first&via=call");
    await recorder.rec.waitFor(() => hungLogRequests() === 1);
    await ask("user=erin_second&via=call");
    const second = await recorder.rec.waitFor(() => logFor("erin_second"));
    expect(second.body.metadata.user_id).toBe("erin_second");
    expect(logFor("dave_first")).toBeUndefined();
    outage.clear();
    const first = await recorder.rec.waitFor(() => logFor("dave_first"));
    expect(first.body.metadata).toEqual(loggedMetadata("dave_first"));
  });

  it("an invocation's probe given up at its deadline hands the probe on to another invocation's delivery, which workerd runs", async () => {
    const waitUntilMs = 3000;
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: String(waitUntilMs) });
    const logRequests = () => recorder.rec.promptLayer.requests().filter((r) => r.path === "/log-request");
    // PromptLayer refuses the first invocation's log until the circuit opens (5 failures in a row).
    const refusing = recorder.rec.fail({ kind: "promptlayer", status: 503 });
    const firstAsked = Date.now();
    await ask("user=gina_first&via=call");
    await recorder.rec.waitFor(() => logRequests().length >= 5);
    // Its next attempt, the probe, hangs until its waitUntil deadline gives it up.
    recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    refusing.clear();
    await recorder.rec.waitFor(() => hungLogRequests() === 1, { timeoutMs: waitUntilMs });
    // A second invocation, well after the first: its delivery waits for the probe out.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, firstAsked + waitUntilMs / 2 - Date.now())),
    );
    const secondAsked = Date.now();
    await ask("user=hank_second&via=call");
    const second = await recorder.rec.waitFor(() => logFor("hank_second"), { timeoutMs: 2 * waitUntilMs });
    const loggedAfter = Date.now() - secondAsked;
    expect(second.metadata).toEqual(loggedMetadata("hank_second"));
    // Sent when the first invocation gave its probe up (about waitUntilMs / 2 after it was asked), not
    // at its own last chance (90% of waitUntilMs after it): the wake from the other invocation ran.
    expect(loggedAfter).toBeLessThan(waitUntilMs * 0.9);
    expect(logFor("gina_first")).toBeUndefined();
  });

  it("the breaker's next probe, timed by an invocation that has ended, still goes out when due for a later invocation's delivery", async () => {
    // Long enough that a delivery sent at its own last chance (90% of it, 18 s) fails the wait below.
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "20000", MAX_ATTEMPTS: "1" });
    // The first invocation's only attempt is asked to wait a second: the circuit opens until then, the
    // probe's timer set from that invocation, which ends at once (its delivery failed for good).
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 1, times: 1 });
    await ask("user=ivy_first&via=call");
    await recorder.rec.waitFor(() => recorder.rec.promptLayer.requests().length === 1);
    // A second invocation's delivery waits for that probe, due a second after the first failed.
    await ask("user=jack_second&via=call");
    const second = await recorder.rec.waitFor(() => logFor("jack_second"), { timeoutMs: 8000 });
    expect(second.metadata).toEqual(loggedMetadata("jack_second"));
    expect(logFor("ivy_first")).toBeUndefined();
  });

  it("a probe that fails and ends its invocation leaves the next probe timed for another invocation's delivery that waits", async () => {
    // Long enough that a delivery sent at its own last chance (90% of it, 18 s) fails the wait below.
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "20000", MAX_ATTEMPTS: "1" });
    // The first invocation's only attempt opens the circuit for a second, and so does the probe.
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 1, times: 2 });
    await ask("user=olga_first&via=call");
    await recorder.rec.waitFor(() => recorder.rec.promptLayer.requests().length === 1);
    // Two invocations' deliveries wait for the probe: the first to go fails, and its invocation ends
    // (its only attempt); the other must go at the next probe, a second later.
    await ask("user=pat_second&via=call");
    await ask("user=quinn_third&via=call");
    const sent = await recorder.rec.waitFor(
      () => recorder.rec.promptLayer.logs().find((l) => l.metadata.user_id !== "olga_first"),
      { timeoutMs: 8000 },
    );
    expect(["pat_second", "quinn_third"]).toContain(sent.metadata.user_id);
    expect(recorder.rec.promptLayer.requests()).toHaveLength(3);
  });

  it("a delivery past its last chance still goes out at a probe timed by an invocation that has ended since", {
    timeout: 45_000,
  }, async () => {
    // Each delivery has its last chance 21.6 s and its deadline 24 s after it was recorded; sam is asked
    // 1.1 s after rita. Each wait is a Retry-After, and each probe has one delivery waiting for it when
    // it is due, so every run takes these steps:
    // 1. rita's first attempt hangs, the circuit still closed;
    // 2. sam's first attempt opens the circuit until 21.8 s after it, past sam's last chance;
    // 3. sam's delivery is that probe (its last chance spent) and is asked to wait 0.6 s (so does its
    //    retry); the test then cuts rita's hung request, and her delivery waits for the breaker;
    // 4. rita's is the next probe, 0.5 s before her deadline, and is asked to wait 1 s: the probe after
    //    is timed by her invocation, which has ended by then.
    // Only if sam's delivery times that probe itself does it go out (0.6 s before its own deadline).
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "24000" });
    const logRequests = () => recorder.rec.promptLayer.requests().filter((r) => r.path === "/log-request");
    const hung = recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    for (const retryAfter of [21.8, 0.6, 1])
      recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter, times: 1 });
    const firstAsked = Date.now();
    await ask("user=rita_first&via=call");
    await recorder.rec.waitFor(() => hungLogRequests() === 1);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstAsked + 1100 - Date.now())));
    await ask("user=sam_second&via=call");
    await recorder.rec.waitFor(() => logRequests().length === 3, { timeoutMs: 25_000 });
    hung.clear();
    const second = await recorder.rec.waitFor(() => logFor("sam_second"), { timeoutMs: 4000 });
    expect(second.metadata).toEqual(loggedMetadata("sam_second"));
    // The steps above, in order.
    const users = logRequests().map((r) => (r.body as { metadata?: { user_id?: string } }).metadata?.user_id);
    expect(users).toEqual(["rita_first", "sam_second", "sam_second", "rita_first", "sam_second"]);
  });

  it("a delivery let go by another invocation's answer sends no probe at its last chance: the next outage is still probed", async () => {
    // Each delivery has its last chance 3.6 s and its deadline 4 s after it was recorded.
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "4000" });
    const logRequests = () => recorder.rec.promptLayer.requests().filter((r) => r.path === "/log-request");
    // The first invocation's log is answered 1.5 s late; the second's is asked to wait 2.5 s (the
    // circuit opens); the third's, once the first's answer has closed the circuit, hangs.
    recorder.rec.fail({ kind: "promptlayer", delayMs: 1500, times: 1 });
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 2.5, times: 1 });
    recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    await ask("user=tom_first&via=call");
    await recorder.rec.waitFor(() => logRequests().length === 1);
    await ask("user=uma_second&via=call");
    await recorder.rec.waitFor(() => logRequests().length === 2);
    // The third's delivery waits for the breaker, its last chance timed, until the first's answer lets
    // it go: that wake comes from the first invocation, which cannot clear the third's timers.
    await ask("user=vic_third&via=call");
    await recorder.rec.waitFor(() => hungLogRequests() === 1, { timeoutMs: 3000 });
    await recorder.rec.waitFor(() => logFor("uma_second"), { timeoutMs: 3000 });
    // Its last chance passes while its request hangs; its deadline gives the delivery up.
    for (let tries = 0; !(await ask.errors()).some((e) => e.includes("abandoned")); tries++) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A later outage opens the circuit for half a second: its probe must go out, and PromptLayer is back.
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 0.5, times: 1 });
    await ask("user=wes_fourth&via=call");
    const fourth = await recorder.rec.waitFor(() => logFor("wes_fourth"), { timeoutMs: 3000 });
    expect(fourth.metadata).toEqual(loggedMetadata("wes_fourth"));
  });

  it("a probe's timer left from before the circuit closed sends no probe once it has opened again: the new Retry-After holds", async () => {
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "10000" });
    const logRequests = () => recorder.rec.promptLayer.requests().filter((r) => r.path === "/log-request");
    // The first invocation's log is answered a second late; the second's is asked to wait 3 s (the
    // circuit opens, the probe timed from the second invocation); the first's answer then closes it,
    // from the first invocation, which cannot clear the second's timer.
    recorder.rec.fail({ kind: "promptlayer", delayMs: 1000, times: 1 });
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 3, times: 1 });
    await ask("user=xena_first&via=call");
    await recorder.rec.waitFor(() => logRequests().length === 1);
    await ask("user=yann_second&via=call");
    await recorder.rec.waitFor(() => logRequests()[0]?.status === 201, { timeoutMs: 3000 });
    // The third's log is asked to wait 4 s: the circuit opens again, and the fourth's delivery waits.
    recorder.rec.fail({ kind: "promptlayer", status: 503, retryAfter: 4, times: 1 });
    await ask("user=zoe_third&via=call");
    const refused = await recorder.rec.waitFor(() => logRequests()[2]);
    await ask("user=abe_fourth&via=call");
    const fourth = await recorder.rec.waitFor(() => logFor("abe_fourth"), { timeoutMs: 8000 });
    expect(fourth.metadata).toEqual(loggedMetadata("abe_fourth"));
    // No request went out before that Retry-After had run (the old timer was due 2 s or so sooner).
    const after = logRequests().filter((r) => r.seq > refused.seq);
    expect(Math.min(...after.map((r) => r.time)) - refused.time).toBeGreaterThanOrEqual(3500);
  });

  it("a request abandoned at its invocation's deadline is no longer counted as waiting for an answer once that invocation has ended", async () => {
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "1500" });
    recorder.rec.fail({ kind: "promptlayer", hang: true });
    /** The Worker's onError reports, once there are `n`. */
    const reports = async (n: number): Promise<string[]> => {
      for (let tries = 0; ; tries++) {
        const seen = await ask.errors();
        if (seen.length >= n || tries === 100) return seen;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // Each invocation's log hangs until its deadline abandons it, its request aborted.
    await ask("user=kim_first&via=call");
    const [first] = await reports(1);
    expect(first).toMatch(/abandoned a delivery .*: 1 waiting for an answer/);
    await ask("user=lee_second&via=call");
    const [, second] = await reports(2);
    // The first invocation's request was aborted; only the second's was waiting.
    expect(second).toMatch(/abandoned a delivery .*: 1 waiting for an answer \(the oldest for 1\.\d s\)/);
  });

  it("a shutdown called from another invocation abandons and reports the deliveries whose requests are out", async () => {
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "10000" });
    recorder.rec.fail({ kind: "promptlayer", hang: true, times: 2 });
    // Two invocations' logs hang; a third invocation shuts Tagalong down. On Workers it cannot abort
    // the others' requests (workerd throws "Cannot perform I/O on behalf of a different request").
    await ask("user=ola_first&via=call");
    await ask("user=pia_second&via=call");
    await recorder.rec.waitFor(() => hungLogRequests() === 2);
    const res = await ask.shutdown(200);
    expect(res).toBe("shut down");
    let seen: string[] = [];
    for (let tries = 0; seen.length === 0 && tries < 50; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await ask.errors();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(
      /abandoned 2 deliveries still pending when the destination shut down \(waited 200 ms\): 2 waiting for an answer/,
    );
  });

  it("a handler that awaits flush() while another invocation's delivery is pending answers once that delivery is given up", async () => {
    const ask = await startWorker(["nodejs_compat"], { WAIT_UNTIL_MS: "1500" });
    recorder.rec.fail({ kind: "promptlayer", hang: true, times: 1 });
    await ask("user=mia_first&via=call");
    await recorder.rec.waitFor(() => hungLogRequests() === 1);
    // The second invocation's own log is sent at once; its flush waits for the first's, hung.
    const answer = await ask("user=ned_second&via=call&flush=1");
    expect(answer.text).toBe("echo: hello from ned_second");
    expect(logFor("ned_second")).toBeDefined();
  });

  it("control: without waitUntil the Worker's tracking is lost when the response is sent", async () => {
    const ask = await startWorker(["nodejs_compat"], { TAGALONG_WAIT_UNTIL: "off" });
    await ask("user=frank_lost&via=call");
    expect(callFor("frank_lost").portkey.metadata?._user).toBe("frank_lost");
    // Ample time for a delivery that would come (the ones above arrive within a few ms).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorder.rec.promptLayer.requests()).toEqual([]);
  });
});
