// Production sends to https://api.promptlayer.com: deliveries go through Node's https client with a
// keep-alive agent. Here against an HTTPS stand-in on loopback whose certificate (a test-only
// self-signed one in fixtures/tls, for localhost and 127.0.0.1) the child process trusts through
// NODE_EXTRA_CA_CERTS, as a user behind their own CA would: what arrives, over how many connections,
// and what an untrusted certificate does.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const KEY = "pl_tls_key_0123456789";
const tls = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));
const child = fileURLToPath(new URL("./fixtures/https-child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

interface Received {
  path: string;
  apiKey: string | undefined;
  body: Record<string, unknown>;
}

let server: Server;
let url: string;
const received: Received[] = [];
let connections = 0;

beforeAll(async () => {
  server = createServer(
    { key: readFileSync(tls("key.pem")), cert: readFileSync(tls("cert.pem")) },
    (req, res) => {
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (chunk) => (text += chunk));
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          apiKey: req.headers["x-api-key"] as string | undefined,
          body: JSON.parse(text) as Record<string, unknown>,
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ success: true, id: received.length }));
      });
    },
  );
  server.on("secureConnection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function runChild(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", child], {
      cwd: repoRoot,
      env: { ...process.env, TAGALONG_LOG_LEVEL: "warn", PL_KEY: KEY, PL_URL: url, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (err += d));
    proc.on("error", reject);
    proc.on("close", (code) => resolve({ code, out, err }));
  });
}

describe("delivery over HTTPS", { timeout: 30_000 }, () => {
  it("logs each call with its key and metadata, reusing one TLS connection across flushes", async () => {
    received.length = 0;
    connections = 0;
    const run = await runChild({ NODE_EXTRA_CA_CERTS: tls("cert.pem") });
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out.trim()) as { stats: Record<string, number>; errors: string[] };
    expect(report.errors).toEqual([]);
    expect(report.stats).toMatchObject({ sent: 2, failed: 0, dropped: 0, queued: 0 });
    expect(received.map((r) => [r.path, r.apiKey])).toEqual([
      ["/log-request", KEY],
      ["/log-request", KEY],
    ]);
    expect(received.map((r) => r.body.metadata)).toEqual([{ user_id: "u_1" }, { user_id: "u_2" }]);
    expect(received.map((r) => r.body.tags)).toEqual([["tls"], ["tls"]]);
    // The keep-alive agent kept the first connection for the second flush's request.
    expect(connections).toBe(1);
  });

  it("an untrusted certificate sends nothing and reports each call with the certificate's error", async () => {
    received.length = 0;
    const run = await runChild({ NODE_EXTRA_CA_CERTS: undefined });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out.trim()) as { stats: Record<string, number>; errors: string[] };
    expect(received).toEqual([]);
    expect(report.stats).toMatchObject({ sent: 0, failed: 2, queued: 0 });
    expect(report.errors).toHaveLength(2);
    for (const message of report.errors) {
      expect(message).toMatch(
        /log-request to https:\/\/localhost:\d+\/log-request failed with network error/,
      );
      expect(message).toMatch(/SELF_SIGNED|self-signed/i);
      expect(message).not.toContain(KEY);
    }
  });
});
