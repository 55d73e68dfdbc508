// What wrapOpenAI adds to a call: wrapped clients against the bare one, in the same run, variants
// interleaved call by call so drift hits them alike. Not a test: it prints numbers.
//   npx tsx packages/openai/bench/overhead.ts [iterations]
// Two settings: an in-process `fetch` that answers at once (no I/O, so the wrapper's own cost shows in
// microseconds) and the loopback recorder (a real HTTP round trip on 127.0.0.1, the usual case).
import { createTagalong, type Destination, portkey, requesty, withMetadata } from "@tagalong/core";
import { createRecorder } from "@tagalong/testing";
import OpenAI from "openai";
import { VERSION } from "openai/version";
import { tagalongOptions, wrapOpenAI } from "../src/index";

const iterations = Number(process.argv[2] ?? 2000);
const warmup = Math.max(50, Math.floor(iterations / 10));

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

// What the wrapper sends for a call, added by hand: separates the cost of carrying the metadata
// (bigger requests for the SDK and server to handle) from the wrapper's own work.
const byHand = inFlight.prepare({ user: "u_1", tags: ["bench"] });

const completion = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 0,
  model: "bench",
  choices: [{ index: 0, message: { role: "assistant", content: "echo: hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: "bench", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const sse = `${chunk({ role: "assistant", content: "" }, null)}${chunk({ content: "echo: " }, null)}${chunk({ content: "hi" }, null)}${chunk({}, "stop")}data: [DONE]\n\n`;

/** A fetch that answers every call at once, in process. */
const inProcessFetch = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const stream = typeof init?.body === "string" && init.body.includes('"stream":true');
  return new Response(stream ? sse : completion, {
    status: 200,
    headers: { "content-type": stream ? "text/event-stream" : "application/json", "x-request-id": "req_1" },
  });
};

type Call = (client: OpenAI, stream: boolean) => Promise<unknown>;
interface Variant {
  name: string;
  client: OpenAI;
  call: Call;
}

const params = { model: "bench", messages: [{ role: "user" as const, content: "hi" }] };
const plainCall: Call = async (client, stream) => {
  if (!stream) return client.chat.completions.create(params);
  for await (const _ of await client.chat.completions.create({ ...params, stream: true })) {
  }
};
const scoped: Call = (client, stream) =>
  withMetadata({ user: "u_1", tags: ["bench"] }, () => plainCall(client, stream));
const perCall: Call = async (client, stream) => {
  const options = tagalongOptions({ user: "u_1", tags: ["bench"] });
  if (!stream) return client.chat.completions.create(params, options);
  for await (const _ of await client.chat.completions.create({ ...params, stream: true }, options)) {
  }
};
const byHandCall: Call = async (client, stream) => {
  const body = { ...params, ...byHand.body };
  const options = { headers: { ...byHand.headers } };
  if (!stream) return client.chat.completions.create(body, options);
  for await (const _ of await client.chat.completions.create({ ...body, stream: true }, options)) {
  }
};

function variants(make: () => OpenAI): Variant[] {
  return [
    { name: "bare", client: make(), call: plainCall },
    { name: "bare, same fields by hand", client: make(), call: byHandCall },
    { name: "wrapped, scope metadata", client: wrapOpenAI(make(), inFlight), call: scoped },
    { name: "wrapped, tagalongOptions()", client: wrapOpenAI(make(), inFlight), call: perCall },
    { name: "wrapped + recording", client: wrapOpenAI(make(), recording), call: scoped },
  ];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(setting: string, make: () => OpenAI, stream: boolean): Promise<void> {
  const list = variants(make);
  const times = list.map(() => [] as number[]);
  for (let i = 0; i < warmup + iterations; i++) {
    for (let v = 0; v < list.length; v++) {
      const { client, call } = list[v]!;
      const start = performance.now();
      await call(client, stream);
      if (i >= warmup) times[v]!.push(performance.now() - start);
    }
  }
  const medians = times.map((t) =>
    quantile(
      t.sort((a, b) => a - b),
      0.5,
    ),
  );
  console.log(`\n${setting}, ${stream ? "streamed" : "plain"} chat completion (${iterations} calls each)`);
  console.log("  variant                          median µs    p99 µs   median ÷ bare");
  list.forEach((variant, v) => {
    const t = times[v]!;
    const median = medians[v]!;
    const p99 = quantile(t, 0.99);
    console.log(
      `  ${variant.name.padEnd(32)} ${(median * 1000).toFixed(0).padStart(9)} ${(p99 * 1000).toFixed(0).padStart(9)}   ${(median / medians[0]!).toFixed(2).padStart(13)}`,
    );
  });
}

const rec = await createRecorder();
try {
  console.log(`node ${process.version}, openai ${VERSION}, ${iterations} iterations`);
  const inProcess = () =>
    new OpenAI({ apiKey: "sk-bench", baseURL: "http://bench.invalid/v1", fetch: inProcessFetch });
  const loopback = () => new OpenAI({ apiKey: "sk-bench", baseURL: rec.openaiBaseURL, maxRetries: 0 });
  await run("in-process fetch", inProcess, false);
  await run("in-process fetch", inProcess, true);
  await run("loopback recorder", loopback, false);
  await rec.reset();
  await run("loopback recorder", loopback, true);
} finally {
  await rec.close();
}
