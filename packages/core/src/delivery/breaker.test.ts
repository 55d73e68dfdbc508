import { afterEach, describe, expect, it, vi } from "vitest";
import { circuitBreaker } from "./breaker";
import { DELIVERY_DEFAULTS } from "./options";
import { retryPolicy } from "./retry-policy";

afterEach(() => {
  vi.useRealTimers();
});

describe("circuitBreaker", () => {
  it("a request that comes after the probe's timer went off with no one waiting, but before probeAt by Date.now(), still goes as the probe", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const breaker = circuitBreaker(
      retryPolicy({ ...DELIVERY_DEFAULTS, backoffMs: 100 }, () => 0),
      5,
      100,
    );
    // A Retry-After opens the circuit for 100 ms; its probe's timer goes off with no request waiting.
    breaker.failed("HTTP 503", 0, "go");
    await vi.advanceTimersByTimeAsync(100);
    // Under load a timer fires by the event loop's clock, which can run a little ahead of Date.now().
    vi.setSystemTime(Date.now() - 1);
    let pass: unknown;
    void breaker.ready().then((p) => {
      pass = p;
    });
    await vi.advanceTimersByTimeAsync(5);
    expect(pass).toEqual({ probe: true });
  });
});
