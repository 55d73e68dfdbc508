// What @tagalong/langchain adds to a LangChain call: a chain (prompt | ChatOpenAI) with
// withTagalong + TagalongCallbackHandler against the same chain without, in the same run, variants
// interleaved call by call so drift hits them alike. Not a test: it prints numbers.
//   npx tsx packages/langchain/bench/overhead.ts [iterations]
// Two settings: an in-process fetch answering a canned completion (no I/O, so the adapter's own
// cost shows in microseconds) and the loopback recorder (a real HTTP round trip, the usual case).
// "bare + no-op handler" shows what LangChain itself spends once any handler is attached (run
// managers, callbacks); "bare, same fields by hand" what carrying the fields costs (a bigger request;
// with the recorder, its judging them in this same process). The adapter's own share is the rest.
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { ChatOpenAI } from "@langchain/openai";
import { createTagalong, type Destination, portkey, requesty } from "@tagalong/core";
import { createRecorder } from "@tagalong/testing";
import { TagalongCallbackHandler, withTagalong } from "../src/index";

const iterations = Number(process.argv[2] ?? 2000);
const warmup = Math.max(50, Math.floor(iterations / 10));

const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 0,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "echo: hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});
const chunk = (delta: object, finish: string | null, usage?: object) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 0,
    model: "gpt-4o-mini",
    choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  })}\n\n`;
const sse = [
  chunk({ role: "assistant", content: "" }, null),
  chunk({ content: "echo: " }, null),
  chunk({ content: "hi" }, null),
  chunk({}, "stop"),
  chunk({}, null, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }),
  "data: [DONE]\n\n",
].join("");

/** An OpenAI endpoint in the process: no socket, so only client-side work is measured. */
const inProcessFetch = async (_url: unknown, init?: RequestInit): Promise<Response> => {
  const stream = typeof init?.body === "string" && init.body.includes('"stream":true');
  return stream
    ? new Response(sse, { headers: { "content-type": "text/event-stream" } })
    : new Response(completion, { headers: { "content-type": "application/json" } });
};

const sink: Destination = { name: "sink", record: () => {} };
const inFlight = createTagalong({
  destinations: [portkey(), requesty()],
  metadata: { environment: "bench" },
});
const recording = createTagalong({
  destinations: [portkey(), requesty(), sink],
  metadata: { environment: "bench" },
});
// What the adapter sends for a call, added by hand through ChatOpenAI's own options.
const byHand = inFlight.prepare({ user: "u_1", tags: ["bench"], extra: { team: "search" } });
const noop = { name: "noop", awaitHandlers: true, handleChatModelStart() {}, handleLLMEnd() {} };
const prompt = ChatPromptTemplate.fromMessages([["human", "{q}"]]);
const TaggedChatOpenAI = withTagalong(ChatOpenAI);

interface Variant {
  name: string;
  chain: any;
  callbacks: unknown[];
}

function variants(configuration: Record<string, unknown>): Variant[] {
  const fields = { model: "gpt-4o-mini", apiKey: "sk-bench", maxRetries: 0, configuration };
  return [
    { name: "bare", chain: prompt.pipe(new ChatOpenAI(fields)), callbacks: [] },
    { name: "bare + no-op handler", chain: prompt.pipe(new ChatOpenAI(fields)), callbacks: [noop] },
    {
      name: "bare, same fields by hand",
      chain: prompt.pipe(
        new ChatOpenAI({
          ...fields,
          modelKwargs: { ...byHand.body },
          configuration: { ...configuration, defaultHeaders: { ...byHand.headers } },
        }),
      ),
      callbacks: [],
    },
    {
      name: "tagalong (Portkey + Requesty)",
      chain: prompt.pipe(new TaggedChatOpenAI(fields)),
      callbacks: [new TagalongCallbackHandler(inFlight)],
    },
    {
      name: "tagalong, background handler",
      chain: prompt.pipe(new TaggedChatOpenAI(fields)),
      callbacks: [new TagalongCallbackHandler(inFlight, { awaitHandlers: false })],
    },
    {
      name: "tagalong + recording",
      chain: prompt.pipe(new TaggedChatOpenAI(fields)),
      callbacks: [new TagalongCallbackHandler(recording)],
    },
  ];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(title: string, list: Variant[], stream: boolean): Promise<void> {
  const times = list.map(() => [] as number[]);
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [v, variant] of list.entries()) {
      const config = {
        callbacks: variant.callbacks,
        metadata: { tagalong: { user: `u_${i % 100}` }, team: "search" },
        tags: ["bench"],
      };
      const start = performance.now();
      if (stream) {
        for await (const _ of await variant.chain.stream({ q: "hi" }, config)) {
          // read to the end
        }
      } else {
        await variant.chain.invoke({ q: "hi" }, config);
      }
      if (i >= warmup) times[v]!.push((performance.now() - start) * 1000);
    }
  }
  await awaitAllCallbacks();
  const bare = [...times[0]!].sort((a, b) => a - b);
  const bareMedian = quantile(bare, 0.5);
  console.log(`\n${title} (${iterations} calls per variant, µs)`);
  console.log(`${"variant".padEnd(32)}${"median".padStart(9)}${"p99".padStart(9)}${"ratio".padStart(8)}`);
  for (const [v, variant] of list.entries()) {
    const sorted = [...times[v]!].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    console.log(
      `${variant.name.padEnd(32)}${median.toFixed(0).padStart(9)}${quantile(sorted, 0.99)
        .toFixed(0)
        .padStart(9)}${(median / bareMedian).toFixed(2).padStart(8)}`,
    );
  }
}

console.log(`node ${process.version}, @langchain/openai ChatOpenAI, chain: prompt | model`);
await measure("in-process endpoint, invoke", variants({ fetch: inProcessFetch }), false);
await measure("in-process endpoint, stream", variants({ fetch: inProcessFetch }), true);
const rec = await createRecorder();
try {
  await measure("loopback recorder (HTTP), invoke", variants({ baseURL: rec.openaiBaseURL }), false);
} finally {
  await rec.close();
}
