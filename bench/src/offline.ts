// Keeps the benchmark off the internet: every vendor SDK is pointed at loopback explicitly, their
// environment variables are cleared, and any DNS lookup of a name other than localhost fails (and is
// reported), so an endpoint we missed shows up as a failure instead of traffic. Imported first by
// main.ts, so it applies before any SDK module is loaded.
import dns from "node:dns";

const blocked = new Set<string>();
const LOCAL = new Set(["localhost", "127.0.0.1", "::1"]);

function keepOffline(): void {
  for (const key of Object.keys(process.env)) {
    if (/^(LANGSMITH|LANGCHAIN|PROMPTLAYER|PORTKEY|OPENAI|OTEL)_/.test(key)) delete process.env[key];
  }
  process.env.LANGSMITH_TRACING = "false";
  process.env.LANGCHAIN_TRACING_V2 = "false";
  process.env.DO_NOT_TRACK = "1";
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

  const lookup = dns.lookup;
  const refuse = (hostname: string): NodeJS.ErrnoException => {
    blocked.add(hostname);
    return Object.assign(new Error(`bench: blocked DNS lookup of ${hostname} (loopback only)`), {
      code: "ENOTFOUND",
    });
  };
  dns.lookup = ((hostname: string, ...rest: unknown[]) => {
    if (LOCAL.has(hostname)) return (lookup as (...a: unknown[]) => unknown)(hostname, ...rest);
    const callback = rest.at(-1) as (e: Error) => void;
    process.nextTick(callback, refuse(hostname));
  }) as typeof dns.lookup;
  const lookupAsync = dns.promises.lookup;
  dns.promises.lookup = ((hostname: string, ...rest: unknown[]) =>
    LOCAL.has(hostname)
      ? (lookupAsync as (...a: unknown[]) => unknown)(hostname, ...rest)
      : Promise.reject(refuse(hostname))) as typeof dns.promises.lookup;
}

keepOffline();

/** Host names something tried to reach (should stay empty). */
export const blockedHosts = (): string[] => [...blocked];
