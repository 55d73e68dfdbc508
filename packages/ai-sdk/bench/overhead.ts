// What tagalongMiddleware adds to a call: the wrapped model against the bare one, in the same run,
// variants interleaved call by call so drift hits them alike. Not a test: it prints numbers.
//   npx tsx packages/ai-sdk/bench/overhead.ts [iterations]
// Two settings: an in-process model (no I/O, so the middleware's own cost shows in microseconds) and
// @ai-sdk/openai-compatible talking to the loopback recorder (a real HTTP round trip, the usual case).
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { createTagalong, type Destination, portkey, requesty } from "@tagalong/core";
import { createRecorder } from "@tagalong/testing";
import { generateText, streamText, wrapLanguageModel } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";
import { tagalongMiddleware } from "../src/index";

const iterations = Number(process.argv[2] ?? 2000);
const warmup = Math.max(50, Math.floor(iterations / 10));

const usage = {
  inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 2, text: 2, reasoning: 0 },
};
function inProcessModel() {
  return new MockLanguageModelV3({
    provider: "bench.chat",
    modelId: "bench",
    doGenerate: async () => ({
      content: [{ type: "text", text: "echo: hi" }],
      finishReason: { unified: "stop", raw: "stop" },
      usage,
      warnings: [],
      response: { id: "r_1", modelId: "bench", timestamp: new Date(0) },
    }),
    doStream: async () => ({
      stream: convertArrayToReadableStream([
        { type: "stream-start", warnings: [] },
        { type: "response-metadata", id: "r_1", modelId: "bench", timestamp: new Date(0) },
        { type: "text-start", id: "0" },
        { type: "text-delta", id: "0", delta: "echo: " },
        { type: "text-delta", id: "0", delta: "hi" },
        { type: "text-end", id: "0" },
        { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
      ]),
    }),
  });
}

// Records calls like an after-the-call destination would, without any I/O.
const sink: Destination = { name: "sink", record: () => {} };
const inFlight = createTagalong({
  destinations: [portkey(), requesty()],
  metadata: { environment: "bench" },
});
const recording = createTagalong({
  destinations: [portkey(), requesty(), sink],
  metadata: { environment: "bench" },
});

// What the middleware sends for a call, added by hand: separates the cost of carrying the metadata
// (bigger requests for the provider and server to handle) from the middleware's own work.
const byHand = inFlight.prepare({ user: "u_1", tags: ["bench"] });
const byHandOptions: any = { headers: { ...byHand.headers }, providerOptions: { bench: { ...byHand.body } } };

type Variant = { name: string; model: any; perCall: boolean; byHand?: boolean };
function variants(base: () => any): Variant[] {
  return [
    { name: "bare", model: base(), perCall: false },
    { name: "bare, same fields by hand", model: base(), perCall: false, byHand: true },
    // What wrapLanguageModel itself costs, so the middleware's own share can be read off.
    {
      name: "wrapped, empty middleware",
      model: wrapLanguageModel({ model: base(), middleware: { specificationVersion: "v3" } }),
      perCall: false,
    },
    {
      name: "wrapped (Portkey + Requesty)",
      model: wrapLanguageModel({ model: base(), middleware: tagalongMiddleware(inFlight) }),
      perCall: true,
    },
    {
      name: "wrapped + recording",
      model: wrapLanguageModel({ model: base(), middleware: tagalongMiddleware(recording) }),
      perCall: true,
    },
  ];
}

async function once(variant: Variant, stream: boolean, i: number): Promise<number> {
  const options = {
    model: variant.model,
    prompt: "hi",
    maxRetries: 0,
    ...(variant.perCall ? { providerOptions: { tagalong: { user: `u_${i % 100}`, tags: ["bench"] } } } : {}),
    ...(variant.byHand ? byHandOptions : {}),
  };
  const start = performance.now();
  if (stream) await streamText(options).text;
  else await generateText(options);
  return performance.now() - start;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(setting: string, list: Variant[], stream: boolean): Promise<void> {
  const times = list.map(() => [] as number[]);
  for (let i = 0; i < warmup + iterations; i++) {
    // Rotate the order each round so no variant always runs first.
    for (let k = 0; k < list.length; k++) {
      const v = (i + k) % list.length;
      const t = await once(list[v]!, stream, i);
      if (i >= warmup) times[v]!.push(t);
    }
  }
  const [bareMedian, bareP99] = stats(times[0]!);
  console.log(`\n${setting}, ${stream ? "streamText" : "generateText"} (${iterations} calls each)`);
  console.log("  variant                          median      p99     median ratio  p99 ratio");
  for (const [v, variant] of list.entries()) {
    const [median, p99] = stats(times[v]!);
    console.log(
      `  ${variant.name.padEnd(30)} ${fmt(median)} ${fmt(p99)}   ${(median / bareMedian).toFixed(3)}x       ${(p99 / bareP99).toFixed(3)}x   (+${((median - bareMedian) * 1000).toFixed(1)} µs median)`,
    );
  }
}

function stats(times: number[]): [number, number] {
  const sorted = [...times].sort((a, b) => a - b);
  return [quantile(sorted, 0.5), quantile(sorted, 0.99)];
}

function fmt(ms: number): string {
  return `${ms.toFixed(3).padStart(7)} ms`;
}

async function main(): Promise<void> {
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  console.log(`node ${process.version}, ${iterations} measured calls per variant after ${warmup} warm-up`);
  const local = variants(inProcessModel);
  await run("in-process model", local, false);
  await run("in-process model", local, true);

  const rec = await createRecorder();
  try {
    const provider = createOpenAICompatible({
      name: "bench",
      baseURL: rec.openaiBaseURL,
      apiKey: "sk-bench",
      includeUsage: true,
    });
    const loopback = variants(() => provider.chatModel("gpt-bench"));
    await run("openai-compatible over loopback HTTP", loopback, false);
    await rec.reset();
    await run("openai-compatible over loopback HTTP", loopback, true);
    const violations = rec.violations();
    if (violations.length > 0) console.log("\nrecorder violations:", violations);
  } finally {
    await rec.close();
  }
}

await main();
