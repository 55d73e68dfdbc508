// 7. Each variant alone in a process: what an adapter costs the whole process, which section 1's
// side-by-side comparison cannot see (there, anything one variant does to the process, such as
// entering an AsyncLocalStorage, which on Node 20 and 22 makes every promise pay for promise hooks,
// is paid by the bare SDK too).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BenchAdapter, selectedAdapters } from "../adapters";
import type { Context } from "../context";
import { fmtUs, robustMedian } from "../harness";
import { Section } from "../report";

const run = promisify(execFile);

/** Per adapter (by key): its bare SDK's variant and the variants measured against it. */
const COMPARED: Record<BenchAdapter["key"], { bare: string; variants: string[] }> = {
  openai: { bare: "openai", variants: ["wrapOpenAI, per-call metadata", "wrapOpenAI, scope metadata"] },
  "ai-sdk": { bare: "ai + openai-compatible", variants: ["tagalongMiddleware, per-call metadata"] },
  langchain: {
    bare: "ChatOpenAI",
    variants: ["withTagalong(ChatOpenAI, tagalong)", "withTagalong + handler"],
  },
};

const MODES = [
  { label: "sequential", mode: "plain" },
  { label: "sequential, stream", mode: "stream" },
] as const;

export async function processWide(ctx: Context): Promise<Section> {
  const smoke = ctx.config.smoke;
  const pairs = smoke ? 1 : 6;
  const warmup = smoke ? 3 : 1000;
  const calls = (mode: string) => (smoke ? 5 : mode === "stream" ? 2000 : 4000);
  const section = new Section(
    "7. Each variant alone in a process",
    [
      "Section 1 runs every variant of an adapter side by side in one process, so anything one of them does",
      "to the whole process is paid by all of them, the bare SDK included, and shows in no difference: on",
      "Node 20 and 22, entering an AsyncLocalStorage once (a `withMetadata` scope, LangChain's own `.stream()`",
      "or runnable lambdas) makes every promise in the process pay for promise hooks from then on. Here each",
      `variant runs alone in a fresh process (the same canned replies, ${warmup} calls to warm up, then`,
      `${calls("plain")} plain or ${calls("stream")} streamed sequential calls timed with process.cpuUsage()),`,
      `the bare SDK's process and the variant's in turn, ${pairs} pairs in alternating order. The bare SDK's`,
      "row: its own CPU per call (median of its processes); a variant's cell: the CPU per call its process",
      "spends over the bare SDK's (median of the pairs' differences ± its standard error). Not held to a",
      "goal: a process is noisier than a round, and section 1 judges the adapters' own cost; this section",
      "shows what they cost an application.",
    ].join("\n"),
  );
  const dir = mkdtempSync(join(tmpdir(), "tagalong-bench-"));
  const replies = join(dir, "replies.json");
  writeFileSync(replies, JSON.stringify(ctx.canned));
  const child = fileURLToPath(new URL("../process-child.ts", import.meta.url));
  const cpuOf = async (key: string, variant: string, mode: string): Promise<number> => {
    const { stdout } = await run(
      process.execPath,
      [
        "--conditions=tagalong-dist",
        "--import",
        "tsx",
        child,
        key,
        variant,
        mode,
        replies,
        String(calls(mode)),
        String(warmup),
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const last = stdout.trim().split("\n").at(-1) ?? "";
    return (JSON.parse(last) as { cpuUsPerCall: number }).cpuUsPerCall;
  };
  try {
    for (const adapter of selectedAdapters()) {
      const { bare: bareName, variants } = COMPARED[adapter.key];
      const rows = new Map<string, string[]>(variants.map((v) => [v, []]));
      const bareRow: string[] = [];
      for (const { mode } of MODES) {
        const bare: number[] = [];
        const diffs = new Map<string, number[]>(variants.map((v) => [v, []]));
        for (let pair = 0; pair < pairs; pair++) {
          // Alternate which runs first, so a drift of the machine does not favour one side.
          const order = pair % 2 === 0 ? [bareName, ...variants] : [...variants, bareName];
          const cpu = new Map<string, number>();
          for (const name of order) cpu.set(name, await cpuOf(adapter.key, name, mode));
          bare.push(cpu.get(bareName)!);
          for (const v of variants) diffs.get(v)!.push(cpu.get(v)! - cpu.get(bareName)!);
        }
        bareRow.push(`${robustMedian(bare).median.toFixed(0)} µs CPU`);
        for (const v of variants) {
          const { median, se } = robustMedian(diffs.get(v)!);
          rows.get(v)!.push(fmtUs(median, se));
        }
      }
      section.table({
        title: `${adapter.name}: CPU per call, each variant alone in its process`,
        columns: ["variant", ...MODES.map((m) => m.label)],
        rows: [[bareName, ...bareRow], ...[...rows.entries()].map(([name, cells]) => [name, ...cells])],
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return section;
}
