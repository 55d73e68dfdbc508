// The README's first command: `npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 demo`.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const demoDir = fileURLToPath(new URL("..", import.meta.url));
const rootDir = fileURLToPath(new URL("../../..", import.meta.url));
const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const KEYS = ["OPENAI_API_KEY", "PORTKEY_API_KEY", "REQUESTY_API_KEY", "PROMPTLAYER_API_KEY"];

/**
 * Processes still carrying `marker` in their environment (the demo passes its environment on to the
 * gateway it starts), with their command lines. Linux only.
 */
function processesWith(marker: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) continue;
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "latin1"))) continue;
      out.push(readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " "));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return out;
}
const canSeeProcesses = existsSync("/proc/self/environ");

/** What is still running with `marker` once the processes have had a moment (2 s) to go. */
async function leftOverWith(marker: string): Promise<string[]> {
  if (!canSeeProcesses) return [];
  const deadline = Date.now() + 2000;
  let left = processesWith(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = processesWith(marker);
  }
  return left;
}

/** Runs what `pnpm demo` runs (`tsx src/demo.ts` in this package), with only `env` as API keys. */
function runDemo(args: string[] = [], env: Record<string, string> = {}) {
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  const marker = `TAGALONG_DEMO_RUN=${randomUUID()}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, TAGALONG_DEMO_RUN: marker.split("=")[1] };
  for (const key of KEYS) if (!(key in env)) delete childEnv[key];
  const child = spawn(process.execPath, [tsx, "src/demo.ts", ...args], { cwd: demoDir, env: childEnv });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; leftOver: string[] }>(
    (resolve) =>
      child.once("close", async (code) =>
        resolve({ code, stdout, stderr, leftOver: await leftOverWith(marker) }),
      ),
  );
  return Object.assign(done, { child, marker });
}

describe("the demo", () => {
  it("is what `pnpm demo` runs", () => {
    expect(json(`${rootDir}/package.json`).scripts.demo).toBe("pnpm --filter @tagalong-examples/demo start");
    expect(json(`${demoDir}/package.json`).scripts.start).toBe("tsx src/demo.ts");
  });

  it("runs every example through every destination offline and exits 0 with the table", async () => {
    const { code, stdout, stderr, leftOver } = await runDemo();
    expect({ code, stderr, leftOver }).toEqual({ code: 0, stderr: "", leftOver: [] });
    for (const framework of ["OpenAI client", "AI SDK", "LangChain"]) {
      expect(stdout).toMatch(new RegExp(`^✓ ${framework}`, "m"));
    }
    // Each example's user, on one row, as every column (yours, Portkey, Requesty, PromptLayer) received it.
    for (const user of ["Zoë 😀", "ana@example.com", "u_42"]) {
      const row = stdout
        .split("\n")
        .find((line) => line.trimStart().startsWith(`user `) && line.includes(user));
      expect(row?.split(user).length, `a row with ${user} in four columns`).toBe(5);
    }
    expect(stdout).toMatch(/the real Portkey gateway 1\.15\.\d+ \(127\.0\.0\.1:\d+\)/);
    expect(stdout).toMatch(/^✓ Every destination received what each call carried/m);
    expect(stdout).not.toContain("✗");
  });

  it("runs one example alone", async () => {
    const { code, stdout } = await runDemo(["ai-sdk"]);
    expect(code).toBe(0);
    expect(stdout).toContain("AI SDK");
    expect(stdout).not.toContain("LangChain");
  });

  it("refuses a half-configured hosted Portkey before starting anything, and exits non-zero", async () => {
    const { code, stdout, stderr } = await runDemo([], { PORTKEY_API_KEY: "pk-test" });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("OPENAI_API_KEY");
  });

  it.skipIf(!canSeeProcesses)("stops the gateway it started when it is stopped itself", async () => {
    const run = runDemo();
    // Once the gateway is up (its command line names the gateway's entry), stop the demo.
    const deadline = Date.now() + 60_000;
    while (!processesWith(run.marker).some((p) => p.includes("start-server.js")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill("SIGTERM");
    const { code, leftOver } = await run;
    expect({ code, leftOver }).toEqual({ code: 143, leftOver: [] });
  });

  it("gives up after DEMO_TIMEOUT_MS, exits 1 and leaves nothing running", async () => {
    const { code, stderr, leftOver } = await runDemo([], { DEMO_TIMEOUT_MS: "1" });
    expect({ code, leftOver }).toEqual({ code: 1, leftOver: [] });
    expect(stderr).toContain("demo: gave up after");
  });
});
