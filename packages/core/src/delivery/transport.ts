// How a request leaves: Node's own http client where the runtime is Node (found without importing any
// `node:` module, the way the scope store finds AsyncLocalStorage), else fetch. Node's http costs a
// third or less of fetch's CPU per request, which is most of a delivery's cost on the caller's thread.
// Both keep connections alive and reuse them per origin.

/** What one request got back. */
export interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** Sends one JSON POST; rejects on a network error or when `signal` aborts. */
export type Send = (
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
) => Promise<Answer>;

export function fetchSend(fetchFn: typeof fetch): Send {
  return async (url, headers, body, signal) => {
    const res = await fetchFn(url, { method: "POST", headers, body, signal });
    const text = await res.text();
    return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
  };
}

interface NodeIncoming {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: string): void;
  on(event: "data", fn: (chunk: string) => void): void;
  on(event: "end" | "aborted", fn: () => void): void;
  on(event: "error", fn: (error: Error) => void): void;
}
interface NodeRequest {
  on(event: "error", fn: (error: Error) => void): void;
  end(body: string): void;
}
interface NodeHttp {
  Agent: new (options: { keepAlive: boolean }) => unknown;
  request(
    url: URL,
    options: {
      method: string;
      headers: Record<string, string | number>;
      agent: unknown;
      signal: AbortSignal;
    },
    onResponse: (res: NodeIncoming) => void,
  ): NodeRequest;
}

type Runtime = typeof globalThis & {
  process?: {
    release?: { name?: string };
    versions?: Record<string, string | undefined>;
    getBuiltinModule?: (id: string) => unknown;
  };
  navigator?: { userAgent?: string };
  EdgeRuntime?: unknown;
};

/** Node's http and https modules when this is Node itself (not Bun, Deno, Workers or an edge VM). */
function nodeHttp(): { http: NodeHttp; https: NodeHttp } | undefined {
  const g = globalThis as Runtime;
  const proc = g.process;
  if (proc?.release?.name !== "node" || typeof proc.versions?.node !== "string") return undefined;
  if (proc.versions.bun !== undefined || proc.versions.deno !== undefined || g.EdgeRuntime !== undefined)
    return undefined;
  const agent = g.navigator?.userAgent;
  if (agent !== undefined && !agent.startsWith("Node.js")) return undefined;
  try {
    const http = proc.getBuiltinModule?.("node:http") as NodeHttp | undefined;
    const https = proc.getBuiltinModule?.("node:https") as NodeHttp | undefined;
    return http?.request && https?.request ? { http, https } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node's http client with keep-alive agents (no cap on sockets: the scheduler bounds what is in flight,
 * and a delivery handed to a wait-until hook must not queue behind another); undefined off Node.
 */
export function nodeSend(): Send | undefined {
  const mods = nodeHttp();
  if (!mods) return undefined;
  const agents = {
    "http:": new mods.http.Agent({ keepAlive: true }),
    "https:": new mods.https.Agent({ keepAlive: true }),
  };
  return (url, headers, body, signal) =>
    new Promise<Answer>((resolve, reject) => {
      const target = new URL(url);
      const mod = target.protocol === "https:" ? mods.https : mods.http;
      const agent = agents[target.protocol as keyof typeof agents];
      if (!agent) return reject(new TypeError(`unsupported protocol ${target.protocol}`));
      const req = mod.request(
        target,
        {
          method: "POST",
          headers: { ...headers, "content-length": byteLength(body) },
          agent,
          signal,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("error", reject);
          res.on("aborted", () => reject(new Error("the connection closed before the answer ended")));
          res.on("end", () => {
            const retryAfter = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              text,
              retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

const encoder = new TextEncoder();
/** UTF-8 length of a string, without encoding it when it is ASCII. */
function byteLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}
