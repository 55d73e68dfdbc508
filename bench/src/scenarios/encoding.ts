// 3. Metadata encoding throughput: resolve + validate + encode for Portkey, Requesty and PromptLayer,
// against JSON.stringify of the same object as the floor.
import type { Tagalong } from "@tagalong/core";
import { ADAPTERS, inFlightCall } from "../adapters";
import { checkPreparedByHand, preparedByHand } from "../by-hand-prepare";
import type { Context } from "../context";
import { encodingTargets, PORTKEY_REQUESTY_PER_CALL } from "../encode-all";
import { inFlightTagalong } from "../fixtures";
import { fmtRate, opsPerSecond, quantile, sortedCopy } from "../harness";
import { Section } from "../report";

export async function encoding(ctx: Context): Promise<Section> {
  const section = new Section(
    "3. Metadata encoding throughput",
    [
      "One operation: `prepare()`, what an adapter does on the caller's path: resolve the call's metadata",
      "(defaults < scope < per call), check it against the model and every destination's rules (Portkey,",
      "Requesty and PromptLayer; a second row with Portkey + Requesty only), and encode Portkey's header and",
      "Requesty's body field. PromptLayer's bodies are built in the background at delivery. The metadata",
      "sets every field (user, session, trace, organisation, 2 tags, a prompt with version and variables,",
      "3 extra keys) over an `environment` default. Per-call: a different object each call, so nothing is",
      "cached; scope-only: every call inside one `withMetadata` scope, where `prepare()` is a cache hit.",
      "Over rich defaults: the defaults hold environment, organisation, 2 tags and 4 extra keys, and each",
      "call only its user and session; what the defaults give is encoded once, each call encodes its own.",
      "Floor: `JSON.stringify` of the same object. Single thread, median",
      "of interleaved samples.",
    ].join("\n"),
  );
  const rates = opsPerSecond(encodingTargets(3), {
    samples: ctx.sizes.opsSamples,
    sampleMs: ctx.sizes.opsSampleMs,
  });
  const floor = rates.get("JSON.stringify (floor)")!;
  section.table({
    title: "Operations per second",
    columns: ["operation", "ops/s", "per op", "cost in JSON.stringify's"],
    rows: [...rates.entries()].map(([name, rate]) => [
      name,
      fmtRate(rate),
      `${(1e6 / rate).toFixed(2)} µs`,
      `${(floor / rate).toFixed(1)}×`,
    ]),
  });
  await prepareInCalls(ctx, section);
  const micros = 1e6 / rates.get(PORTKEY_REQUESTY_PER_CALL)!;
  section.goal({
    what: "prepare() with per-call metadata, Portkey + Requesty",
    target: "<= 5 µs",
    measured: `${micros.toFixed(2)} µs`,
    met: ctx.config.smoke ? undefined : micros <= 5,
  });
  return section;
}

/** What is timed where an adapter calls `prepare()`: Tagalong's own, or one of two controls. */
type Timed = "prepare" | "by hand" | "stringify";

const TIMED: ReadonlyArray<{ what: Timed; name: string }> = [
  { what: "prepare", name: "prepare()" },
  { what: "by hand", name: "the same work, by a function written for this case alone" },
  { what: "stringify", name: "JSON.stringify of the metadata" },
];

/**
 * A Tagalong whose `prepare()` is timed where an adapter calls it, then run once more at once; or, as
 * a control, the same work by `preparedByHand`, or `JSON.stringify` of the call's metadata, timed there
 * twice instead (the call then gets `prepare()`'s result, untimed).
 */
function timedPrepare(
  inner: Tagalong,
  what: Timed,
): { tagalong: Tagalong; inCall: number[]; again: number[] } {
  const inCall: number[] = [];
  const again: number[] = [];
  const work = (...args: Parameters<Tagalong["prepare"]>): unknown =>
    what === "prepare"
      ? inner.prepare(...args)
      : what === "by hand"
        ? preparedByHand(args[0])
        : JSON.stringify(args[0]);
  // Everything else (record, the destinations, what adapters read of it) is the inner Tagalong's.
  const prepare: Tagalong["prepare"] = (perCall, options) => {
    const t0 = performance.now();
    const first = work(perCall, options);
    const t1 = performance.now();
    work(perCall, options);
    const t2 = performance.now();
    inCall.push((t1 - t0) * 1000);
    again.push((t2 - t1) * 1000);
    return what === "prepare" ? (first as ReturnType<Tagalong["prepare"]>) : inner.prepare(perCall, options);
  };
  const tagalong = Object.create(inner, { prepare: { value: prepare } }) as Tagalong;
  return { tagalong, inCall, again };
}

/**
 * `prepare()` timed inside each adapter's calls (in process, sequential), against the same `prepare()`
 * run again at once; and the same for two controls: the same work by a function written for this one
 * case, and `JSON.stringify` of the metadata. What the figures of a loop leave out.
 */
async function prepareInCalls(ctx: Context, section: Section): Promise<void> {
  const warmup = ctx.config.smoke ? 5 : 500;
  const calls = ctx.config.smoke ? 20 : 3000;
  const median = (values: number[]) => quantile(sortedCopy(values.slice(warmup)), 0.5);
  checkPreparedByHand(inFlightTagalong());
  const rows: string[][] = [];
  for (const adapter of ADAPTERS) {
    for (const { what, name } of TIMED) {
      const timed = timedPrepare(inFlightTagalong(), what);
      const call = inFlightCall(adapter.key, ctx.inProcess, timed.tagalong);
      for (let i = 0; i < warmup + calls; i++) await call(i);
      const inCall = median(timed.inCall);
      const again = median(timed.again);
      rows.push([
        adapter.name,
        name,
        `${inCall.toFixed(2)} µs`,
        `${again.toFixed(2)} µs`,
        `${(inCall / again).toFixed(1)}×`,
      ]);
    }
  }
  section.table({
    title: "prepare() inside a call",
    columns: ["adapter (its main variant, in process)", "timed", "in the call", "again at once", "ratio"],
    rows,
  });
  section.note(
    [
      "Each adapter's main variant (per-call metadata, Portkey + Requesty, plain, in process, one call at a",
      "time), its Tagalong's `prepare()` timed where the adapter calls it, then the same `prepare()` again",
      `at once (medians of ${calls} calls). Two controls are timed there the same way, each in a pass of its`,
      "own: the same work (the same checks of the same fields, the same prepared call, checked equal to",
      "`prepare()`'s before the run) by one small function written for exactly this metadata and these two",
      "destinations, with nothing general about it; and `JSON.stringify` of the metadata, none of Tagalong's",
      "code. The first of each pair runs after the SDK's or the framework's own work for the call; the",
      "second right after the first, as each operation of the loop above runs right after the one before.",
      "Every row slows down in the call: the state the call's own work leaves the processor's caches in",
      "makes any code on its path cost several times its loop figure. The function written for the case",
      "shows how much of `prepare()`'s cost in the call is its generality (the code and data a general",
      "path touches), the part a smaller path could save; the rest is the price of doing the work at all.",
    ].join("\n"),
  );
}
