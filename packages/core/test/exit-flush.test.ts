// A process that records a call and simply ends (no flush, no shutdown) still delivers it, within
// exitTimeoutMs; what cannot be delivered in time is reported, never lost silently.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useRecorder } from "./use-recorder";

const KEY = "pl_exit_key_0123456789";
const child = fileURLToPath(new URL("./fixtures/exit-child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the child's "recorded" line to its exit. */
  afterRecord: number;
}

function runChild(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", child], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TAGALONG_LOG_LEVEL: "warn",
        PL_KEY: KEY,
        PL_URL: recorder.rec.promptLayerURL,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let recordedAt = 0;
    proc.stdout.on("data", (d) => {
      stdout += d;
      if (!recordedAt && stdout.includes("recorded")) recordedAt = Date.now();
    });
    proc.stderr.on("data", (d) => (stderr += d));
    proc.on("error", reject);
    proc.on("close", (code) => resolve({ code, stdout, stderr, afterRecord: Date.now() - recordedAt }));
  });
}

const recorder = useRecorder({ promptLayerApiKey: KEY });

const paths = () => recorder.rec.promptLayer.requests().map((r) => `${r.path} ${r.status ?? r.outcome}`);

describe("a process that exits normally", { timeout: 20_000 }, () => {
  it("delivers what it recorded", async () => {
    const exit = await runChild({ BACKOFF_MS: "50", TIMEOUT_MS: "2000", EXIT_MS: "5000" });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe("");
    // A prompt named by label: log-request, then track-prompt.
    expect(paths()).toEqual(["/log-request 201", "/rest/track-prompt 200"]);
    expect(recorder.rec.violations()).toEqual([]);
  });

  it("waits through retry backoff (timers that would not hold the process by themselves)", async () => {
    recorder.rec.fail({ path: "/log-request", status: 500, times: 2 });
    const exit = await runChild({ BACKOFF_MS: "150", TIMEOUT_MS: "2000", EXIT_MS: "5000" });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe("");
    expect(paths()).toEqual([
      "/log-request 500",
      "/log-request 500",
      "/log-request 201",
      "/rest/track-prompt 200",
    ]);
  });

  it("gives up after exitTimeoutMs and reports what it abandoned", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true });
    // The request's own timeout (2 s) is well past exitTimeoutMs: however late a loaded machine runs
    // the timers, the request is still waiting for its answer when the 400 ms are up (with a timeout
    // under 400 ms, a late timer could find it between a timeout and its retry instead).
    const exit = await runChild({ BACKOFF_MS: "20", TIMEOUT_MS: "2000", EXIT_MS: "400" });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain(
      "onError: promptlayer: abandoned 1 deliveries still pending when the process exited (waited 400 ms)",
    );
    expect(exit.stderr).not.toContain(KEY);
    // The delivery was still lingering when the script ended, so the exit drain started it and allowed
    // it 400 ms: the hung request was cut there, not at its own timeout.
    expect(exit.stderr).toMatch(/waited 400 ms\): 1 waiting for an answer/);
    expect(exit.afterRecord).toBeGreaterThanOrEqual(380);
    expect(exit.afterRecord).toBeLessThan(5000);
  });

  it("a delivery already waiting for an answer holds the process no longer than exitTimeoutMs", async () => {
    recorder.rec.fail({ path: "/log-request", hang: true });
    // lingerMs 0: the request is on the wire before the script's last task ends.
    const exit = await runChild({ BACKOFF_MS: "20", TIMEOUT_MS: "4000", EXIT_MS: "400", LINGER_MS: "0" });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(
      /abandoned 1 deliveries still pending when the process exited \(waited 400 ms\): 1 waiting for an answer/,
    );
    expect(exit.stderr).not.toContain("timed out");
    expect(exit.afterRecord).toBeGreaterThanOrEqual(380);
    expect(exit.afterRecord).toBeLessThan(3000);
  });

  it("with exitTimeoutMs 0, does not wait but still reports", async () => {
    recorder.rec.fail({ path: "/log-request", status: 500 });
    const exit = await runChild({ BACKOFF_MS: "1000", TIMEOUT_MS: "2000", EXIT_MS: "0" });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain(
      "abandoned 1 deliveries still pending when the process exited (waited 0 ms)",
    );
    // Abandoned before it was sent (it was lingering for its batch), and said so.
    expect(exit.stderr).toContain("(waited 0 ms): 1 not started");
    expect(paths()).toEqual([]);
    expect(exit.afterRecord).toBeLessThan(900);
  });
});
