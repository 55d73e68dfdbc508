// The circuit breaker: after BREAKER_THRESHOLD failed attempts in a row (or a Retry-After), the service
// counts as down. Deliveries then stop spending attempts and wait; one probe at a time goes out at
// growing intervals (the retry backoff, with jitter), and the first answer closes the circuit and lets
// every waiting delivery go again. A delivery with a deadline of its own (a serverless waitUntil's) that
// would pass before the next probe goes out as the probe at its last chance, unless a probe is out, one
// went out less than `spacingMs` before, or a Retry-After still runs: the service is tried before the
// delivery is given up, without more than one probe at a time or more than one per `spacingMs`.
import { type Timer, unref } from "../adapter-kit/timer";
import type { RetryPolicy } from "./retry-policy";
import type { Cancel } from "./transport";

/**
 * The pass the probe goes out with. Only the probe's own outcome moves the probing on: a request
 * that was already out when the circuit opened can fail after the probe left, and taken for the
 * probe it would send another while the probe is still out.
 */
export interface Probe {
  readonly probe: true;
}

/** What `ready` lets out: any request while the circuit is closed ("go"), the probe while it is open. */
export type Pass = "go" | Probe;

export interface Breaker {
  /**
   * Resolves with a pass when a request may go out: "go" at once while the circuit is closed or when
   * it closes; a Probe when this request is the next probe, or at `lastChance` (epoch ms) if no probe
   * is out then, none went out in the `spacingMs` before and no Retry-After runs. Resolves "expired"
   * at `deadline` (epoch ms) if that comes first, and "released" when `cancel.abort()` ends the wait
   * (its job was abandoned). `own` (a request whose job has a deadline of its own, a serverless
   * invocation's, its last chance spent or not) times the probe with a timer of its own as it waits.
   */
  ready(
    deadline?: number,
    cancel?: Cancel,
    lastChance?: number,
    own?: boolean,
  ): Promise<Pass | "expired" | "released">;
  /** The service answered (anything but a retryable failure): close the circuit. */
  answered(): void;
  /** Whether a request may go out now without waiting (the circuit is closed): ready's fast path. */
  closed(): boolean;
  /**
   * A retryable failure; `retryAfterMs` opens the circuit for at least that long. `pass` is the one
   * the failed request went out with: the probe's failure schedules the next probe.
   */
  failed(reason: string, retryAfterMs?: number, pass?: Pass): void;
  /** The probe will not be answered (its job was abandoned): the next waiting request goes out instead. */
  forgo(pass: Probe): void;
  /** Whether the circuit is open, since when, and the last failure seen. */
  state(): { open: boolean; since?: number; lastFailure?: string };
}

export const isProbe = (pass: Pass | "expired" | "released"): pass is Probe => typeof pass === "object";

export function circuitBreaker(policy: RetryPolicy, threshold: number, spacingMs: number): Breaker {
  let consecutive = 0;
  let open = false;
  let openedAt: number | undefined;
  let probes = 0;
  /** The probe out now, if one is. */
  let probe: Probe | undefined;
  let probeAt = 0;
  /** When the last probe went out, and until when a Retry-After asked everyone to wait. */
  let probedAt = Number.NEGATIVE_INFINITY;
  let askedUntil = 0;
  let timer: Timer | undefined;
  let lastFailure: string | undefined;
  interface Waiter {
    wake(outcome: Pass | "expired" | "released"): void;
    /** Times the next probe with a timer of its own (a request with a last chance: see ready()). */
    time?(): void;
  }
  const waiters: Waiter[] = [];

  const sendProbe = (): Probe => {
    probedAt = Date.now();
    probe = { probe: true };
    return probe;
  };

  // The longest-waiting request goes out as the probe.
  const handOn = (): void => {
    waiters.shift()?.wake(sendProbe());
  };

  // The probe is due. A probe still out (the timer was moved by a Retry-After) decides itself when the
  // next one goes: its failure schedules it, its answer closes the circuit.
  const due = (): void => {
    if (probe === undefined) handOn();
  };

  // When the probe is due: the breaker's timer, and that of each request with a last chance waiting.
  // A timer cleared from another invocation still fires on Workers (clearTimeout reaches only the
  // current invocation's): only the one set last acts, or a probe would go before a Retry-After ends.
  const scheduleProbe = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    const set: Timer = unref(
      setTimeout(
        () => {
          if (timer !== set) return;
          timer = undefined;
          due();
        },
        Math.max(0, probeAt - Date.now()),
      ),
    );
    timer = set;
    for (const w of waiters) w.time?.();
  };

  const openFor = (ms: number, asked: boolean): void => {
    if (!open) {
      open = true;
      openedAt = Date.now();
      probes = 0;
    }
    probeAt = Date.now() + ms;
    if (asked) askedUntil = probeAt;
    scheduleProbe();
  };

  return {
    closed: () => !open,
    ready(deadline, cancel, lastChance, own = lastChance !== undefined) {
      if (!open) return Promise.resolve("go");
      if (probe === undefined && Date.now() >= probeAt && timer === undefined) {
        return Promise.resolve(sendProbe());
      }
      return new Promise((resolve) => {
        let expiry: Timer | undefined;
        let chance: Timer | undefined;
        let probeTimer: Timer | undefined;
        let woken = false;
        // Woken from another invocation (its timer, answer or forgo), this request's timers stay set: on
        // Workers clearTimeout reaches only the current invocation's. Each does nothing once woken: a
        // last chance sending a probe then would leave that probe out for good, sent by no one, and
        // no other probe would go out while the circuit is open.
        const waiter: Waiter = {
          wake(outcome) {
            woken = true;
            clearTimeout(expiry);
            clearTimeout(chance);
            clearTimeout(probeTimer);
            resolve(outcome);
          },
        };
        // A request with a deadline of its own (a serverless invocation's; its last chance may be spent
        // already). On Workers a timer set by an invocation never fires once that invocation has ended,
        // and the breaker's may have been set by one that has (its delivery failed or was given up):
        // each such request times the probe as well, so that it goes when due as long as one of them
        // waits. Its timer is set again from its own invocation: `time()` is called from the one whose
        // failure moved the probe, and resolving a promise this request made runs what follows here,
        // not there.
        if (own) {
          const arm = (): void => {
            if (woken) return;
            clearTimeout(probeTimer);
            const at = probeAt;
            probeTimer = unref(
              setTimeout(() => !woken && probeAt === at && due(), Math.max(0, at - Date.now())),
            );
            void new Promise<void>((again) => (waiter.time = again)).then(arm);
          };
          arm();
        }
        // Out of the line: a wait that ended will never be woken as the probe.
        const leave = (outcome: Pass | "expired" | "released"): void => {
          if (woken) return;
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          waiter.wake(outcome);
        };
        if (deadline !== undefined) {
          expiry = unref(setTimeout(() => leave("expired"), Math.max(0, deadline - Date.now())));
        }
        // The last chance, no sooner than `spacingMs` after the last probe or than a Retry-After allows;
        // a probe out then answers for this request too.
        const lastTry = (): void => {
          if (woken) return;
          const at = Math.max(lastChance!, probedAt + spacingMs, askedUntil);
          if (at > Date.now()) chance = unref(setTimeout(lastTry, at - Date.now()));
          else if (probe === undefined) leave(sendProbe());
        };
        if (cancel) cancel.abort = () => leave("released");
        waiters.push(waiter);
        // The probe's timer may have gone off already with no one waiting, a moment before `probeAt` by
        // the clock (a timer's clock and Date.now() drift apart under load): it is set again, or this
        // request would wait for a probe nothing sends.
        if (probe === undefined && timer === undefined) scheduleProbe();
        if (lastChance !== undefined) lastTry();
      });
    },
    answered() {
      consecutive = 0;
      probe = undefined;
      if (!open) return;
      open = false;
      openedAt = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const w of waiters.splice(0)) w.wake("go");
    },
    failed(reason, retryAfterMs, pass) {
      lastFailure = reason;
      consecutive++;
      if (open) {
        // The probe failed: wait longer before the next one. Another request failing (one that was
        // already out when the circuit opened) moves the probe only by a Retry-After.
        if (pass !== undefined && pass === probe) {
          probe = undefined;
          openFor(policy.delay(++probes + 1, retryAfterMs), retryAfterMs !== undefined);
        } else if (retryAfterMs !== undefined) {
          openFor(policy.delay(probes + 1, retryAfterMs), true);
        }
        return;
      }
      if (consecutive >= threshold || retryAfterMs !== undefined) {
        openFor(policy.delay(1, retryAfterMs), retryAfterMs !== undefined);
      }
    },
    forgo(pass) {
      if (pass !== probe) return;
      probe = undefined;
      if (open) handOn();
    },
    state() {
      return { open, since: openedAt, lastFailure };
    },
  };
}
