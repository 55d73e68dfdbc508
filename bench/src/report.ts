// Sections of tables, notes and goals: printed as they are measured, then written as BENCHMARKS.md.
import { readFileSync } from "node:fs";
import os from "node:os";
import { type Measured, quantile, sortedCopy } from "./harness";

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface Goal {
  what: string;
  target: string;
  measured: string;
  /** undefined: not judged (smoke mode); "inconclusive": the noise spans the target. */
  met: boolean | "inconclusive" | undefined;
}

export class Section {
  readonly tables: Table[] = [];
  readonly notes: string[] = [];
  readonly goals: Goal[] = [];

  constructor(
    readonly title: string,
    readonly intro: string,
  ) {
    console.log(`\n## ${title}\n`);
  }

  table(table: Table): void {
    this.tables.push(table);
    console.log(formatText(table));
  }

  note(text: string): void {
    this.notes.push(text);
    console.log(`  ${text}\n`);
  }

  goal(goal: Goal): void {
    this.goals.push(goal);
  }

  /** Notes every variant whose calls failed (they are not timed). */
  failedCalls(measured: readonly Measured[], where: string): void {
    for (const m of measured) {
      if (m.errors > 0) this.note(`${m.name} (${where}): ${m.errors} calls failed, e.g. ${m.firstError}`);
    }
  }
}

function formatText(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd();
  return [`  ${t.title}`, line(t.columns), ...t.rows.map(line), ""].join("\n");
}

function formatMarkdown(t: Table): string {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  return [
    `**${t.title}**`,
    "",
    `| ${t.columns.map(esc).join(" | ")} |`,
    `| ${t.columns.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
    "",
  ].join("\n");
}

const mark = (met: Goal["met"]) =>
  met === undefined
    ? "not judged"
    : met === "inconclusive"
      ? "inconclusive (noise)"
      : met
        ? "met"
        : "**NOT MET**";

/** Versions of the SDKs the benchmark ran, as installed for the bench package. */
export function versions(names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
      out[name] = (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
    } catch {
      out[name] = "?";
    }
  }
  return out;
}

export interface RunInfo {
  date: string;
  command: string;
  durationS: number;
  loadBefore: number[];
  /** 1-minute load average sampled every 5 s during the run. */
  loadDuring: number[];
  /** The CPU time of a fixed piece of work, timed before each scenario and after the last. */
  referenceMs: number[];
  versions: Record<string, string>;
  blockedHosts: string[];
}

function loadLine(info: RunInfo): string {
  const cores = os.cpus().length;
  const sorted = [...info.loadDuring].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(1) ?? "?";
  const busy = sorted.length > 0 && sorted[Math.floor(sorted.length / 2)]! > cores;
  return [
    `- 1-minute load average during the run: min ${at(0)}, median ${at(0.5)}, max ${at(1)} on ${cores} cores`,
    busy
      ? " (above the core count: other work was running on the machine, so absolute times are inflated and noisier)"
      : "",
    `; before the run ${info.loadBefore.map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min).`,
  ].join("");
}

function referenceLine(info: RunInfo): string {
  const sorted = sortedCopy(info.referenceMs);
  if (sorted.length === 0) return "";
  const ms = (q: number) => quantile(sorted, q).toFixed(1);
  return `- The machine's speed: a fixed piece of work (4,000 JSON round trips of a 1 KB object) took ${ms(0)} to ${ms(1)} ms CPU (median ${ms(0.5)}), timed before each scenario and after the last. Every µs figure here scales with it: compare it before comparing two runs.`;
}

function goalCounts(goals: readonly Goal[]): string {
  const count = (met: Goal["met"]) => goals.filter((g) => g.met === met).length;
  const judged = goals.filter((g) => g.met !== undefined).length;
  return `Of the ${judged} goals judged in this run, **${count(false)} were not met**, ${count(true)} were met and ${count("inconclusive")} were inconclusive (the noise spans the target). The sections after the table have the figures, and the controls that explain them.`;
}

export function toMarkdown(sections: readonly Section[], info: RunInfo): string {
  // In the issue's order, whatever order they ran in (the delivery scenario runs last, for its leftover
  // retrying queues; encoding before the vendors', whose promptlayer SDK slows string code).
  const ordered = [...sections].sort((a, b) => Number.parseInt(a.title, 10) - Number.parseInt(b.title, 10));
  const goals = ordered.flatMap((s) => s.goals.map((g) => ({ section: s.title, ...g })));
  const cpu = os.cpus();
  const out: string[] = [
    "# Benchmarks",
    "",
    `Generated by \`${info.command}\` on ${info.date} in ${info.durationS.toFixed(0)} s. The file is`,
    "rewritten by every full run: do not edit the figures by hand.",
    "",
    "Tagalong runs as users install it: the built `dist` of each package (`pnpm bench` builds first, and",
    "the bench refuses a `dist` older than its sources), beside the SDKs' own published builds.",
    "Everything runs side by side in one run: the variants of each comparison are interleaved round by",
    "round (in a new shuffled order each round) against the same loopback servers, so drift on the machine",
    "hits them alike; the first rounds warm up the JIT and are thrown away.",
    "**Ratios are what to read; absolute times are not comparable between runs.** The servers (the",
    "`@tagalong/testing` recorder, and small sinks for the vendors' own ingestion APIs) run in a child",
    "process, so their CPU and memory are not counted against the code being measured. Model latency is",
    "zero (the recorder answers at once), which makes every ratio as strict as it can be: with a real",
    "model's hundreds of milliseconds the same overhead is a far smaller fraction. The machine (2 cores) is",
    "shared with other people's builds and tests while this runs: see the load line below.",
    "",
    "## How to reproduce",
    "",
    "```sh",
    "npx -y pnpm@10.34.8 install",
    "npx -y pnpm@10.34.8 bench                      # full run (several minutes), rewrites BENCHMARKS.md",
    "npx -y pnpm@10.34.8 bench --outages=10,60     # shorter PromptLayer outages (default 30,300 s)",
    "npx -y pnpm@10.34.8 bench --only=overhead,encoding --no-write",
    "# one adapter's overhead, in process only (a partial run: prints, never rewrites this file)",
    "BENCH_ADAPTERS=openai BENCH_SETTINGS=in-process npx -y pnpm@10.34.8 bench --only=overhead",
    "npx -y pnpm@10.34.8 bench --smoke              # seconds, tiny counts, prints only (BENCH_SMOKE=1 too)",
    "```",
    "",
    "## Machine and versions",
    "",
    `- ${os.type()} ${os.release()}, ${cpu.length} × ${cpu[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    loadLine(info),
    referenceLine(info),
    `- node ${process.version}; ${Object.entries(info.versions)
      .map(([n, v]) => `${n} ${v}`)
      .join(", ")}`,
    info.blockedHosts.length === 0
      ? "- no request left loopback (every DNS lookup but localhost is refused during the run: none was attempted)"
      : `- blocked DNS lookups during the run (endpoints that tried to leave loopback): ${info.blockedHosts.join(", ")}`,
  ];
  out.push(
    "",
    "## Goals",
    "",
    goalCounts(goals),
    "",
    "| goal | target | measured | |",
    "| --- | --- | --- | --- |",
    ...goals.map((g) => `| ${g.what} | ${g.target} | ${g.measured} | ${mark(g.met)} |`),
    "",
  );
  for (const s of ordered) {
    out.push(`## ${s.title}`, "", s.intro, "");
    for (const t of s.tables) out.push(formatMarkdown(t));
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

export function printGoals(sections: readonly Section[]): void {
  console.log("\n## Goals\n");
  for (const s of sections) {
    for (const g of s.goals)
      console.log(
        `  ${mark(g.met).replaceAll("*", "").padEnd(20)}  ${g.what}: ${g.measured} (target ${g.target})`,
      );
  }
}
