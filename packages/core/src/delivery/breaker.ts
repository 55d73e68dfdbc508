// The circuit breaker: after BREAKER_THRESHOLD failed attempts in a row (or a Retry-After), the service
// counts as down. Deliveries then stop spending attempts and wait; one probe at a time goes out at
// growing intervals (the retry backoff, with jitter), and the first answer closes the circuit and lets
// every waiting delivery go again.
import { type Timer, unref } from "./attempt";
import type { RetryPolicy } from "./retry-policy";

export interface Breaker {
  /**
   * Resolves "go" when a request may go out: at once while the circuit is closed; while it is open,
   * when this request is the next probe or the circuit has closed. Resolves "expired" at `deadline`
   * (epoch ms) if that comes first, and "released" on `release()`.
   */
  ready(deadline?: number): Promise<"go" | "expired" | "released">;
  /** The service answered (anything but a retryable failure): close the circuit. */
  answered(): void;
  /** Whether a request may go out now without waiting (the circuit is closed): ready's fast path. */
  closed(): boolean;
  /** A retryable failure; `retryAfterMs` opens the circuit for at least that long. */
  failed(reason: string, retryAfterMs?: number): void;
  /** Wakes every waiting request with false (the queue is abandoning its work). */
  release(): void;
  /** Whether the circuit is open, since when, and the last failure seen. */
  state(): { open: boolean; since?: number; lastFailure?: string };
}

export function circuitBreaker(policy: RetryPolicy, threshold: number): Breaker {
  let consecutive = 0;
  let open = false;
  let openedAt: number | undefined;
  let probes = 0;
  let probeInFlight = false;
  let probeAt = 0;
  let timer: Timer | undefined;
  let lastFailure: string | undefined;
  interface Waiter {
    wake(outcome: "go" | "released"): void;
  }
  const waiters: Waiter[] = [];

  const wakeAll = (outcome: "go" | "released"): void => {
    for (const w of waiters.splice(0)) w.wake(outcome);
  };

  // When the probe is due, the longest-waiting request goes out as the probe.
  const scheduleProbe = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = unref(
      setTimeout(
        () => {
          timer = undefined;
          const next = waiters.shift();
          if (next) {
            probeInFlight = true;
            next.wake("go");
          }
        },
        Math.max(0, probeAt - Date.now()),
      ),
    );
  };

  const openFor = (ms: number): void => {
    if (!open) {
      open = true;
      openedAt = Date.now();
      probes = 0;
    }
    probeAt = Date.now() + ms;
    scheduleProbe();
  };

  return {
    closed: () => !open,
    ready(deadline) {
      if (!open) return Promise.resolve("go");
      if (!probeInFlight && Date.now() >= probeAt && timer === undefined) {
        probeInFlight = true;
        return Promise.resolve("go");
      }
      return new Promise((resolve) => {
        let expiry: Timer | undefined;
        const waiter: Waiter = {
          wake(outcome) {
            if (expiry !== undefined) clearTimeout(expiry);
            resolve(outcome);
          },
        };
        if (deadline !== undefined) {
          expiry = unref(
            setTimeout(
              () => {
                const at = waiters.indexOf(waiter);
                if (at >= 0) waiters.splice(at, 1);
                resolve("expired");
              },
              Math.max(0, deadline - Date.now()),
            ),
          );
        }
        waiters.push(waiter);
      });
    },
    answered() {
      consecutive = 0;
      probeInFlight = false;
      if (!open) return;
      open = false;
      openedAt = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      wakeAll("go");
    },
    failed(reason, retryAfterMs) {
      lastFailure = reason;
      consecutive++;
      if (open) {
        // A probe failed (or a request that was already out): wait longer before the next probe.
        if (probeInFlight) {
          probeInFlight = false;
          openFor(policy.delay(++probes + 1, retryAfterMs));
        } else if (retryAfterMs !== undefined) {
          openFor(policy.delay(probes + 1, retryAfterMs));
        }
        return;
      }
      if (consecutive >= threshold || retryAfterMs !== undefined) {
        openFor(policy.delay(1, retryAfterMs));
      }
    },
    release() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      probeInFlight = false;
      wakeAll("released");
    },
    state() {
      return { open, since: openedAt, lastFailure };
    },
  };
}
