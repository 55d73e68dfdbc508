// 5. Scale: how the cost grows with the metadata's size (1 to 100 extra keys) and with the number of
// calls in flight (1 to 1,000).
import { openaiVariants, wrappedOpenAIVariant } from "../adapters";
import type { Context } from "../context";
import { encodingTargets } from "../encode-all";
import { fullMetadata, inFlightTagalong } from "../fixtures";
import { compare, fmtMs, fmtRate, fmtRatio, fmtUs, opsPerSecond, sleep, summarize } from "../harness";
import { Section } from "../report";

export async function scale(ctx: Context): Promise<Section> {
  const section = new Section(
    "5. Scale",
    [
      "How the cost grows with the metadata's size and with concurrency. Size: the full metadata of section 3",
      "with 1 to 100 extra keys; encoding ops/s against JSON.stringify of the same object, and what a",
      "wrapped OpenAI client adds per call carrying it (in process, sequential: CPU and latency). Concurrency:",
      "the OpenAI client bare and wrapped (per-call metadata, Portkey + Requesty) over loopback HTTP with 1 to",
      "1,000 calls in flight.",
    ].join("\n"),
  );
  const { sizes } = ctx;

  const sizeRows: string[][] = [];
  for (const keys of sizes.scaleExtraKeys) {
    const rates = opsPerSecond(encodingTargets(keys).slice(0, 2), {
      samples: sizes.opsSamples,
      sampleMs: sizes.opsSampleMs,
    });
    const floor = rates.get("JSON.stringify (floor)")!;
    const perCall = rates.get("per-call metadata")!;
    const bare = openaiVariants(ctx.inProcess, false)[0]!;
    const wrapped = wrappedOpenAIVariant("wrapped", ctx.inProcess, inFlightTagalong(), "scale", false, (i) =>
      fullMetadata(i, keys),
    );
    const [, w] = summarize(
      await compare([bare, wrapped], {
        rounds: sizes.rounds,
        warmup: sizes.warmup,
        callsPerRound: sizes.inProcessSequentialCalls,
        concurrency: 1,
      }),
    );
    const headerBytes = JSON.stringify(inFlightTagalong().prepare(fullMetadata(0, keys)).headers).length;
    sizeRows.push([
      String(keys),
      `${headerBytes} B`,
      fmtRate(floor),
      fmtRate(perCall),
      `${(floor / perCall).toFixed(1)}×`,
      fmtUs(w!.addedCpuUs, w!.addedCpuSeUs),
      fmtRatio(w!.medianRatio),
    ]);
  }
  section.table({
    title: "Metadata size",
    columns: [
      "extra keys",
      "Portkey header JSON",
      "JSON.stringify ops/s",
      "per-call encode ops/s",
      "cost in JSON.stringify's",
      "wrapped call: added CPU",
      "wrapped call: median ratio (in process)",
    ],
    rows: sizeRows,
  });

  const concurrencyRows: string[][] = [];
  for (const inFlight of sizes.scaleConcurrency) {
    await sleep(50);
    const [bare, , wrapped] = openaiVariants(ctx.loopback, false);
    const [b, w] = summarize(
      await compare([bare!, wrapped!], {
        rounds: inFlight >= 100 ? Math.min(sizes.rounds, 5) : sizes.rounds,
        warmup: sizes.warmup,
        callsPerRound: Math.max(sizes.sequentialCalls, 2 * inFlight),
        concurrency: inFlight,
      }),
    );
    for (const m of [b!, w!])
      if (m.calls === 0) section.note(`${m.name}: no call completed at ${inFlight} in flight`);
    concurrencyRows.push([
      String(inFlight),
      `${fmtMs(b!.medianMs)} · p99 ${fmtMs(b!.p99Ms)}`,
      `${b!.cpuUsPerCall.toFixed(0)} µs`,
      fmtRatio(w!.medianRatio),
      fmtRatio(w!.p99Ratio),
      fmtUs(w!.addedCpuUs, w!.addedCpuSeUs),
    ]);
  }
  await ctx.servers.call("reset", { name: "model" });
  section.table({
    title: "Calls in flight (loopback HTTP; wrapped = wrapOpenAI, per-call metadata)",
    columns: [
      "in flight",
      "bare: median · p99",
      "bare: CPU per call",
      "wrapped: median ratio",
      "wrapped: p99 ratio",
      "wrapped: added CPU",
    ],
    rows: concurrencyRows,
  });
  return section;
}
