// 2. Against the vendors' own SDKs: the same chat completions to the same loopback recorder, with the
// same metadata, through portkey-ai (per-request metadata, and createHeaders on the OpenAI client),
// the promptlayer SDK's wrapped OpenAI client, and LangSmith's wrapOpenAI, side by side with
// wrapOpenAI sending to the same destinations. Every tracker's receiver is on loopback too.
import { portkey, promptLayer, requesty } from "@tagalong/core";
import { Client as LangSmithClient } from "langsmith";
import { wrapOpenAI as langsmithWrapOpenAI } from "langsmith/wrappers";
import type OpenAI from "openai";
import { createHeaders, Portkey } from "portkey-ai";
import type { Endpoint } from "../adapters";
import { chat, fieldsByHand, openaiClient, wrappedOpenAIVariant } from "../adapters";
import { type Context, modelWire, modes as modesFor, planFor, SLOW_MODEL_MS } from "../context";
import { MODEL_KEY, PROMPTLAYER_KEY, tagalong, userMessage, userOf } from "../fixtures";
import {
  type Compared,
  compare,
  fmtCompared,
  fmtRatio,
  fmtUs,
  sleep,
  summarize,
  type Variant,
} from "../harness";
import { promptLayerSdk } from "../promptlayer-sdk";
import { Section } from "../report";
import { WireCheck } from "../wire";

const ALL = "Tagalong → Portkey + Requesty + PromptLayer";
// The control for ALL: the fields Portkey and Requesty carry, prepared ahead and passed to the bare client.
const BY_HAND = "openai, Portkey + Requesty fields by hand";

/** Portkey's form of call i's metadata, built by hand as a portkey-ai user would. */
function portkeyForm(i: number): Record<string, string> {
  return {
    _environment: "bench",
    _user: userOf(i),
    session_id: `s_${i % 64}`,
    tags: "bench",
    attempt: String(i % 3),
  };
}

/** PromptLayer's form (string values), as a promptlayer user would send with track.metadata. */
function promptLayerForm(i: number): Record<string, string> {
  return { environment: "bench", user_id: userOf(i), session_id: `s_${i % 64}`, attempt: String(i % 3) };
}

interface Pair {
  ours: string;
  theirs: string;
  what: string;
}

/** Each tool's client for one endpoint; the trackers deliver to loopback receivers. */
export function vendorVariants(
  endpoint: Endpoint,
  stream: boolean,
  plURL: string,
  sinkURL: string,
): Variant[] {
  const portkeyClient = new Portkey({
    apiKey: "pk-bench",
    baseURL: endpoint.baseURL,
    provider: "openai",
    Authorization: `Bearer ${MODEL_KEY}`,
  });
  const bare = openaiClient(endpoint);
  const pl = new (promptLayerSdk().PromptLayer)({ apiKey: PROMPTLAYER_KEY, baseURL: sinkURL });
  const PLOpenAI = pl.OpenAI as typeof OpenAI;
  const plClient = new PLOpenAI({ apiKey: MODEL_KEY, baseURL: endpoint.baseURL, maxRetries: 0 });
  const langsmith = new LangSmithClient({ apiUrl: sinkURL, apiKey: "ls-bench-key" });
  const lsClient = langsmithWrapOpenAI(openaiClient(endpoint), { client: langsmith, tracingEnabled: true });
  const ours = {
    portkey: tagalong([portkey()]),
    promptLayer: tagalong([promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: plURL })]),
    all: tagalong([portkey(), requesty(), promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: plURL })]),
  };
  const byHand = fieldsByHand();
  const messages = (i: number) => [{ role: "user" as const, content: userMessage(i) }];
  const streamFields = stream ? { stream: true, stream_options: { include_usage: true } } : {};
  return [
    { name: "openai", call: (i) => chat(bare, "vs-openai", i, stream) },
    {
      name: BY_HAND,
      vs: "openai",
      call: (i) => chat(bare, "vs-by-hand", i, stream, { headers: byHand(i).headers }, byHand(i).body),
    },
    wrappedOpenAIVariant("Tagalong → Portkey", endpoint, ours.portkey, "vs-tagalong-portkey", stream),
    {
      name: "portkey-ai, per-request metadata",
      vs: "openai",
      async call(i) {
        const body = { model: "vs-portkey-ai", messages: messages(i), ...streamFields };
        const res = await portkeyClient.chat.completions.create(body as never, { metadata: portkeyForm(i) });
        if (stream) for await (const _ of res as unknown as AsyncIterable<unknown>);
      },
    },
    {
      name: "openai + portkey-ai createHeaders",
      vs: "openai",
      call: (i) =>
        chat(bare, "vs-portkey-createheaders", i, stream, {
          headers: createHeaders({ metadata: portkeyForm(i) }),
        }),
    },
    {
      ...wrappedOpenAIVariant(
        "Tagalong → PromptLayer",
        endpoint,
        ours.promptLayer,
        "vs-tagalong-promptlayer",
        stream,
      ),
      drain: () => ours.promptLayer.flush(),
    },
    {
      name: "promptlayer SDK (logs inline) + track.metadata",
      vs: "openai",
      async call(i) {
        const body = {
          model: "vs-promptlayer",
          messages: messages(i),
          ...streamFields,
          pl_tags: ["bench"],
          return_pl_id: true,
        };
        // With return_pl_id it answers [response, id], or yields [chunk, id] with the id on the last.
        const answer = (await plClient.chat.completions.create(body as never)) as unknown;
        let id: number | undefined;
        if (!stream) {
          [, id] = answer as [unknown, number];
        } else {
          for await (const [, plId] of answer as AsyncIterable<[unknown, number | null]>) {
            if (plId != null) id = plId;
          }
        }
        await pl.track.metadata({ request_id: id!, metadata: promptLayerForm(i) });
      },
    },
    {
      name: "langsmith wrapOpenAI (tracing)",
      vs: "openai",
      call: (i) =>
        chat(lsClient as unknown as OpenAI, "vs-langsmith", i, stream, {
          langsmithExtra: { metadata: promptLayerForm(i), tags: ["bench"] },
        } as never),
      drain: () => langsmith.awaitPendingTraceBatches(),
    },
    {
      ...wrappedOpenAIVariant(ALL, endpoint, ours.all, "vs-tagalong-all", stream),
      drain: () => ours.all.flush(),
    },
  ];
}

export async function vendors(ctx: Context): Promise<Section> {
  const section = new Section(
    "2. Against the vendors' own SDKs",
    [
      "The same chat completion to the same loopback recorder, with the same metadata per call; every",
      "after-the-call tracker delivers to a receiver on loopback (ours and LangSmith in the background,",
      "drained inside each variant's CPU window, so delivery CPU counts; the promptlayer SDK logs inline,",
      "awaited by the call, as it is built to). Tagalong's deliveries start in batches (lingerMs, 100 ms), so",
      "within a round of sequential calls they go out at the drain: the latency columns show the call's own",
      "path, the CPU column the whole cost, delivery included. Every variant but portkey-ai runs the openai client",
      "underneath; portkey-ai has its own HTTP client. Ratios below 1 mean Tagalong is faster. Goal: faster",
      `than each, judged at zero model latency (worst mode); the last column is a model that takes ${SLOW_MODEL_MS} ms.`,
      `The promptlayer SDK wraps the openai ${promptLayerSdk().openaiVersion} it finds (it does not declare openai as a dependency).`,
      "Loading it (its nunjucks dependency) leaves String.prototype in dictionary mode, which slows string code",
      "of every library in the process, each variant here alike; the overhead and encoding sections run before it loads.",
      `\`${BY_HAND}\` is a control: the bare client sending what Portkey's header and Requesty's body field`,
      "add, prepared ahead: the cost of carrying those fields at all, which no wrapper can go under.",
    ].join("\n"),
  );
  const { sizes, servers } = ctx;
  const { url: plURL } = await servers.call("recorder", { name: "promptlayer" });
  const { url: sinkURL } = await servers.call("sinks", {});
  const runs = [
    ...modesFor(sizes).map((m) => ({ ...m, endpoint: ctx.loopback, calls: undefined, judged: true })),
    {
      label: `sequential, model ${SLOW_MODEL_MS} ms`,
      stream: false,
      concurrency: 1,
      endpoint: ctx.slowLoopback,
      calls: sizes.slowSequentialCalls,
      judged: false,
    },
  ];

  const pairs: Pair[] = [
    { ours: "Tagalong → Portkey", theirs: "portkey-ai, per-request metadata", what: "Portkey metadata" },
    { ours: "Tagalong → Portkey", theirs: "openai + portkey-ai createHeaders", what: "Portkey metadata" },
    {
      ours: "Tagalong → PromptLayer",
      theirs: "promptlayer SDK (logs inline) + track.metadata",
      what: "PromptLayer logging + metadata",
    },
    {
      ours: "Tagalong → PromptLayer",
      theirs: "langsmith wrapOpenAI (tracing)",
      what: "after-the-call tracking",
    },
    {
      ours: ALL,
      theirs: "promptlayer SDK (logs inline) + track.metadata",
      what: "every destination against PromptLayer's own logging",
    },
    {
      ours: ALL,
      theirs: "langsmith wrapOpenAI (tracing)",
      what: "every destination against LangSmith's tracing",
    },
  ];
  // The overhead goal of every destination at once against the bare SDK, sequential at zero latency.
  let allSequential: Compared | undefined;
  let byHandSequential: Compared | undefined;
  const mostCpu = new Map<string, { us: number; where: string }>();

  const wire = new WireCheck();
  const headToHead: string[][] = [];
  const slowest = new Map<string, { ratio: number; where: string }>();
  const columns = new Map<string, string[]>();
  for (const run of runs) {
    await sleep(50);
    const plan = planFor(sizes, run.concurrency);
    const measured = await compare(vendorVariants(run.endpoint, run.stream, plURL, sinkURL), {
      ...plan,
      callsPerRound: run.calls ?? plan.callsPerRound,
    });
    section.failedCalls(measured, run.label);
    wire.add(await modelWire(ctx, run.endpoint === ctx.slowLoopback ? "model-slow" : "model"));
    const summary = summarize(measured);
    const byName = new Map(summary.map((c) => [c.name, c]));
    if (run.judged && run.label === "sequential") {
      allSequential = byName.get(ALL) as Compared;
      byHandSequential = byName.get(BY_HAND) as Compared;
    }
    for (const c of summary) {
      const cells = columns.get(c.name) ?? [];
      cells.push(fmtCompared(c));
      columns.set(c.name, cells);
    }
    for (const p of pairs) {
      const o = byName.get(p.ours) as Compared;
      const t = byName.get(p.theirs) as Compared;
      const ratio = o.medianMs / t.medianMs;
      headToHead.push([
        `${p.ours} vs ${p.theirs}`,
        run.label,
        fmtRatio(ratio),
        fmtRatio(o.p99Ms / t.p99Ms),
        fmtUs(o.cpuUsPerCall - t.cpuUsPerCall),
      ]);
      const key = `${p.ours} vs ${p.theirs}`;
      const prev = slowest.get(key);
      if (run.judged && (!prev || ratio > prev.ratio)) slowest.set(key, { ratio, where: run.label });
      const cpu = o.cpuUsPerCall - t.cpuUsPerCall;
      const prevCpu = mostCpu.get(key);
      if (run.judged && (!prevCpu || cpu > prevCpu.us)) mostCpu.set(key, { us: cpu, where: run.label });
    }
  }
  section.table({
    title: "Each against the bare openai client (median ratio · p99 ratio · added CPU per call)",
    columns: ["variant", ...runs.map((r) => r.label)],
    rows: [...columns.entries()].map(([name, cells]) => [name, ...cells]),
  });
  section.table({
    title: "Head to head (below 1×: Tagalong is faster; CPU: ours minus theirs, per call)",
    columns: ["comparison", "mode", "median ours/theirs", "p99 ours/theirs", "CPU per call"],
    rows: headToHead,
  });
  if (allSequential?.medianRatio !== undefined) {
    section.goal({
      what: `${ALL} against the bare openai client, sequential, zero model latency (median)`,
      target: "<= 1.10×",
      measured: `${fmtRatio(allSequential.medianRatio)} (p99 ${fmtRatio(allSequential.p99Ratio)}, CPU ${fmtUs(allSequential.addedCpuUs, allSequential.addedCpuSeUs)} per call); the same Portkey and Requesty fields sent by hand, without Tagalong: ${byHandSequential?.medianRatio === undefined ? "n/a" : fmtRatio(byHandSequential.medianRatio)}`,
      met: ctx.config.smoke ? undefined : allSequential.medianRatio <= 1.1,
    });
  }
  for (const [key, { us, where }] of mostCpu) {
    if (!key.startsWith(ALL)) continue;
    section.goal({
      what: `Less CPU per call than the vendor's SDK: ${key} (worst mode)`,
      target: "< 0 µs (less)",
      measured: `${fmtUs(us)} per call (${where})`,
      met: ctx.config.smoke ? undefined : us < 0,
    });
  }
  for (const [key, { ratio, where }] of slowest) {
    section.goal({
      what: `Faster than the vendor's SDK: ${key} (median latency, worst mode)`,
      target: "< 1× (faster)",
      measured: `${fmtRatio(ratio)} (${where}): ${ratio < 1 ? `${((1 - ratio) * 100).toFixed(0)}% faster` : `${((ratio - 1) * 100).toFixed(0)}% slower`}`,
      met: ctx.config.smoke ? undefined : ratio < 1,
    });
  }

  // What the receivers got (every share was drained): each variant did the work it is credited with.
  const plWire = await servers.call("promptLayerWire", { name: "promptlayer", reset: true });
  const sinks = await servers.call("sinkCounts", { reset: true });
  section.table(wire.table("What the model calls carried"));
  section.table({
    title: "What the trackers' receivers accepted",
    columns: ["receiver", "accepted"],
    rows: [
      [
        "Tagalong → PromptLayer (recorder)",
        `${plWire.logs} log-request, ${plWire.trackMetadata} track-metadata; ${plWire.violations} rule breaks${plWire.sample.length ? ` (${plWire.sample.join("; ")})` : ""}`,
      ],
      [
        "promptlayer SDK (bench sink)",
        `${sinks.byRoute["POST /track-request"] ?? 0} track-request, ${sinks.byRoute["POST /library-track-metadata"] ?? 0} library-track-metadata`,
      ],
      [
        "langsmith (bench sink)",
        `${sinks.langsmithRuns} runs in ${Object.entries(sinks.byRoute)
          .filter(([r]) => r.includes("/runs"))
          .map(([r, n]) => `${n} × ${r}`)
          .join(", ")}`,
      ],
    ],
  });
  for (const p of wire.problems((model) => model === "vs-tagalong-all")) section.note(`Wire problem: ${p}`);
  if (sinks.unknown > 0)
    section.note(`The bench sink saw ${sinks.unknown} requests to routes it does not know.`);

  // portkey-ai's per-request metadata is stored on the client: does it stick to the next call? The
  // second call names user u_2 in its message and passes no metadata.
  const fresh = new Portkey({
    apiKey: "pk-bench",
    baseURL: ctx.loopback.baseURL,
    provider: "openai",
    Authorization: `Bearer ${MODEL_KEY}`,
  });
  const sticky = (i: number) => ({
    model: "vs-portkey-sticky",
    messages: [{ role: "user" as const, content: userMessage(i) }],
  });
  await fresh.chat.completions.create(sticky(1), { metadata: { _user: userOf(1) } });
  await fresh.chat.completions.create(sticky(2));
  const stuck = (await modelWire(ctx))["vs-portkey-sticky"]?.mislabelled === 1;
  section.note(
    stuck
      ? `portkey-ai: a call made without metadata right after one with \`_user: ${userOf(1)}\` still carried that user (per-request metadata is stored on the shared client), so one client cannot safely serve several users' calls.`
      : "portkey-ai: a call made without metadata after one with metadata did not carry the earlier user.",
  );
  return section;
}
