import type { Logger } from "./types";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
/** A logger's threshold: `debug` shows everything, `silent` nothing. */
export type LogLevel = keyof typeof LEVELS;

// No `node:` import: read the environment only where the runtime has one.
function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

// DEBUG as the `debug` package reads it: names separated by commas or spaces, `*` as a wildcard, a
// leading `-` to exclude. Parsed again only when the variable changes; answers are memoised per topic.
let parsedFrom: string | undefined;
let include: RegExp[] = [];
let exclude: RegExp[] = [];
let answers = new Map<string, boolean>();

function debugPatterns(): void {
  const raw = env("DEBUG") ?? "";
  if (raw === parsedFrom) return;
  parsedFrom = raw;
  include = [];
  exclude = [];
  answers = new Map();
  for (const name of raw.split(/[\s,]+/).filter(Boolean)) {
    const negated = name.startsWith("-");
    const body = (negated ? name.slice(1) : name).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*?");
    (negated ? exclude : include).push(new RegExp(`^${body}$`));
  }
}

/** Whether `DEBUG` names `tagalong:<topic>` (by `tagalong`, `tagalong:*`, `tagalong:<topic>`, `*`...). */
function debugNames(topic: string): boolean {
  debugPatterns();
  let answer = answers.get(topic);
  if (answer === undefined) {
    const names = [`tagalong:${topic}`, "tagalong"];
    const matches = (res: RegExp[], name: string) => res.some((re) => re.test(name));
    answer = names.some((name) => matches(include, name) && !matches(exclude, name));
    if (matches(exclude, `tagalong:${topic}`)) answer = false;
    answers.set(topic, answer);
  }
  return answer;
}

/** Whether `DEBUG` names some `tagalong` topic. */
function debugNamesAny(): boolean {
  debugPatterns();
  return include.some((re) => re.source.startsWith("^tagalong") || re.source.startsWith("^.*?"));
}

// The TAGALONG_LOG_LEVEL value last said not to be a level: said once per value, not per logger.
let refusedLevel: string | undefined;

/** `TAGALONG_LOG_LEVEL` as a level, in any case; a value that is none is said once on the console. */
function envLevel(): LogLevel | undefined {
  const raw = env("TAGALONG_LOG_LEVEL")?.trim();
  if (!raw) return undefined;
  const level = raw.toLowerCase();
  if (Object.hasOwn(LEVELS, level)) return level as LogLevel;
  if (raw !== refusedLevel) {
    refusedLevel = raw;
    console.warn(
      `[tagalong] TAGALONG_LOG_LEVEL=${JSON.stringify(raw)} is not a level (${Object.keys(LEVELS).join(", ")}): it is ignored`,
    );
  }
  return undefined;
}

// The console loggers made at level debug: every topic is on for them, whatever DEBUG says.
const debugAll = new WeakSet<Logger>();

/**
 * Whether debug lines on `topic` are wanted for `logger`: with `TAGALONG_LOG_LEVEL=debug`, with `DEBUG`
 * naming `tagalong`, `tagalong:*` or `tagalong:<topic>` (the `debug` package's syntax, `-` excludes),
 * or for a `consoleLogger("debug")`. Topics: `call` (each call's resolved metadata), a destination's
 * name (`portkey`, `requesty`, `promptlayer`...: what it added to a call, its deliveries), `delivery`
 * (every destination's deliveries). Your own logger gets the lines the environment asks for.
 */
export function debugEnabled(logger: Logger, topic: string): boolean {
  return debugAll.has(logger) || envLevel() === "debug" || debugNames(topic);
}

/**
 * A console logger. Its level is `level`, else `TAGALONG_LOG_LEVEL`, else `debug` when `DEBUG` names any
 * `tagalong` topic (debug lines are made only for the topics it names), else `warn`.
 * @example
 * createTagalong({ destinations: [portkey()], logger: consoleLogger("debug") });
 */
export function consoleLogger(level?: LogLevel): Logger {
  const chosen = level ?? envLevel();
  const min = LEVELS[chosen ?? (debugNamesAny() ? "debug" : "warn")];
  const at =
    (lvl: Exclude<LogLevel, "silent">, write: (...args: unknown[]) => void) =>
    (message: string, data?: unknown) => {
      if (LEVELS[lvl] < min) return;
      if (data === undefined) write(`[tagalong] ${message}`);
      else write(`[tagalong] ${message}`, data);
    };
  const logger: Logger = {
    debug: at("debug", console.debug),
    info: at("info", console.info),
    warn: at("warn", console.warn),
    error: at("error", console.error),
  };
  if (chosen === "debug") debugAll.add(logger);
  return logger;
}
