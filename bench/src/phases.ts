// Where a wrapped call's latency goes, phase by phase, against the bare SDK: before the fetch (the
// SDK's request building and Tagalong's tagging), on the wire (request, server, answer), and after the
// answer (parsing, recording, until the caller resumes). Sequential calls over loopback to the
// recorder in the server process, zero model latency, built packages: a probe for finding what to
// work on, not a goal. It prints; it never writes BENCHMARKS.md.
//
//   pnpm build && pnpm --filter @tagalong/bench phases            # every variant
//   PHASES=bare,prepare pnpm --filter @tagalong/bench phases       # some of them
//
// `prepare` also times `tagalong.prepare()` alone, inside the loop: between calls the caches are cold
// (the I/O runs a lot of other code), so a part of the call path costs several times what it costs in a
// hot loop. Time a part here before optimizing it.

import { fileURLToPath } from "node:url";
import {
  createTagalong,
  type Destination,
  portkey,
  promptLayer,
  requesty,
  type Tagalong,
} from "@tagalong/core";
import OpenAI from "openai";
import { metadataOption, wrapOpenAI } from "./adapters";
import { checkBuilt } from "./built";
import { MODEL_KEY, PROMPTLAYER_KEY, perCallMetadata, silent } from "./fixtures";
import { startServers } from "./servers";

const ROUNDS = 60;
const WARMUP = 3;
const CALLS = 40;

checkBuilt(fileURLToPath(new URL("../..", import.meta.url)));
const servers = await startServers();
const { url, openaiBaseURL } = await servers.call("recorder", { name: "phases", options: {} });

let fetchAt = 0;
let answerAt = 0;
const timedFetch: typeof fetch = (input, init) => {
  fetchAt = performance.now();
  return fetch(input, init).then((response) => {
    answerAt = performance.now();
    return response;
  });
};
const client = () =>
  new OpenAI({ apiKey: MODEL_KEY, baseURL: openaiBaseURL, maxRetries: 0, fetch: timedFetch });
const tagalong = (destinations: Destination[]): Tagalong =>
  createTagalong({ destinations, metadata: { environment: "bench" }, logger: silent, onError() {} });
const messages = (i: number) => [{ role: "user" as const, content: `hello from u_${i % 1000}` }];
const sink: Destination = { name: "sink", record() {} };

const bare = client();
const inFlight = tagalong([portkey(), requesty()]);
const all = tagalong([portkey(), requesty(), promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: url })]);
const plOnly = tagalong([promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: url })]);
const wrapped = (t: Tagalong) => wrapOpenAI(client(), t);
const tagged = wrapped(inFlight);
const recorded = wrapped(tagalong([portkey(), requesty(), sink]));
const everything = wrapped(all);
const logged = wrapped(plOnly);
const prepareTimes: number[] = [];
/** Call `i` through a wrapped client, with its per-call metadata. */
const withMetadataOf =
  (wrappedClient: OpenAI) =>
  (i: number): Promise<unknown> =>
    wrappedClient.chat.completions.create(
      { model: "m", messages: messages(i) },
      metadataOption(perCallMetadata(i)),
    );

const VARIANTS: Record<string, (i: number) => Promise<unknown>> = {
  bare: (i) => bare.chat.completions.create({ model: "m", messages: messages(i) }),
  // prepare() before a bare call whose request it does not change: what it costs on the call's path.
  prepare: (i) => {
    const m = perCallMetadata(i);
    const start = performance.now();
    inFlight.prepare(m);
    prepareTimes.push((performance.now() - start) * 1000);
    return bare.chat.completions.create({ model: "m", messages: messages(i) });
  },
  // The same fields added by hand: the wire's share of the cost, without the wrapper.
  "by hand": (i) => {
    const prepared = inFlight.prepare(perCallMetadata(i));
    return bare.chat.completions.create(
      {
        model: "m",
        messages: messages(i),
        ...prepared.body,
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
      { headers: prepared.headers },
    );
  },
  "portkey + requesty": withMetadataOf(tagged),
  "+ recording": withMetadataOf(recorded),
  // PromptLayer alone: no in-flight fields, only the call's record (its deliveries go at the flush).
  "promptLayer only": withMetadataOf(logged),
  "+ promptLayer": withMetadataOf(everything),
};

const names = process.env.PHASES?.split(",") ?? Object.keys(VARIANTS);
for (const name of names) if (!VARIANTS[name]) throw new Error(`PHASES: unknown variant ${name}`);
const phases = new Map(names.map((name) => [name, [[], [], [], []] as number[][]]));
let k = 0;
for (let round = 0; round < ROUNDS + WARMUP; round++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(round + j) % names.length]!;
    const [before, wire, after, total] = phases.get(name)!;
    for (let i = 0; i < CALLS; i++) {
      const start = performance.now();
      await VARIANTS[name]!(k++);
      const end = performance.now();
      if (round < WARMUP) continue;
      before!.push((fetchAt - start) * 1000);
      wire!.push((answerAt - fetchAt) * 1000);
      after!.push((end - answerAt) * 1000);
      total!.push((end - start) * 1000);
    }
    await Promise.all([all.flush(), plOnly.flush()]);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? Number.NaN;
const us = (value: number) => `${value.toFixed(1)} µs`.padStart(10);
console.log(`median per call, ${ROUNDS} rounds of ${CALLS} sequential calls\n`);
console.log(
  `${"variant".padEnd(20)}${"before".padStart(10)}${"wire".padStart(10)}${"after".padStart(10)}${"total".padStart(10)}`,
);
for (const [name, values] of phases)
  console.log(`${name.padEnd(20)}${values.map((v) => us(median(v))).join("")}`);
if (prepareTimes.length > 0)
  console.log(`\nprepare() alone, inside the loop: ${us(median(prepareTimes)).trim()} (median)`);
await servers.close();
