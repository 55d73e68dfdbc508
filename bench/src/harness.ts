// The one timing harness: variants run side by side, interleaved round by round (in a new shuffled
// order each round) so drift on a shared, noisy machine hits them alike. Latency per call from
// performance.now(); CPU per call from process.cpuUsage() deltas around each variant's share of a
// round, background work it leaves (deliveries) included via `drain`.

export interface Variant {
  name: string;
  /** The variant this one is compared against (its bare SDK); none for a baseline. */
  vs?: string;
  /** One call; `i` numbers the calls of this variant. */
  call(i: number): Promise<unknown>;
  /** Work the variant leaves running after its calls (background delivery); awaited inside its CPU window. */
  drain?(): Promise<void>;
}

export interface Plan {
  /** Measured rounds; each variant runs `callsPerRound` calls per round. */
  rounds: number;
  /** Rounds run first and thrown away (JIT, connection pools). */
  warmup: number;
  callsPerRound: number;
  /** Calls in flight at once (1: sequential). */
  concurrency: number;
}

export interface Measured {
  name: string;
  vs?: string;
  /** Every measured call's latency, ms. */
  latencies: number[];
  /** CPU µs per call in each measured round (user + system, the whole process). */
  cpuPerRound: number[];
  /** Each measured round's median latency, ms (NaN for a round whose every call failed). */
  medianPerRound: number[];
  calls: number;
  /** Calls that threw (not counted in the latencies), and the first error. */
  errors: number;
  firstError?: string;
}

export interface Compared {
  name: string;
  vs?: string;
  calls: number;
  medianMs: number;
  p99Ms: number;
  cpuUsPerCall: number;
  /** Against `vs`: median and p99 latency ratios, and the added CPU per call with its standard error. */
  medianRatio?: number;
  /** Median latency minus the baseline's, µs. */
  addedMedianUs?: number;
  p99Ratio?: number;
  addedCpuUs?: number;
  addedCpuSeUs?: number;
  /**
   * The median of the same per-round differences and its standard error (from their median absolute
   * deviation): a round the machine disturbed (another process, a GC pause landing in one window)
   * moves the mean by its whole size, the median barely; a cost paid on every call moves both alike.
   */
  addedCpuMedianUs?: number;
  addedCpuMedianSeUs?: number;
  /**
   * The median of the per-round ratios of median latency against `vs`, and its standard error: the
   * noise of a latency ratio, for a goal near its target (both ran in the same rounds).
   */
  roundRatio?: { median: number; se: number };
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function standardError(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (values.length - 1) / values.length);
}

/** The figure with the highest median (the worst, for a cost). */
export function highest<F extends { median: number }>(figures: readonly F[]): F | undefined {
  return figures.reduce<F | undefined>((w, f) => (w === undefined || f.median > w.median ? f : w), undefined);
}

/**
 * A goal judged with its noise, over figures that each have a median and its standard error: met when
 * every one is within the target by 2 standard errors, not met when one is beyond it by 2, otherwise
 * inconclusive; undefined without figures or with one whose error is unknown.
 */
export function noiseVerdict(
  figures: ReadonlyArray<{ median: number; se: number }>,
  within: (value: number) => boolean,
): boolean | "inconclusive" | undefined {
  if (figures.length === 0 || figures.some((f) => !Number.isFinite(f.se))) return undefined;
  if (figures.some((f) => !within(f.median - 2 * f.se))) return false;
  if (figures.every((f) => within(f.median + 2 * f.se))) return true;
  return "inconclusive";
}

/** The median of `values` and its standard error, robust to outliers: 1.2533 × 1.4826 × MAD / √n. */
export function robustMedian(values: readonly number[]): { median: number; se: number } {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, se: Number.NaN };
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  if (n < 2) return { median, se: Number.NaN };
  const deviations = sortedCopy(sorted.map((v) => Math.abs(v - median)));
  const mad = n % 2 === 1 ? deviations[(n - 1) / 2]! : (deviations[n / 2 - 1]! + deviations[n / 2]!) / 2;
  return { median, se: (1.2533 * 1.4826 * mad) / Math.sqrt(n) };
}

/** CPU time (user + system) since `since`, in µs. */
export function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Runs `count` calls of `variant` with `concurrency` in flight, pushing each latency to `into`. */
async function runCalls(
  variant: Variant,
  count: number,
  concurrency: number,
  counter: { next: number },
  into: Measured | undefined,
): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      const i = counter.next++;
      const t0 = performance.now();
      try {
        await variant.call(i);
        into?.latencies.push(performance.now() - t0);
      } catch (error) {
        // A failed call (e.g. a keep-alive socket the server closed at that instant) is counted and
        // reported, not timed; it does not end the run.
        if (into) {
          into.errors++;
          into.firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(concurrency, count); w++) workers.push(worker());
  await Promise.all(workers);
}

/** Runs the variants interleaved, round by round, and measures each one's latency and CPU. */
export async function compare(variants: readonly Variant[], plan: Plan): Promise<Measured[]> {
  const measured: Measured[] = variants.map((v) => ({
    name: v.name,
    vs: v.vs,
    latencies: [],
    cpuPerRound: [],
    medianPerRound: [],
    calls: 0,
    errors: 0,
  }));
  const counters = variants.map(() => ({ next: 0 }));
  const order = variants.map((_, k) => k);
  let seed = 0x2545f491;
  const random = (): number => {
    // xorshift32: the same orders on every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (let round = 0; round < plan.warmup + plan.rounds; round++) {
    const keep = round >= plan.warmup;
    // A new order each round (Fisher-Yates): what a variant leaves behind (garbage the collector's
    // threads sweep during the next window, a heap grown to the next GC) falls on a different
    // successor each round instead of always the same one, as a rotation of one fixed cycle did.
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(random() * (k + 1));
      [order[k], order[j]] = [order[j]!, order[k]!];
    }
    for (let k = 0; k < variants.length; k++) {
      const at = order[k]!;
      const variant = variants[at]!;
      const m = measured[at]!;
      const from = m.latencies.length;
      const cpu0 = process.cpuUsage();
      await runCalls(variant, plan.callsPerRound, plan.concurrency, counters[at]!, keep ? m : undefined);
      await variant.drain?.();
      // End the window's task, inside it: calls answered in process (a canned fetch) resolve within
      // microtasks, and until a task ends Node keeps alive every object a WeakRef was made for (its
      // own web code makes them per request: a Request made with a signal, AbortSignal.any), with all
      // they reach. Without this a whole mode's calls stayed reachable (38 KB a streamed AI SDK call:
      // gigabytes by the last round), and the collector's growing work fell on whichever variant was
      // running. What ending the task runs (finalizers, held records) is charged to the window.
      // BENCH_NO_TASK_END=1 leaves it out, to compare the two.
      if (process.env.BENCH_NO_TASK_END !== "1") await endTask();
      const cpu = cpuMicros(cpu0);
      if (keep) {
        m.cpuPerRound.push(cpu / plan.callsPerRound);
        m.medianPerRound.push(
          m.latencies.length > from ? quantile(sortedCopy(m.latencies.slice(from)), 0.5) : Number.NaN,
        );
        m.calls += plan.callsPerRound;
      }
    }
  }
  return measured;
}

/** Medians, p99s, CPU per call, and each variant against its `vs`. */
export function summarize(measured: readonly Measured[]): Compared[] {
  const byName = new Map(measured.map((m) => [m.name, m]));
  const stats = new Map(
    measured.map((m) => {
      const sorted = sortedCopy(m.latencies);
      return [m.name, { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }];
    }),
  );
  return measured.map((m) => {
    const own = stats.get(m.name)!;
    const out: Compared = {
      name: m.name,
      vs: m.vs,
      calls: m.calls,
      medianMs: own.median,
      p99Ms: own.p99,
      cpuUsPerCall: mean(m.cpuPerRound),
    };
    const base = m.vs === undefined ? undefined : byName.get(m.vs);
    if (base) {
      const b = stats.get(base.name)!;
      out.medianRatio = own.median / b.median;
      out.addedMedianUs = (own.median - b.median) * 1000;
      out.p99Ratio = own.p99 / b.p99;
      // Paired by round: both ran in the same round, so slow phases of the machine cancel.
      const diffs = m.cpuPerRound.map((c, r) => c - base.cpuPerRound[r]!);
      out.addedCpuUs = mean(diffs);
      out.addedCpuSeUs = standardError(diffs);
      const robust = robustMedian(diffs);
      out.addedCpuMedianUs = robust.median;
      out.addedCpuMedianSeUs = robust.se;
      const ratios = m.medianPerRound
        .map((ms, r) => ms / base.medianPerRound[r]!)
        .filter((ratio) => Number.isFinite(ratio));
      out.roundRatio = robustMedian(ratios);
    }
    return out;
  });
}

export interface OpsTarget {
  name: string;
  /** One operation; its return value is kept so the work cannot be optimised away. */
  op(i: number): unknown;
  /** Runs each timed sample inside some context (e.g. a metadata scope). */
  around?(sample: () => void): void;
}

/** Operations per second of each target: interleaved timed samples, the median sample reported. */
export function opsPerSecond(
  targets: readonly OpsTarget[],
  options: { samples: number; sampleMs: number },
): Map<string, number> {
  const rates = targets.map(() => [] as number[]);
  const keep: unknown[] = [];
  let i = 0;
  // One unmeasured sample each to warm the JIT.
  for (let s = -1; s < options.samples; s++) {
    for (let k = 0; k < targets.length; k++) {
      const at = (Math.max(0, s) + k) % targets.length;
      const target = targets[at]!;
      let ops = 0;
      let elapsed = 0;
      const sample = (): void => {
        const t0 = performance.now();
        do {
          for (let j = 0; j < 64; j++) keep[(ops + j) & 7] = target.op(i++);
          ops += 64;
          elapsed = performance.now() - t0;
        } while (elapsed < options.sampleMs);
      };
      if (target.around) target.around(sample);
      else sample();
      if (s >= 0) rates[at]!.push((ops / elapsed) * 1000);
    }
  }
  if (keep.length > 8) console.log(keep.length); // never: a use of `keep` the JIT cannot drop
  return new Map(targets.map((t, k) => [t.name, quantile(sortedCopy(rates[k]!), 0.5)]));
}

/** Resolves in a later macrotask: the current task (and its microtasks) ends first. */
const endTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Formatting

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

export function fmtRatio(r: number | undefined, se?: number): string {
  if (r === undefined || !Number.isFinite(r)) return "";
  return se !== undefined && Number.isFinite(se) ? `${r.toFixed(3)}× ± ${se.toFixed(3)}` : `${r.toFixed(3)}×`;
}

export function fmtUs(us: number | undefined, se?: number): string {
  if (us === undefined || !Number.isFinite(us)) return "";
  const sign = us >= 0 ? "+" : "−";
  const value = `${sign}${Math.abs(us).toFixed(1)} µs`;
  return se !== undefined && Number.isFinite(se) ? `${value} ± ${se.toFixed(1)}` : value;
}

/** A comparison cell: the baseline's own figures, or a variant against its baseline. */
export function fmtCompared(c: Compared): string {
  if (c.vs === undefined)
    return `${fmtMs(c.medianMs)} · p99 ${fmtMs(c.p99Ms)} · ${c.cpuUsPerCall.toFixed(0)} µs CPU`;
  return `${fmtRatio(c.medianRatio)} (${fmtUs(c.addedMedianUs)}) · p99 ${fmtRatio(c.p99Ratio)} · CPU ${fmtUs(c.addedCpuUs, c.addedCpuSeUs)}, median ${fmtUs(c.addedCpuMedianUs, c.addedCpuMedianSeUs)}`;
}

export function fmtRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
}

export function fmtMB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}
