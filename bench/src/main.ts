// `pnpm bench`: every benchmark in one run, side by side against loopback servers; prints the figures
// and (full runs) rewrites BENCHMARKS.md at the repo root.
//   pnpm bench [--smoke] [--outages=30,300] [--slow-receiver-seconds=12] [--only=overhead,vendors,encoding,scale,otel,process,delivery] [--no-write]
//   BENCH_ADAPTERS=openai,ai-sdk,langchain narrows the overhead and process scenarios, BENCH_SETTINGS=in-process|loopback the overhead one.
// First, before any SDK module loads: clear vendor env variables, refuse DNS lookups beyond localhost.
import "./offline";

import { writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { checkBuilt } from "./built";
import { type Config, type Context, SLOW_MODEL_MS, sizesFor } from "./context";
import { cannedFetch, captureReplies } from "./fixtures";
import { cpuMicros } from "./harness";
import { blockedHosts } from "./offline";
import { printGoals, type Section, toMarkdown, versions } from "./report";
import { delivery } from "./scenarios/delivery";
import { encoding } from "./scenarios/encoding";
import { otel } from "./scenarios/otel";
import { overhead } from "./scenarios/overhead";
import { processWide } from "./scenarios/process";
import { scale } from "./scenarios/scale";
import { vendors } from "./scenarios/vendors";
import { startServers } from "./servers";

const SCENARIOS: Record<string, (ctx: Context) => Promise<Section>> = {
  // First, before anything loads the promptlayer SDK, which slows string code of every library in the
  // process (promptlayer-sdk.ts): the adapters' overhead and prepare()'s cost are measured without it.
  overhead,
  encoding,
  vendors,
  scale,
  otel,
  process: processWide,
  // Last: its down and hanging PromptLayer receivers leave retrying queues behind until the process exits.
  delivery,
};

const SDKS = [
  "openai",
  "ai",
  "@ai-sdk/openai-compatible",
  "@ai-sdk/openai",
  "@langchain/core",
  "@langchain/openai",
  "portkey-ai",
  "promptlayer",
  "langsmith",
];

function parseArgs(argv: string[]): Config {
  const flag = (name: string) => argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const value = (name: string) => flag(name)?.split("=")[1];
  const smoke = flag("smoke") !== undefined || process.env.BENCH_SMOKE === "1";
  const only = value("only");
  for (const name of only?.split(",") ?? []) {
    if (!(name in SCENARIOS))
      throw new Error(`--only: unknown scenario ${name} (${Object.keys(SCENARIOS).join(", ")})`);
  }
  const outages = (value("outages") ?? (smoke ? "2,4" : "30,300")).split(",").map(Number);
  if (outages.some((s) => !(s > 0))) throw new Error("--outages must be positive seconds, e.g. 30,300");
  const slowReceiverSeconds = Number(value("slow-receiver-seconds") ?? (smoke ? 1.2 : 12));
  if (!(slowReceiverSeconds > 0)) throw new Error("--slow-receiver-seconds must be a positive number");
  return {
    smoke,
    outages,
    slowReceiverSeconds,
    only: only ? new Set(only.split(",")) : undefined,
    // A run narrowed by BENCH_ADAPTERS / BENCH_SETTINGS is partial: it never rewrites BENCHMARKS.md.
    write:
      !smoke &&
      flag("no-write") === undefined &&
      process.env.BENCH_ADAPTERS === undefined &&
      process.env.BENCH_SETTINGS === undefined,
  };
}

/** A fixed piece of work, always the same. */
const REFERENCE_VALUE = {
  id: "chatcmpl-reference",
  model: "gpt-4o-mini",
  messages: Array.from({ length: 8 }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: `turn ${i} `.repeat(12),
  })),
  metadata: { user: "u_1", session: "s_1", tags: ["a", "b"], extra: { n: 1, ok: true } },
};

/**
 * The CPU time of a fixed piece of work (JSON round trips), timed between scenarios, never inside one:
 * how fast the machine ran. Every µs figure of a run scales with it, so it is what tells a slower
 * machine from slower code when two runs are compared.
 */
function referenceMs(): number {
  const start = process.cpuUsage();
  for (let i = 0; i < 4000; i++) JSON.parse(JSON.stringify(REFERENCE_VALUE));
  return cpuMicros(start) / 1000;
}

async function main(): Promise<number> {
  const config = parseArgs(process.argv.slice(2));
  checkBuilt(fileURLToPath(new URL("../..", import.meta.url)));
  const started = Date.now();
  const loadBefore = os.loadavg();
  console.log(
    `Tagalong benchmarks (${config.smoke ? "smoke: tiny counts, figures are not meaningful" : "full run"}), node ${process.version}, ${os.cpus().length} cores, load ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  // The machine is shared: sample the load while measuring, to say how busy it was.
  const load: number[] = [];
  const loadSampler = setInterval(() => load.push(os.loadavg()[0]!), 5000);
  const reference: number[] = [];
  referenceMs(); // warm: the first round trips run before the JIT has compiled them
  const servers = await startServers();
  let failed = 0;
  const sections: Section[] = [];
  try {
    const { openaiBaseURL } = await servers.call("recorder", { name: "model" });
    const slow = await servers.call("recorder", {
      name: "model-slow",
      options: { latencyMs: SLOW_MODEL_MS },
    });
    const canned = await captureReplies(openaiBaseURL);
    await servers.call("reset", { name: "model" });
    const ctx: Context = {
      config,
      sizes: sizesFor(config.smoke),
      servers,
      loopback: { baseURL: openaiBaseURL },
      slowLoopback: { baseURL: slow.openaiBaseURL },
      // The base URL is never dialled: the canned fetch answers first.
      inProcess: { baseURL: "http://127.0.0.1:9/v1", fetch: cannedFetch(canned) },
      canned,
    };
    for (const [name, run] of Object.entries(SCENARIOS)) {
      if (config.only && !config.only.has(name)) continue;
      reference.push(referenceMs());
      try {
        sections.push(await run(ctx));
      } catch (error) {
        failed++;
        console.error(`\nscenario ${name} failed:`, error);
      }
    }
    reference.push(referenceMs());
    console.log(
      `\nreference work between scenarios: ${reference.map((ms) => ms.toFixed(1)).join(", ")} ms CPU`,
    );
  } finally {
    clearInterval(loadSampler);
    await servers.close();
  }
  printGoals(sections);
  const blocked = blockedHosts();
  if (blocked.length > 0)
    console.log(`\nblocked DNS lookups (something tried to leave loopback): ${blocked.join(", ")}`);
  const durationS = (Date.now() - started) / 1000;
  console.log(`\ndone in ${durationS.toFixed(0)} s`);
  if (config.write) {
    if (failed > 0 || config.only) {
      console.log("BENCHMARKS.md not written: this run was partial (--only) or a scenario failed.");
    } else {
      const file = new URL("../../BENCHMARKS.md", import.meta.url);
      writeFileSync(
        file,
        toMarkdown(sections, {
          date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          command: "pnpm bench",
          durationS,
          loadBefore,
          loadDuring: load,
          referenceMs: reference,
          versions: versions(SDKS),
          blockedHosts: blocked,
        }),
      );
      console.log(`wrote ${file.pathname}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

// Exit explicitly: queues pointed at a hanging receiver would otherwise keep the process alive.
process.exit(await main());
