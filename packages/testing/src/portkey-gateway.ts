import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";

/** A running open-source Portkey gateway (`@portkey-ai/gateway`), bound to 127.0.0.1 only. */
export interface PortkeyGateway {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `${url}/v1`, the `baseURL` for OpenAI-compatible clients. */
  readonly baseURL: string;
  readonly port: number;
  /** The gateway process id. */
  readonly pid: number;
  /** The `@portkey-ai/gateway` version running. */
  readonly version: string;
  /** What the gateway printed so far (stdout and stderr, the last 64 KB), for diagnosing a failure. */
  output(): string;
  /** Stop the gateway and wait until its process has exited. Idempotent. */
  close(): Promise<void>;
}

/** Options of `startGateway()`. */
export interface StartGatewayOptions {
  /** Port to listen on (default: a free port found by binding 127.0.0.1:0). */
  port?: number;
  /** How long to wait for the gateway to answer (default 20 s). */
  timeoutMs?: number;
  /** Extra environment variables for the gateway process. */
  env?: Record<string, string>;
  /** Path to `@portkey-ai/gateway`'s `build/start-server.js` (default: resolved from this package). */
  entry?: string;
}

const HOST = "127.0.0.1";
const GREETING = "AI Gateway says hey!";
const OUTPUT_LIMIT = 64 * 1024;

// Loaded into the gateway with `--import`. The gateway has no host flag and listens on every interface, so
// every listen() is pinned to 127.0.0.1. It also exits when its stdin (a pipe from us) closes: if the
// process that started it dies in any way, even SIGKILL, the gateway goes with it.
const PRELOAD = `
import net from "node:net";
const HOST = ${JSON.stringify(HOST)};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (args.length === 0 || typeof first === "function") args.unshift(0, HOST);
  else if (typeof first === "number" || (typeof first === "string" && /^\\d+$/.test(first))) {
    if (typeof args[1] === "string" || (args.length > 1 && args[1] == null)) args[1] = HOST;
    else args.splice(1, 0, HOST);
  } else if (first !== null && typeof first === "object" && first.path === undefined && first.fd === undefined && first._handle === undefined) {
    args[0] = { ...first, host: HOST };
  }
  return listen.apply(this, args);
};
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
`;

// Variables that would send the gateway's upstream calls elsewhere or make it reach for outside services.
const SCRUBBED_ENV = [
  "NODE_OPTIONS",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "http_proxy",
  "https_proxy",
  "TRUSTED_CUSTOM_HOSTS",
  "REDIS_CONNECTION_STRING",
  "PORT",
];

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function resolveEntry(): string {
  try {
    return createRequire(import.meta.url).resolve("@portkey-ai/gateway/build/start-server.js");
  } catch (cause) {
    throw new Error(
      "startGateway: @portkey-ai/gateway is not installed (add it as a devDependency, 1.15.x, and pin " +
        '"@portkey-ai/gateway>@hono/node-server" to 1.13.5 so streaming works)',
      { cause },
    );
  }
}

/** The version in the package.json above `build/start-server.js`. */
function gatewayVersion(entry: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8"));
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function launch(entry: string, port: number, options: StartGatewayOptions): Promise<PortkeyGateway> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const key of SCRUBBED_ENV) if (!options.env || !(key in options.env)) delete env[key];
  const preload = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;
  const child = spawn(process.execPath, ["--import", preload, entry, `--port=${port}`, "--headless"], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
    windowsHide: true,
  });
  running.add(child);
  killAllOnExit();

  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  child.stdin!.on("error", () => {});
  let exited = false;
  child.once("exit", () => {
    exited = true;
    running.delete(child);
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (exited) return;
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 3000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 3000);
      }
    })());

  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let failure: Error | undefined;
  spawnError.then((e) => (failure = e));
  for (;;) {
    if (failure || exited) {
      await close();
      const reason = failure?.message ?? `exited with ${child.exitCode ?? child.signalCode}`;
      throw Object.assign(new Error(`startGateway: the gateway ${reason} before answering\n${output}`), {
        output,
      });
    }
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      if ((await res.text()) === GREETING) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(
        `startGateway: no answer on ${url} within ${options.timeoutMs ?? 20_000} ms\n${output}`,
      );
    }
    await sleep(50);
  }

  return {
    url,
    baseURL: `${url}/v1`,
    port,
    pid: child.pid!,
    version: gatewayVersion(entry),
    output: () => output,
    close,
  };
}

/**
 * Starts the open-source Portkey gateway as a child process on 127.0.0.1 and resolves once it answers.
 * Always `await gateway.close()` (it is also killed when this process exits).
 */
export async function startGateway(options: StartGatewayOptions = {}): Promise<PortkeyGateway> {
  const entry = options.entry ?? resolveEntry();
  if (options.port !== undefined) return launch(entry, options.port, options);
  // A free port can be taken between finding it and the gateway binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(entry, await freePort(), options);
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes("EADDRINUSE")) throw error;
    }
  }
}

/** Headers that route a request through the gateway to an OpenAI-compatible upstream, e.g. the recorder. */
export function gatewayRoute(upstreamBaseURL: string, provider = "openai"): Record<string, string> {
  return { "x-portkey-provider": provider, "x-portkey-custom-host": upstreamBaseURL };
}
