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

/**
 * A request under way, as its sender leaves it: `abort()` ends it and its promise rejects. Set by the
 * sender before it returns. Not an AbortSignal: on Node's http client, a signal per request costs
 * listeners and a controller for a timeout that almost never fires.
 */
export interface Cancel {
  abort?: () => void;
}

/** Sends one JSON POST; rejects on a network error or when `cancel.abort()` is called. */
export type Send = (
  url: string,
  headers: Record<string, string>,
  body: string,
  cancel: Cancel,
) => Promise<Answer>;

export function fetchSend(fetchFn: typeof fetch): Send {
  return async (url, headers, body, cancel) => {
    const controller = new AbortController();
    cancel.abort = () => controller.abort();
    const target = credentialsAsHeader(url, headers);
    // A redirect is an answer, as on Node's client: followed, a 301/302 would turn the POST into a GET.
    const res = await fetchFn(target.url, {
      method: "POST",
      headers: target.headers,
      body,
      redirect: "manual",
      signal: controller.signal,
    });
    const text = await res.text();
    return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
  };
}

/**
 * fetch refuses a URL with credentials in it (`https://user:pass@host`: "Request cannot be constructed
 * from a URL that includes credentials"), and Node's client sends them as Basic auth. As there, they
 * leave the URL for an Authorization header, unless the request has one of its own.
 */
function credentialsAsHeader(
  url: string,
  headers: Record<string, string>,
): { url: string; headers: Record<string, string> } {
  if (!url.includes("@")) return { url, headers };
  const parsed = new URL(url);
  const auth = userinfo(parsed);
  if (auth === undefined) return { url, headers };
  parsed.username = "";
  parsed.password = "";
  const own = Object.keys(headers).some((name) => name.toLowerCase() === "authorization");
  return {
    url: parsed.href,
    headers: own ? headers : { ...headers, authorization: `Basic ${base64(auth)}` },
  };
}

/** A URL's credentials, decoded, as `user:password` (what Node's client takes as `auth`); undefined when it has none. */
function userinfo(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
}

/** Base64 of the text's UTF-8 bytes, as Node's client encodes `auth`. */
function base64(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

interface NodeIncoming {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: string): void;
  on(event: "data", fn: (chunk: string) => void): void;
  on(event: "end" | "aborted" | "close", fn: () => void): void;
  on(event: "error", fn: (error: Error) => void): void;
}
interface NodeRequest {
  on(event: "error", fn: (error: Error) => void): void;
  on(event: "socket", fn: (socket: { unref?: () => void }) => void): void;
  end(body: string): void;
  destroy(error?: Error): void;
}
interface NodeHttp {
  Agent: new (options: { keepAlive: boolean }) => unknown;
  request(
    options: {
      protocol: string;
      hostname: string;
      port: string;
      path: string;
      auth?: string;
      method: string;
      headers: Record<string, string | number>;
      agent: unknown;
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
  Buffer?: { byteLength(text: string): number };
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
  const buffer = (globalThis as Runtime).Buffer;
  const length = buffer ? (text: string) => buffer.byteLength(text) : byteLength;
  // A destination posts to a few URLs, over and over: each is parsed once.
  const targets = new Map<string, Target>();
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (target === undefined) {
      const parsed = new URL(url);
      const mod = parsed.protocol === "https:" ? mods.https : mods.http;
      const agent = agents[parsed.protocol as keyof typeof agents];
      if (!agent) throw new TypeError(`unsupported protocol ${parsed.protocol}`);
      const auth = userinfo(parsed);
      target = {
        mod,
        options: {
          protocol: parsed.protocol,
          // `[::1]` as a hostname is `::1` to the http client.
          hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: parsed.port,
          path: `${parsed.pathname}${parsed.search}`,
          ...(auth === undefined ? {} : { auth }),
          agent,
        },
      };
      if (targets.size >= 64) targets.clear();
      targets.set(url, target);
    }
    return target;
  };
  return (url, headers, body, cancel) =>
    new Promise<Answer>((resolve, reject) => {
      const { mod, options } = targetOf(url);
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = mod.request(
        { ...options, method: "POST", headers: { ...headers, "content-length": length(body) } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("error", fail);
          res.on("aborted", () => fail(new Error("the connection closed before the answer ended")));
          res.on("end", () => {
            if (settled) return;
            settled = true;
            const retryAfter = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              text,
              retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            });
          });
          res.on("close", () => fail(new Error("the connection closed before the answer ended")));
        },
      );
      req.on("error", fail);
      // A request under way does not hold the process open by itself: at a normal exit the queue's
      // exit drain keeps it alive, for at most exitTimeoutMs (the agent refs a socket it reuses).
      req.on("socket", (socket) => socket.unref?.());
      cancel.abort = () => {
        const error = new Error("the request was aborted");
        error.name = "AbortError";
        fail(error);
        req.destroy(error);
      };
      req.end(body);
    });
}

interface Target {
  mod: NodeHttp;
  options: { protocol: string; hostname: string; port: string; path: string; auth?: string; agent: unknown };
}

const encoder = new TextEncoder();
/** UTF-8 length of a string, without encoding it when it is ASCII. */
function byteLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}
