// Review repro (rev-delivery) R2, with the shipped defaults: an outage of a few minutes under a
// waitUntil (Vercel, Workers) leaves PromptLayer's circuit open for good in that instance.
import { describe, expect, it, vi } from "vitest";
import { useRecorder } from "../test/use-recorder";
import { promptLayer } from "./destinations/promptlayer";
import { createTagalong } from "./tagalong";
import type { CompletedCall, Logger } from "./types";

const recorder = useRecorder();
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

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

// Real I/O turns while setTimeout is faked.
const realTurns = async (n = 200) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("review: serverless outage with default delivery options", () => {
  it("R2 once PromptLayer is back, calls recorded under waitUntil are logged again", async () => {
    const errors: unknown[] = [];
    const tagalong = createTagalong({
      destinations: [promptLayer({ apiKey: "pl_key_serverless", baseURL: recorder.rec.promptLayerURL })],
      logger: silent,
      onError: (e) => errors.push(e),
      waitUntil: () => {},
    });
    const outage = recorder.rec.fail({ kind: "promptlayer", status: 503 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      // Three minutes of outage, a call every 5 s.
      for (let t = 0; t < 180_000; t += 5000) {
        tagalong.record(call(`during_${t}`));
        await vi.advanceTimersByTimeAsync(0);
        await realTurns();
        await vi.advanceTimersByTimeAsync(5000);
        await realTurns();
      }
      outage.clear();
      const hitsWhenBack = outage.hits;
      // PromptLayer is back. Two more minutes of traffic.
      for (let t = 0; t < 120_000; t += 5000) {
        tagalong.record(call(`after_${t}`));
        await vi.advanceTimersByTimeAsync(0);
        await realTurns();
        await vi.advanceTimersByTimeAsync(5000);
        await realTurns();
      }
      const after = recorder.rec.promptLayer
        .logs()
        .filter((l) => String(l.metadata.user_id).startsWith("after_"));
      const lastError = (errors.at(-1) as Error | undefined)?.message;
      // 24 calls over the 2 minutes after PromptLayer came back: each should be logged.
      expect({ hitsWhenBack: hitsWhenBack > 0, loggedAfter: after.length, lastError }).toEqual({
        hitsWhenBack: true,
        loggedAfter: 24,
        lastError: expect.not.stringMatching(/has been failing for (2[4-9]\d|3\d\d) s/),
      });
    } finally {
      vi.useRealTimers();
    }
  });
});
