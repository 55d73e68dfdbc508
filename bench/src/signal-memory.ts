// Memory of @tagalong/ai-sdk's body-field channel when every call shares one long-lived AbortSignal
// (a server's shutdown signal passed to every call): heap after GC every 25,000 calls, printed, never
// judged. Real `ai` + `@ai-sdk/openai` + tagalongMiddleware + tagalongFetch; the transport under
// tagalongFetch answers at once without a socket, so only the SDK's and Tagalong's own memory shows.
// Run: cd bench && node --expose-gc --import tsx src/signal-memory.ts [calls]
import { createOpenAI } from "@ai-sdk/openai";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import { createTagalong, requesty } from "@tagalong/core";
import { generateText, wrapLanguageModel } from "ai";

const CALLS = Number(process.argv[2] ?? 150_000);
const STEP = 25_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

const answer = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const transport: typeof fetch = async () =>
  new Response(answer, { headers: { "content-type": "application/json" } });

function heapMB(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 1e6;
}

async function run(label: string, call: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const longLived = new AbortController().signal;
  for (let i = 0; i < 2_000; i++) await call(longLived); // warm-up
  const figures = [heapMB()];
  for (let done = 0; done < CALLS; ) {
    for (let i = 0; i < STEP; i++) await call(longLived);
    done += STEP;
    figures.push(heapMB());
  }
  const growth = figures.at(-1)! - figures[0]!;
  console.log(
    `${label.padEnd(52)} heap MB after GC every ${STEP}: ${figures.map((f) => f.toFixed(1)).join(" ")}  ` +
      `(+${growth.toFixed(1)} MB, ${((growth * 1e6) / CALLS).toFixed(0)} B/call)`,
  );
}

const bare = createOpenAI({ baseURL: "http://127.0.0.1:9/v1", apiKey: "sk-x", fetch: transport });
const tagalong = createTagalong({ destinations: [requesty()], metadata: { user: "u_1" } });
const tagged = wrapLanguageModel({
  model: createOpenAI({
    baseURL: "http://127.0.0.1:9/v1",
    apiKey: "sk-x",
    fetch: tagalongFetch(transport),
  }).chat("m"),
  middleware: tagalongMiddleware(tagalong),
});
const keep = new WeakMap<AbortSignal, object>();

console.log(`node ${process.version}, ${CALLS} calls per row, one AbortSignal shared by every call`);
await run("bare @ai-sdk/openai", (signal) =>
  generateText({ model: bare.chat("m"), prompt: "hi", abortSignal: signal }),
);
await run("tagalongMiddleware + tagalongFetch", (signal) =>
  generateText({ model: tagged, prompt: "hi", abortSignal: signal }),
);
await run("for reference: AbortSignal.any([shared]) per call", async (signal) => {
  keep.set(AbortSignal.any([signal]), {});
});
