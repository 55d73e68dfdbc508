import type { Logger } from "./types";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

function envLevel(): LogLevel {
  // No `node:` import: read the environment only where the runtime has one.
  const raw = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.TAGALONG_LOG_LEVEL;
  return raw && raw in LEVELS ? (raw as LogLevel) : "warn";
}

/** A console logger; quiet but for warnings and errors unless TAGALONG_LOG_LEVEL says otherwise. */
export function consoleLogger(level: LogLevel = envLevel()): Logger {
  const min = LEVELS[level];
  const at =
    (lvl: Exclude<LogLevel, "silent">, write: (...args: unknown[]) => void) =>
    (message: string, data?: unknown) => {
      if (LEVELS[lvl] < min) return;
      if (data === undefined) write(`[tagalong] ${message}`);
      else write(`[tagalong] ${message}`, data);
    };
  return {
    debug: at("debug", console.debug),
    info: at("info", console.info),
    warn: at("warn", console.warn),
    error: at("error", console.error),
  };
}
