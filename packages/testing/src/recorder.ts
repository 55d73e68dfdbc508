// The recorder, composed of its parts: the request log (recorder-log.ts), the failure rules
// (recorder-failures.ts), the dispatch to the stand-ins (recorder-dispatch.ts), the loopback server
// (recorder-server.ts), the judged views (recorder-views.ts) and the summary (summary.ts).
import { dispatcher } from "./recorder-dispatch";
import { FailureRules } from "./recorder-failures";
import { RequestLog } from "./recorder-log";
import { LoopbackServer } from "./recorder-server";
import { recorderViews } from "./recorder-views";
import { formatSummary } from "./summary";
import type { FailureOptions, Recorder, RecorderOptions, WaitForOptions } from "./types";

/** Polls `predicate` until it returns something truthy; on timeout, throws with the recorder's summary. */
async function waitFor<T>(
  recorder: Recorder,
  predicate: (rec: Recorder) => T,
  o: WaitForOptions,
): Promise<NonNullable<T>> {
  const timeoutMs = o.timeoutMs ?? 2_000;
  const intervalMs = o.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    // A predicate that throws (e.g. reads a log that has not arrived) counts as "not yet".
    try {
      const value = predicate(recorder);
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(
        `recorder.waitFor: timed out after ${timeoutMs} ms${cause}\n${formatSummary(recorder)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Start a loopback server that answers as an OpenAI-compatible API and as PromptLayer's API,
 * records every request and judges each against the vendors' rules.
 * @example
 * import { createRecorder } from "@tagalong/testing";
 * import OpenAI from "openai";
 *
 * const rec = await createRecorder(); // 127.0.0.1, a free port
 * const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL });
 * await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
 * console.log(rec.calls()[0]?.violations); // [] when every vendor rule held
 * await rec.close();
 */
export async function createRecorder(options: RecorderOptions = {}): Promise<Recorder> {
  const log = new RequestLog(options.promptLayerApiKey);
  const rules = new FailureRules();
  const server: LoopbackServer = new LoopbackServer(
    (req, res) => handle(req, res),
    () => rules.releaseHeld(),
  );
  const handle = dispatcher({ log, rules, sleep: (ms) => server.sleep(ms), options });
  const views = recorderViews(log);
  const { requests } = log;
  let closed = false;

  const port = await server.listen(options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;

  const recorder: Recorder = {
    url,
    openaiBaseURL: `${url}/v1`,
    promptLayerURL: url,
    port,
    requests,
    calls: views.calls,
    callsWhere: (predicate) => views.calls().filter(predicate),
    promptLayer: {
      logs: views.logs,
      tracks: views.tracks,
      requests: () => requests.filter((r) => r.kind === "promptlayer"),
      duplicates: () => log.duplicates,
      violations: () => views.violations().filter((v) => /^#\d+ \/(log-request|rest\/)/.test(v)),
    },
    violations: views.violations,
    waitFor: (predicate, o = {}) => waitFor(recorder, predicate, o),
    summary: () => formatSummary(recorder),
    fail: (o: FailureOptions = {}) => rules.add(o),
    refuse: () => server.stop(),
    async resume() {
      if (closed || server.isListening) return;
      await server.listen(port);
    },
    async reset() {
      log.reset();
      rules.clear();
      if (!closed && !server.isListening) await server.listen(port);
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
  return recorder;
}
