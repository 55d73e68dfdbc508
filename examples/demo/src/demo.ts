// The demo: every example, through every destination, and a table of what each one received.
//   npx -y pnpm@10.34.8 demo                 all examples
//   npx -y pnpm@10.34.8 demo openai          only some (openai, ai-sdk, langchain)
// With no keys everything runs on loopback; see README.md for running against the hosted services.
import {
  createTagalong,
  type Destination,
  type Logger,
  type Metadata,
  portkey,
  promptLayer,
  requesty,
} from "@tagalong/core";
import { type Block, type FrameworkRun, frameworkBlock, type RouteRun } from "./report";
import { ConfigError, checkConfig, type Services, startServices } from "./services";

// The three examples take the same config: the app's Tagalong and where the model calls go.
type ExampleConfig = Parameters<typeof import("@tagalong-examples/openai").run>[0];
type Run = (config: ExampleConfig) => Promise<unknown>;

// Loaded on demand: importing LangChain alone takes a second, and `demo openai` does not need it.
const EXAMPLES: Array<{ key: string; name: string; adapter: string; load(): Promise<Run> }> = [
  {
    key: "openai",
    name: "OpenAI client: a support desk",
    adapter: "@tagalong/openai",
    load: async () => (await import("@tagalong-examples/openai")).run,
  },
  {
    key: "ai-sdk",
    name: "AI SDK: a document summarizer",
    adapter: "@tagalong/ai-sdk",
    load: async () => (await import("@tagalong-examples/ai-sdk")).run,
  },
  {
    key: "langchain",
    name: "LangChain: a research assistant",
    adapter: "@tagalong/langchain",
    load: async () => (await import("@tagalong-examples/langchain")).run,
  },
];
type Example = (typeof EXAMPLES)[number] & { run: Run };

/** Notes what each call resolved: the "your metadata" column, and what arrivals are checked against. */
function probe(): Destination & { resolved: Metadata[] } {
  const resolved: Metadata[] = [];
  return { name: "demo-probe", resolved, start: (metadata) => void resolved.push(metadata) };
}

/** Keeps Tagalong's own messages for the end, so the table stays readable; a clean run has none. */
function collectingLogger(into: string[]): Logger {
  const keep = (level: string) => (message: string) => void into.push(`${level}: ${message}`);
  return { debug: () => {}, info: () => {}, warn: keep("warning"), error: keep("error") };
}

async function runExamples(services: Services, selected: Example[]) {
  const notes: string[] = [];
  const seen = probe();
  const tagalong = createTagalong({
    destinations: [
      portkey({ forwardMetadata: services.forwardMetadata }),
      requesty(),
      promptLayer({ apiKey: services.promptLayer.apiKey, baseURL: services.promptLayer.baseURL }),
      seen,
    ],
    metadata: { environment: "demo" },
    logger: collectingLogger(notes),
  });
  const plRecorder = services.promptLayer.recorder;
  const blocks: Block[] = [];
  for (const example of selected) {
    const runs: RouteRun[] = [];
    const logsBefore = plRecorder?.promptLayer.logs().length ?? 0;
    for (const route of services.routes) {
      const callsBefore = route.recorder?.calls().length ?? 0;
      const resolvedBefore = seen.resolved.length;
      let error: unknown;
      try {
        await example.run({ tagalong, ...route });
      } catch (e) {
        error = e;
      }
      runs.push({
        route,
        resolved: seen.resolved.slice(resolvedBefore),
        calls: route.recorder?.calls().slice(callsBefore),
        error,
      });
    }
    // PromptLayer is written after the calls, in the background: wait for it before reading.
    await tagalong.flush();
    const run: FrameworkRun = {
      name: example.name,
      adapter: example.adapter,
      runs,
      logs: plRecorder?.promptLayer.logs().slice(logsBefore),
    };
    blocks.push(frameworkBlock(run));
  }
  await tagalong.shutdown();
  const stats = tagalong.stats().promptlayer;
  return { blocks, notes, stats };
}

const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS) || 120_000;

async function main(): Promise<number> {
  const keys = process.argv.slice(2);
  const unknown = keys.filter((k) => !EXAMPLES.some((e) => e.key === k));
  if (unknown.length) {
    console.error(
      `unknown example ${unknown.join(", ")}; choose from ${EXAMPLES.map((e) => e.key).join(", ")}`,
    );
    return 2;
  }
  const selected = keys.length ? EXAMPLES.filter((e) => keys.includes(e.key)) : EXAMPLES;
  const began = performance.now();

  let services: Services | undefined;
  const stop = async (code: number) => {
    await services?.close();
    process.exit(code);
  };
  process.once("SIGINT", () => stop(130)).once("SIGTERM", () => stop(143));
  // Loopback calls take milliseconds; a hosted service that never answers must not hang the demo.
  const watchdog = setTimeout(() => {
    console.error(`demo: gave up after ${TIMEOUT_MS / 1000} s`);
    void stop(1);
  }, TIMEOUT_MS);
  watchdog.unref();

  try {
    checkConfig();
    // The gateway starts in its own process while this one loads the examples.
    const [started, loaded] = await Promise.allSettled([
      startServices(),
      Promise.all(selected.map(async (e) => ({ ...e, run: await e.load() }))),
    ]);
    if (started.status === "fulfilled") services = started.value;
    else throw started.reason;
    if (loaded.status === "rejected") throw loaded.reason;
    const { blocks, notes, stats } = await runExamples(services, loaded.value);
    const problems = [...blocks.flatMap((b) => b.problems), ...notes.map((n) => `Tagalong ${n}`)];
    for (const rec of [...services.routes.map((r) => r.recorder), services.promptLayer.recorder]) {
      if (rec) problems.push(...rec.violations().map((v) => `vendor rule broken: ${v}`));
    }
    const failed = (stats?.failed ?? 0) + (stats?.dropped ?? 0);
    if (stats && failed > 0) {
      problems.push(`PromptLayer: ${stats.failed} deliveries failed, ${stats.dropped} dropped`);
    }
    const seconds = ((performance.now() - began) / 1000).toFixed(1);

    const out = [
      "Tagalong demo: one metadata model, three destinations, each in its own wire form.",
      "",
      ...blocks.flatMap((b) => [b.text, ""]),
      `  Portkey      ${services.routes.find((r) => r.via === "portkey")!.description}`,
      `  Requesty     ${services.routes.find((r) => r.via === "requesty")!.description}`,
      `  PromptLayer  ${services.promptLayer.description}`,
      "",
    ];
    const hosted = services.routes.some((r) => !r.recorder) || !services.promptLayer.recorder;
    if (problems.length === 0) {
      out.push(
        hosted
          ? `✓ Every call succeeded, and every local destination received what it carried (${seconds} s).`
          : `✓ Every destination received what each call carried, streamed and not (${seconds} s).`,
      );
    } else {
      out.push(`✗ ${problems.length} problem(s) (${seconds} s):`, ...problems.map((p) => `  - ${p}`));
    }
    console.log(out.join("\n"));
    return problems.length === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`demo: ${error.message}`);
      return 2;
    }
    console.error("demo failed:", error);
    return 1;
  } finally {
    await services?.close();
  }
}

process.exitCode = await main();
