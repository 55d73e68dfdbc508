// 4. PromptLayer delivery: how many calls per second are logged and tracked; what the caller sees while
// PromptLayer is down or hanging; memory over an outage at a steady call rate; what is delivered after.
import { createRequire } from "node:module";
import { type CompletedCall, type DeliveryStats, promptLayer, type Tagalong } from "@tagalong/core";
import type OpenAI from "openai";
import { chat, metadataOption, openaiClient, wrapOpenAI, wrappedOpenAIVariant } from "../adapters";
import { type Context, planFor } from "../context";
import { fullMetadata, MODEL_KEY, PROMPTLAYER_KEY, tagalong, userMessage } from "../fixtures";
import { compare, fmtMB, fmtMs, fmtRate, fmtRatio, sleep, summarize, type Variant } from "../harness";
import { Section } from "../report";

const { PromptLayer } = createRequire(import.meta.url)("promptlayer") as typeof import("promptlayer");

const MAX_RATIO = 1.02;
/** The delivery queue's default cap (DeliveryOptions.maxQueue). */
const QUEUE_CAP = 1000;

function plTagalong(baseURL: string, concurrency?: number): Tagalong {
  return tagalong([
    promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL, ...(concurrency === undefined ? {} : { concurrency }) }),
  ]);
}

const stats = (t: Tagalong): DeliveryStats => t.stats().promptlayer!;

/** Completed calls as the adapters record them: every metadata field, so each is 3 POSTs. */
function completedCalls(t: Tagalong, n: number): CompletedCall[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    provider: "openai",
    model: "gpt-4o-mini",
    apiType: "chat-completions",
    source: "openai",
    input: [{ role: "user", content: userMessage(i) }],
    output: [{ role: "assistant", content: `echo: ${userMessage(i)}` }],
    parameters: { temperature: 0.2 },
    usage: { inputTokens: 5, outputTokens: 6 },
    startTime: new Date(now - 300),
    endTime: new Date(now),
    status: "success",
    responseId: `chatcmpl-${i}`,
    stream: false,
    metadata: t.prepare(fullMetadata(i)).metadata,
  }));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function gcNow(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function delivery(ctx: Context): Promise<Section> {
  const section = new Section(
    "4. PromptLayer delivery",
    [
      "The PromptLayer destination with its defaults (4 deliveries in flight, a queue capped at 1,000 calls,",
      "5 attempts with exponential backoff from 500 ms, 10 s timeout), delivering to a loopback recorder that",
      "speaks PromptLayer's API and checks every request against its schema. Each call with a prompt is",
      "three POSTs: log-request, track-metadata, track-prompt. Client and receiver share the same 2 cores.",
    ].join("\n"),
  );
  await sustained(ctx, section);
  await memoryOverOutage(ctx, section, ctx.config.outageSeconds, "outage");
  await memoryOverOutage(ctx, section, ctx.config.smoke ? 1 : 3, "short outage");
  await latencyDuringOutage(ctx, section);
  if (!ctx.config.smoke) await vendorDuringOutage(ctx, section);
  return section;
}

async function sustained(ctx: Context, section: Section): Promise<void> {
  const { servers, sizes } = ctx;
  const { url } = await servers.call("recorder", {
    name: "pl",
    options: { promptLayerApiKey: PROMPTLAYER_KEY },
  });
  const rows: string[][] = [];
  for (const concurrency of [undefined, 16]) {
    await servers.call("reset", { name: "pl" });
    const t = plTagalong(url, concurrency);
    const pool = completedCalls(t, 256);
    let recorded = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // Closed loop: keep the queue busy but below its cap, so nothing is dropped.
    while (performance.now() - t0 < sizes.deliverySeconds * 1000) {
      if (stats(t).queued < QUEUE_CAP / 2)
        for (let k = 0; k < 50; k++) t.record(pool[recorded++ % pool.length]!);
      else await sleep(2);
    }
    await t.flush();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const s = stats(t);
    const wire = await servers.call("promptLayerWire", { name: "pl", reset: true });
    rows.push([
      concurrency === undefined ? "4 (default)" : String(concurrency),
      String(recorded),
      fmtRate(s.sent / seconds),
      `${((cpu.user + cpu.system) / Math.max(1, s.sent)).toFixed(0)} µs`,
      `${wire.logs} / ${wire.trackMetadata} / ${wire.trackPrompt}`,
      `${s.failed} failed, ${s.dropped} dropped, ${wire.violations} rule breaks`,
    ]);
  }
  section.table({
    title: "Sustained delivery (completed calls recorded as fast as the queue takes them, then flushed)",
    columns: [
      "deliveries in flight",
      "calls recorded",
      "calls delivered per second",
      "client CPU per delivered call",
      "receiver: logs / track-metadata / track-prompt",
      "problems",
    ],
    rows,
  });

  // End to end: wrapped OpenAI calls, each recorded and delivered.
  await servers.call("reset", { name: "pl" });
  const t = plTagalong(url);
  const client = wrapOpenAI(openaiClient(ctx.loopback), t);
  let calls = 0;
  const t0 = performance.now();
  const deadline = t0 + sizes.deliverySeconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = calls++;
      await chat(client, "delivery", i, false, metadataOption(fullMetadata(i)));
    }
  };
  await Promise.all(Array.from({ length: sizes.concurrency }, worker));
  const callSeconds = (performance.now() - t0) / 1000;
  await t.flush();
  const allSeconds = (performance.now() - t0) / 1000;
  const s = stats(t);
  const wire = await servers.call("promptLayerWire", { name: "pl", reset: true });
  await servers.call("reset", { name: "model" });
  section.note(
    `End to end, wrapOpenAI with ${sizes.concurrency} calls in flight for ${sizes.deliverySeconds} s: ${calls} model calls (${fmtRate(calls / callSeconds)}); ${s.sent} delivered (${fmtRate(s.sent / allSeconds)} including the ${(allSeconds - callSeconds).toFixed(1)} s drain), ${s.dropped} dropped at the queue cap, ${s.failed} failed; the receiver logged ${wire.logs} and tracked ${wire.trackMetadata} + ${wire.trackPrompt}.`,
  );
}

interface MemorySample {
  s: number;
  heap: number;
  rss: number;
  queued: number;
  dropped: number;
  failed: number;
}

async function memoryOverOutage(
  ctx: Context,
  section: Section,
  seconds: number,
  label: string,
): Promise<void> {
  const { servers } = ctx;
  const name = `pl-${label.replaceAll(" ", "-")}`;
  const { url } = await servers.call("recorder", { name, options: { promptLayerApiKey: PROMPTLAYER_KEY } });
  await servers.call("refuse", { name });
  const t = plTagalong(url);
  const client = wrapOpenAI(openaiClient(ctx.loopback), t);
  const rate = ctx.config.smoke ? 50 : 100;
  const samples: MemorySample[] = [];
  const sample = (s: number) => {
    gcNow();
    const m = process.memoryUsage();
    const st = stats(t);
    samples.push({
      s,
      heap: m.heapUsed,
      rss: m.rss,
      queued: st.queued,
      dropped: st.dropped,
      failed: st.failed,
    });
  };
  // A settled baseline: what earlier scenarios left is collected first.
  gcNow();
  await sleep(200);
  sample(0);
  let made = 0;
  let pending = 0;
  let errors = 0;
  const start = performance.now();
  let nextSample = 1;
  for (let now = 0; now < seconds * 1000; now = performance.now() - start) {
    const due = Math.floor((now / 1000) * rate);
    while (made < due) {
      const i = made++;
      pending++;
      chat(client, "outage", i, false, metadataOption(fullMetadata(i)))
        .catch(() => errors++)
        .finally(() => pending--);
    }
    if (now >= nextSample * 1000) sample(nextSample++);
    await sleep(5);
  }
  while (pending > 0) await sleep(5);
  sample(Math.round((performance.now() - start) / 1000));

  const r0 = performance.now();
  await servers.call("resume", { name });
  const flushed = await withTimeout(t.flush(), 120_000);
  const recoveryS = (performance.now() - r0) / 1000;
  const s = stats(t);
  const wire = await servers.call("promptLayerWire", { name, reset: true });
  await servers.call("reset", { name: "model" });
  const accepted = made - s.dropped;
  const delivered = `${wire.logs} of the ${accepted} calls accepted were logged (and ${wire.trackMetadata} tracked) ${flushed === "timeout" ? "before the 120 s flush limit" : `${recoveryS.toFixed(1)} s after it came back`}`;
  const everything = wire.logs === accepted && s.failed === 0;

  if (label === "short outage") {
    section.note(
      `Short outage (${seconds} s, ${rate} calls/s, ${made} calls, within the cap): ${delivered}; ${s.failed} failed for good, ${s.dropped} dropped, ${errors} model calls failed.`,
    );
    section.goal({
      what: `Everything delivered after recovery when within the cap (${seconds} s outage, ${made} calls)`,
      target: `all ${made}`,
      measured: `${wire.logs} logged, ${s.failed} failed, ${s.dropped} dropped`,
      met: ctx.config.smoke ? undefined : everything && s.dropped === 0,
    });
    return;
  }

  const capAt = samples.find((x) => x.queued >= QUEUE_CAP || x.dropped > 0);
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const step = Math.max(1, Math.round(samples.length / 12));
  section.table({
    title: `Memory over a ${seconds} s outage (receiver refusing connections), ${rate} calls/s, after a forced GC each second`,
    columns: ["s", "heap used", "RSS", "queued", "dropped (queue full)", "failed (attempts used up)"],
    rows: samples
      .filter((x, k) => k % step === 0 || x === capAt || x === last)
      .map((x) => [
        String(x.s),
        fmtMB(x.heap),
        fmtMB(x.rss),
        String(x.queued),
        String(x.dropped),
        String(x.failed),
      ]),
  });
  if (capAt) {
    // Flat after the cap: the heap once the queue is full against the heap at the end.
    const growth = last.heap - capAt.heap;
    section.note(
      `The queue reached its cap at ${capAt.s} s. Heap: ${fmtMB(first.heap)} at the start, ${fmtMB(capAt.heap)} at the cap${capAt.heap > first.heap ? ` (about ${((capAt.heap - first.heap) / QUEUE_CAP / 1024).toFixed(1)} KB per queued call)` : ""}, ${fmtMB(last.heap)} at the end (${growth >= 0 ? "+" : "−"}${fmtMB(Math.abs(growth))} after the cap over ${last.s - capAt.s} s). RSS ${fmtMB(first.rss)} → ${fmtMB(last.rss)}.`,
    );
    section.goal({
      what: `Memory over a ${seconds} s PromptLayer outage: bounded by the queue cap, flat after it`,
      target: "heap growth after the cap < 2 MB",
      measured: `${growth >= 0 ? "+" : "−"}${fmtMB(Math.abs(growth))} over ${last.s - capAt.s} s after the cap (${fmtMB(capAt.heap - first.heap)} up to it)`,
      met: ctx.config.smoke ? undefined : growth < 2 * 2 ** 20,
    });
  } else {
    section.note(
      `The queue did not reach its cap in ${seconds} s at ${rate} calls/s (peak ${Math.max(...samples.map((x) => x.queued))} queued).`,
    );
  }
  section.note(
    `After the outage: ${made} calls made, ${s.dropped} dropped at the queue cap, ${s.failed} failed for good (deliveries in flight during the outage use up their 5 attempts in about 4 to 8 s), ${delivered}; ${errors} model calls failed.`,
  );
  section.goal({
    what: `Everything accepted delivered after a ${seconds} s outage (calls beyond the cap are dropped by design)`,
    target: `all ${accepted} accepted`,
    measured: `${wire.logs} logged, ${s.failed} failed for good`,
    met: ctx.config.smoke ? undefined : everything,
  });
}

async function latencyDuringOutage(ctx: Context, section: Section): Promise<void> {
  const { servers, sizes } = ctx;
  const receivers = {} as Record<"healthy" | "down" | "hanging", string>;
  for (const state of ["healthy", "down", "hanging"] as const) {
    const name = `pl-${state}`;
    receivers[state] = (
      await servers.call("recorder", { name, options: { promptLayerApiKey: PROMPTLAYER_KEY } })
    ).url;
  }
  await servers.call("refuse", { name: "pl-down" });
  await servers.call("fail", { name: "pl-hanging", options: { hang: true } });
  // The down and hanging destinations keep their backlog (retrying, then dropping at the cap) until the
  // process exits; they are the last thing this run measures.
  const healthy = plTagalong(receivers.healthy);
  const bare = openaiClient(ctx.loopback);
  const variants: Variant[] = [
    { name: "openai", call: (i) => chat(bare, "pl-bare", i, false) },
    {
      ...wrappedOpenAIVariant(
        "PromptLayer healthy",
        ctx.loopback,
        healthy,
        "pl-healthy",
        false,
        fullMetadata,
      ),
      drain: () => healthy.flush(),
    },
    wrappedOpenAIVariant(
      "PromptLayer down (refused)",
      ctx.loopback,
      plTagalong(receivers.down),
      "pl-down",
      false,
      fullMetadata,
    ),
    wrappedOpenAIVariant(
      "PromptLayer hanging (never answers)",
      ctx.loopback,
      plTagalong(receivers.hanging),
      "pl-hanging",
      false,
      fullMetadata,
    ),
  ];
  for (const v of variants.slice(2)) v.vs = "PromptLayer healthy";
  const rows = new Map<string, string[]>();
  let worst: { ratio: number; where: string } | undefined;
  let healthyVsBare: number | undefined;
  for (const concurrency of [1, sizes.concurrency]) {
    await sleep(50);
    const measured = await compare(variants, planFor(sizes, concurrency));
    section.failedCalls(measured, concurrency === 1 ? "sequential" : `${concurrency} in flight`);
    const summary = summarize(measured);
    if (concurrency === 1) healthyVsBare = summary[1]!.medianRatio;
    for (const c of summary) {
      const cells = rows.get(c.name) ?? [];
      cells.push(
        c.medianRatio === undefined
          ? `${fmtMs(c.medianMs)} · p99 ${fmtMs(c.p99Ms)}`
          : `${fmtRatio(c.medianRatio)} · p99 ${fmtRatio(c.p99Ratio)}`,
      );
      rows.set(c.name, cells);
      if (c.vs === "PromptLayer healthy" && (worst === undefined || c.medianRatio! > worst.ratio)) {
        worst = {
          ratio: c.medianRatio!,
          where: `${c.name}, ${concurrency === 1 ? "sequential" : `${concurrency} in flight`}`,
        };
      }
    }
  }
  await servers.call("reset", { name: "model" });
  section.table({
    title:
      "What the caller sees while PromptLayer is down or hanging (latency of the model call; ratios against healthy)",
    columns: ["PromptLayer receiver", "sequential", `${sizes.concurrency} in flight`],
    rows: [...rows.entries()].map(([name, cells]) => [name, ...cells]),
  });
  section.note(
    `With a healthy receiver, sequential calls took ${fmtRatio(healthyVsBare)} the bare client's median: each call's delivery (its POSTs) runs on the same thread after the call returns, and with a model that answers at once the next call starts while it runs. A down or hanging receiver leaves next to no such work (a refused connect, or a request waiting on its timeout), so those calls are no slower.`,
  );
  section.goal({
    what: "Call latency while PromptLayer is down or hanging, against healthy (median, worst case)",
    target: `<= ${MAX_RATIO}× (unchanged)`,
    measured: worst ? `${fmtRatio(worst.ratio)} (${worst.where})` : "n/a",
    met: ctx.config.smoke || !worst ? undefined : worst.ratio <= MAX_RATIO,
  });
}

/** The promptlayer SDK against the same down and hanging receivers, a few calls with a time limit. */
async function vendorDuringOutage(ctx: Context, section: Section): Promise<void> {
  const limitMs = 40_000;
  // Its retry chatter; not restored: the hanging call's retries outlive this measurement.
  console.info = () => {};
  const outcomes = await Promise.all(
    (["down", "hanging"] as const).map(async (state) => {
      const url = (await ctx.servers.call("recorder", { name: `pl-${state}` })).url;
      const pl = new PromptLayer({ apiKey: PROMPTLAYER_KEY, baseURL: url });
      const PLOpenAI = pl.OpenAI as typeof OpenAI;
      const client = new PLOpenAI({ apiKey: MODEL_KEY, baseURL: ctx.loopback.baseURL, maxRetries: 0 });
      const t0 = performance.now();
      const call = client.chat.completions
        .create({ model: "pl-sdk-outage", messages: [{ role: "user", content: userMessage(0) }] })
        .then(
          () => `returned after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          (e: Error) =>
            `rejected after ${((performance.now() - t0) / 1000).toFixed(1)} s (${e.message.slice(0, 80)})`,
        );
      const outcome = await withTimeout(call, limitMs);
      return `${state === "down" ? "refused" : "hanging"}: ${outcome === "timeout" ? `had not returned after ${limitMs / 1000} s` : outcome}`;
    }),
  );
  section.note(
    `For comparison, the promptlayer SDK's wrapped OpenAI client (it logs inline), one successful model call against the same receivers: ${outcomes.join("; ")}. Tagalong's calls against them are in the table above.`,
  );
}
