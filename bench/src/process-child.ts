// One variant of an adapter's overhead comparison, alone in a fresh process (section 7): warms it up,
// times its calls with process.cpuUsage(), and prints the CPU per call as JSON on its last line.
//   node --conditions=tagalong-dist --import tsx src/process-child.ts <adapter> <variant> <plain|stream> <replies.json> <calls> <warmup>
import "./offline";
import { readFileSync } from "node:fs";
import { ADAPTERS, type Endpoint } from "./adapters";
import { type CannedReplies, cannedFetch } from "./fixtures";

async function main(): Promise<void> {
  const [adapter, name, mode, repliesFile, callsArg, warmupArg] = process.argv.slice(2);
  const build = ADAPTERS.find((a) => a.key === adapter)?.variants;
  if (!build || !name || !repliesFile)
    throw new Error(`process-child: bad arguments ${process.argv.slice(2)}`);
  const canned = JSON.parse(readFileSync(repliesFile, "utf8")) as CannedReplies;
  // The base URL is never dialled: the canned fetch answers first.
  const endpoint: Endpoint = { baseURL: "http://127.0.0.1:9/v1", fetch: cannedFetch(canned) };
  const variant = build(endpoint, mode === "stream").find((v) => v.name === name);
  if (!variant) throw new Error(`process-child: no variant ${name} for ${adapter}`);
  const calls = Number(callsArg);
  const warmup = Number(warmupArg);
  for (let i = 0; i < warmup; i++) await variant.call(i);
  await variant.drain?.();
  const since = process.cpuUsage();
  for (let i = 0; i < calls; i++) await variant.call(warmup + i);
  await variant.drain?.();
  const used = process.cpuUsage(since);
  console.log(JSON.stringify({ cpuUsPerCall: (used.user + used.system) / calls }));
}

await main();
