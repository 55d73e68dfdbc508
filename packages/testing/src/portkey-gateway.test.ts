import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect, createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecorder } from "./index";
import { gatewayRoute, type PortkeyGateway, startGateway } from "./portkey-gateway";
import type { Recorder } from "./types";

// A zombie (exited, not yet reaped by an init that may never reap it) counts as gone.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !existsSync(stat) || !/^\d+ \(.*\) Z/.test(readFileSync(stat, "utf8"));
};

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** Local addresses of the listening TCP sockets on `port`, from /proc/net/tcp{,6} (hex, as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === "0A" && local?.endsWith(`:${hexPort}`)) out.push(local.slice(0, -5));
    }
  }
  return out;
}

const otherAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

describe("startGateway", () => {
  let rec: Recorder;
  let gateway: PortkeyGateway;
  beforeAll(async () => {
    rec = await createRecorder();
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway?.close();
    await rec?.close();
  });

  it("reports the gateway's version", () => {
    const pkg = createRequire(import.meta.url)("@portkey-ai/gateway/package.json");
    expect(gateway.version).toBe(pkg.version);
    expect(gateway.version).toMatch(/^1\.15\./);
  });

  it.skipIf(!existsSync("/proc/net/tcp"))("listens on 127.0.0.1 and nowhere else", () => {
    expect(listeningAddresses(gateway.port)).toEqual(["0100007F"]);
  });

  it.skipIf(!otherAddress)("refuses connections on the machine's other addresses", async () => {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connect(gateway.port, otherAddress!);
      socket.once("connect", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once("error", resolve);
    });
    expect(error?.code).toBe("ECONNREFUSED");
  });

  const chat = (headers: Record<string, string>, stream = false) =>
    fetch(`${gateway.baseURL}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer sk-test",
        ...gatewayRoute(rec.openaiBaseURL),
        ...headers,
      },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream }),
    });

  it("routes to a loopback upstream and forwards x-portkey-metadata only when asked", async () => {
    await rec.reset();
    const metadata = '{"_user":"Zo\\u00eb \\ud83d\\ude00"}';
    const asked = await chat({
      "x-portkey-metadata": metadata,
      "x-portkey-forward-headers": "x-portkey-metadata",
    });
    expect(asked.status).toBe(200);
    expect((await asked.json()).choices[0].message.content).toBeTypeOf("string");
    const unasked = await chat({ "x-portkey-metadata": metadata });
    expect(unasked.status).toBe(200);
    await unasked.text();

    const [first, second] = rec.calls();
    expect(first?.portkey.rawHeader).toBe(metadata);
    expect(first?.portkey.metadata).toEqual({ _user: "Zoë 😀" });
    expect(second?.portkey.rawHeader).toBeUndefined();
    expect(rec.violations()).toEqual([]);
  });

  it("streams (the pinned @hono/node-server)", async () => {
    await rec.reset();
    const res = await chat({}, true);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).toContain('"chat.completion.chunk"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(rec.calls()[0]?.stream).toBe(true);
  });

  it("close() waits for the process to exit and can be called again", async () => {
    const own = await startGateway();
    expect(alive(own.pid)).toBe(true);
    await own.close();
    expect(alive(own.pid)).toBe(false);
    await expect(own.close()).resolves.toBeUndefined();
    await expect(fetch(own.url)).rejects.toThrow();
  });

  it("names the cause when the gateway cannot start", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startGateway({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it("goes down with the process that started it, even when that process is SIGKILLed", async () => {
    // Node itself with tsx's loader (tsx's CLI would put a wrapper process in between).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href;
    const script = `
      import { startGateway } from ${JSON.stringify(new URL("./portkey-gateway.ts", import.meta.url).pathname)};
      const g = await startGateway();
      console.log(JSON.stringify({ pid: g.pid }));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = "";
      parent.stdout!.on("data", (chunk) => {
        out += chunk;
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line).pid);
      });
      parent.once("exit", (code) => reject(new Error(`the parent exited with ${code}: ${out}`)));
    });
    try {
      expect(alive(pid)).toBe(true);
      parent.kill("SIGKILL");
      expect(await until(() => !alive(pid))).toBe(true);
    } finally {
      parent.kill("SIGKILL");
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }, 20_000);
});
