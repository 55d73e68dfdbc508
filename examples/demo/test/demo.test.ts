// The README's first command: `npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 demo`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const demoDir = fileURLToPath(new URL("..", import.meta.url));
const rootDir = fileURLToPath(new URL("../../..", import.meta.url));
const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const KEYS = ["OPENAI_API_KEY", "PORTKEY_API_KEY", "REQUESTY_API_KEY", "PROMPTLAYER_API_KEY"];

/** Runs what `pnpm demo` runs (`tsx src/demo.ts` in this package), with only `env` as API keys. */
function runDemo(args: string[] = [], env: Record<string, string> = {}) {
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const key of KEYS) if (!(key in env)) delete childEnv[key];
  const child = spawn(process.execPath, [tsx, "src/demo.ts", ...args], { cwd: demoDir, env: childEnv });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr })),
  );
}

describe("the demo", () => {
  it("is what `pnpm demo` runs", () => {
    expect(json(`${rootDir}/package.json`).scripts.demo).toBe("pnpm --filter @tagalong-examples/demo start");
    expect(json(`${demoDir}/package.json`).scripts.start).toBe("tsx src/demo.ts");
  });

  it("runs every example through every destination offline and exits 0 with the table", async () => {
    const { code, stdout, stderr } = await runDemo();
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
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
});
