// A Cloudflare Worker (src/worker-frameworks.ts, bundled for workerd) run by miniflare, calling the
// loopback recorder through each framework Tagalong wraps, streamed and not. The Worker answers (its
// stream ends) while PromptLayer is still hung; the log must arrive afterwards all the same, with the
// call's metadata, kept alive by `waitUntil`.
// miniflare 4 needs Node >= 22: on Node 20 this suite is skipped by the matrix's definition.
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "./bundle";
import { hungLogRequests as hungIn, logFor as logForIn, startMiniflare } from "./miniflare";
import { useRecorder } from "./use-recorder";

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);

describe.skipIf(NODE_MAJOR < 22)("each framework in a Cloudflare Worker under miniflare (workerd)", () => {
  const recorder = useRecorder();
  let worker: Miniflare | undefined;
  let ask: (path: string) => Promise<string>;
  beforeAll(async () => {
    const script = await bundleWorker(new URL("../src/worker-frameworks.ts", import.meta.url));
    const mf = await startMiniflare(script, recorder.rec, ["nodejs_compat"]);
    worker = mf;
    ask = async (path) => {
      const res = await mf.dispatchFetch(`http://worker.test${path}`);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return text;
    };
  }, 60_000);
  afterAll(() => worker?.dispose());

  const logFor = (user: string) => logForIn(recorder.rec, user);
  const hungLogRequests = () => hungIn(recorder.rec);

  // What the Worker test (worker.test.ts) does not cover: a stream (read in the handler, or returned as
  // the response's body, recorded at its end while the response is sent), the AI SDK and LangChain,
  // and a Tagalong created in the invocation with its ctx.waitUntil.
  const cases = [
    ["openai", "1", "import"],
    ["openai", "pipe", "import"],
    ["ai-sdk", "0", "import"],
    ["ai-sdk", "1", "import"],
    ["langchain", "0", "import"],
    ["langchain", "1", "import"],
    ["openai", "pipe", "ctx"],
    ["ai-sdk", "1", "ctx"],
    ["langchain", "1", "ctx"],
  ] as const;
  for (const [framework, stream, hook] of cases) {
    it(`${framework}, stream=${stream}, waitUntil from ${hook === "ctx" ? "ctx, Tagalong created in the invocation" : "cloudflare:workers"}: logged after the response, with the call's metadata`, async () => {
      const user = `u_${framework.replace("-", "_")}_${stream}_${hook}`;
      const outage = recorder.rec.fail({ kind: "promptlayer", hang: true });
      const text = await ask(`/${framework}?user=${user}&stream=${stream}&hook=${hook}`);
      expect(text).toContain(`hello from ${user}`);
      // The log went out within the invocation and is unanswered when the response has been read.
      await recorder.rec.waitFor(() => hungLogRequests() === 1);
      outage.clear();
      const log = await recorder.rec.waitFor(() => logFor(user));
      // LangChain's run id is the trace.
      expect(log.metadata).toMatchObject({ user_id: user, session_id: `s_${user}`, environment: "workers" });
    });
  }
});
