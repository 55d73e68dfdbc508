// 1. What each adapter adds to a call over its bare SDK: latency (median, p99) and CPU per call,
// sequential and 64 in flight, plain and streamed, in process (no I/O: the adapter's own cost) and
// over loopback HTTP (a real round trip: the ratio users see, at zero model latency).
import { AGAIN, type Endpoint, selectedAdapters } from "../adapters";
import { type Context, type Mode, modelWire, modes, planFor, SLOW_MODEL_MS } from "../context";
import { compare, fmtCompared, fmtRatio, fmtUs, highest, noiseVerdict, sleep, summarize } from "../harness";
import { Section } from "../report";
import { WireCheck } from "../wire";

const MAX_RATIO = 1.02;
const MAX_ADDED_CPU_US = 20;

interface Run extends Mode {
  endpoint: Endpoint;
  /** Held to the goals (the zero-latency runs). */
  judged: boolean;
  /** Calls per variant per round, when not the plan's. */
  calls?: number;
}

interface Worst {
  value: number;
  where: string;
}

function worse(current: Worst | undefined, value: number | undefined, where: string): Worst | undefined {
  if (value === undefined || !Number.isFinite(value)) return current;
  return current === undefined || value > current.value ? { value, where } : current;
}

/** A judged figure: the median of per-round values (added CPU, a latency ratio) and its standard error. */
interface Figure {
  median: number;
  se: number;
  where: string;
}

/** The worst mode's added CPU and every mode's, with their noise; then the loopback figure. */
function cpuMeasured(figures: Figure[], loopback: Worst | undefined): string {
  const worst = highest(figures);
  if (!worst) return "n/a";
  const all = figures.map((f) => `${f.where}: ${fmtUs(f.median, f.se)}`).join("; ");
  return `worst ${fmtUs(worst.median, worst.se)} (${all}); over loopback HTTP, worst ${fmtUs(loopback?.value)}`;
}

/**
 * The control rows: the bare SDK again, the same fields sent by hand, an empty middleware, a handler
 * that does nothing.
 */
const isControl = (name: string): boolean =>
  name === AGAIN || /by hand|empty middleware|no-op handler/.test(name);

function controlsMeasured(controls: Map<string, Figure[]>): string {
  if (controls.size === 0) return "";
  const each = [...controls.entries()].map(
    ([name, figures]) => `${name}: ${figures.map((f) => fmtUs(f.median, f.se)).join(" / ")}`,
  );
  return `. Controls in the same runs, without Tagalong (same modes, in order): ${each.join("; ")}`;
}

export async function overhead(ctx: Context): Promise<Section> {
  const { sizes } = ctx;
  const section = new Section(
    "1. Per-call overhead of each adapter over its bare SDK",
    [
      "Each cell: for the bare SDK, its median and p99 latency and CPU per call; for every other variant, its",
      "median latency as a ratio of the bare SDK's (and the difference), its p99 ratio, and the CPU it adds",
      "per call (mean of the per-round differences ± standard error, then their median ± its standard error;",
      "process.cpuUsage() over each variant's share of each round, so everything the call does counts,",
      "background callbacks and GC included). The goal is judged on the median: a streamed call costs the SDK",
      "1 to 2 ms of CPU, and one round the machine disturbs moves the mean by hundreds of µs, the median not.",
      `In process, ${sizes.inProcessRounds} rounds (${sizes.rounds} over loopback), after ${sizes.warmup} thrown away.`,
      "`in process` answers from canned replies through the SDK's `fetch` option: no I/O, so the difference",
      "is the adapter's own cost (each variant's share of a round ends its task, inside its CPU window: calls",
      "answered in process never leave the microtask queue, and until a task ends Node keeps alive every",
      "object a WeakRef was made for, which Node's web code does per request); `loopback HTTP` goes to",
      "the recorder over 127.0.0.1 with zero model latency",
      `(the strictest ratio), plus one column against a model that takes ${SLOW_MODEL_MS} ms. Judged variants (per-call`,
      `metadata, with and without recording) are held to the goals: median ratio <= ${MAX_RATIO} over loopback`,
      `HTTP at zero model latency, added CPU < ${MAX_ADDED_CPU_US} µs per call in process. Controls: \`same fields by hand\``,
      "sends what Tagalong would add, without Tagalong (the cost of bigger requests); `empty middleware` and",
      "`no-op handler` are what the framework itself spends on any middleware or handler; `the bare SDK again`",
      "is a second client (or model) of the bare SDK making the same calls: what two identical variants differ",
      "by in one run, the noise a figure carries beyond its standard error (which counts only the rounds'",
      "scatter, not what sets one variant's instance apart from another's). Per-call metadata",
      "is a distinct object per call, so no cache hides the work. All variants share one process: on Node 20",
      "and 22, once an AsyncLocalStorage has been entered (scopes, as the openai rows' `scope metadata` does), every promise",
      "in the process pays Node's promise hooks, the bare SDK's as much as the adapter's, so that cost is",
      "in no difference here (packages/core/README.md, Scopes, gives its size).",
    ].join("\n"),
  );
  const wire = new WireCheck();
  // Judged at zero model latency (the strictest case); one extra column shows the same overhead
  // against a model that answers in SLOW_MODEL_MS, still faster than any hosted LLM.
  const settings: { name: string; key: string; runs: Run[] }[] = [
    {
      name: "in process",
      key: "in-process",
      runs: modes(sizes).map((m) => ({ ...m, endpoint: ctx.inProcess, judged: true })),
    },
    {
      name: "loopback HTTP",
      key: "loopback",
      runs: [
        ...modes(sizes).map((m) => ({ ...m, endpoint: ctx.loopback, judged: true })),
        // Sequential: with many in flight the 2 cores saturate and the column would measure CPU again.
        {
          label: `sequential, model ${SLOW_MODEL_MS} ms`,
          stream: false,
          concurrency: 1,
          endpoint: ctx.slowLoopback,
          judged: false,
          calls: sizes.slowSequentialCalls,
        },
      ],
    },
  ];
  // BENCH_ADAPTERS=openai,ai-sdk,langchain runs only those adapters; BENCH_SETTINGS=in-process (or
  // loopback) only that setting: for profiling one part quickly (partial runs never write BENCHMARKS.md).
  const keep = process.env.BENCH_SETTINGS?.split(",").filter(Boolean);
  for (const adapter of selectedAdapters()) {
    // Per judged variant: its latency ratios (loopback) and added CPU (in process) in each mode, and the
    // worst added CPU over loopback.
    const worst = new Map<string, { ratios: Figure[]; cpu: Figure[]; loopbackCpu?: Worst }>();
    // The controls' added CPU in process (what carrying the fields, or any handler, costs without
    // Tagalong), shown beside the goal so a reader can tell the adapter's share from the framework's.
    const controls = new Map<string, Figure[]>();
    for (const setting of settings.filter((s) => !keep || keep.includes(s.key))) {
      const inProcess = setting.name === "in process";
      const columns: Map<string, string[]> = new Map();
      for (const run of setting.runs) {
        const variants = adapter.variants(run.endpoint, run.stream);
        // Let the event loop see sockets the server closed while the in-process runs held it busy.
        await sleep(50);
        const plan = planFor(sizes, run.concurrency, inProcess);
        const measured = await compare(variants, { ...plan, callsPerRound: run.calls ?? plan.callsPerRound });
        if (!inProcess) {
          wire.add(await modelWire(ctx, run.endpoint === ctx.slowLoopback ? "model-slow" : "model"));
        }
        section.failedCalls(measured, `${setting.name}, ${run.label}`);
        for (const [k, c] of summarize(measured).entries()) {
          const row = columns.get(c.name) ?? [];
          row.push(fmtCompared(c));
          columns.set(c.name, row);
          if (inProcess && run.judged && !variants[k]!.judged && c.vs !== undefined && isControl(c.name)) {
            const figures = controls.get(c.name) ?? [];
            figures.push({ median: c.addedCpuMedianUs!, se: c.addedCpuMedianSeUs!, where: run.label });
            controls.set(c.name, figures);
          }
          if (!variants[k]!.judged || !run.judged) continue;
          const w = worst.get(c.name) ?? { ratios: [], cpu: [] };
          if (inProcess) {
            w.cpu.push({ median: c.addedCpuMedianUs!, se: c.addedCpuMedianSeUs!, where: run.label });
          } else {
            if (c.roundRatio !== undefined) w.ratios.push({ ...c.roundRatio, where: run.label });
            w.loopbackCpu = worse(w.loopbackCpu, c.addedCpuUs, run.label);
          }
          worst.set(c.name, w);
        }
      }
      section.table({
        title: `${adapter.name}, ${setting.name}`,
        columns: ["variant", ...setting.runs.map((r) => r.label)],
        rows: [...columns.entries()].map(([name, cells]) => [name, ...cells]),
      });
    }
    const judged = !ctx.config.smoke;
    for (const [variant, w] of worst) {
      const ratio = highest(w.ratios);
      section.goal({
        what: `${adapter.name}, ${variant}: median latency over the bare SDK (loopback HTTP, worst mode: the median of the per-round ratios ± its standard error; met when every mode is below the target by 2 standard errors, not met when one is above it by 2)`,
        target: `<= ${MAX_RATIO}×`,
        measured: ratio ? `${fmtRatio(ratio.median, ratio.se)} (${ratio.where})` : "n/a",
        met: judged ? noiseVerdict(w.ratios, (r) => r <= MAX_RATIO) : undefined,
      });
      section.goal({
        what: `${adapter.name}, ${variant}: added CPU per call (in process, every mode: median of the rounds ± its standard error; met when every mode is below the target by 2 standard errors, not met when one is above it by 2)`,
        target: `< ${MAX_ADDED_CPU_US} µs`,
        measured: `${cpuMeasured(w.cpu, w.loopbackCpu)}${controlsMeasured(controls)}`,
        met: judged ? noiseVerdict(w.cpu, (us) => us < MAX_ADDED_CPU_US) : undefined,
      });
    }
  }
  section.table(wire.table("What the loopback calls carried (as the recorder saw them)"));
  const problems = wire.problems((model) => model.includes("tagalong") || model.includes("by-hand"));
  for (const p of problems) section.note(`Wire problem: ${p}`);
  if (problems.length === 0) {
    section.note(
      "Every Tagalong variant's loopback calls carried Portkey's header and Requesty's field, with no rule broken.",
    );
  }
  return section;
}
