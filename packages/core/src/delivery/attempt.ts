// One HTTP attempt: a JSON POST with a timeout, its answer sorted into delivered, worth retrying, or
// refused for good. Errors carry a sanitized summary, never the runtime's error object (whose cause
// chain can hold request headers, and with them an API key).
import { unref } from "../adapter-kit/timer";
import type { Cancel, Send } from "./transport";

export type Attempt =
  | { ok: true; status: number; body: unknown }
  | {
      ok: false;
      /** HTTP status, when the service answered. */
      status?: number;
      /** What went wrong, in words: "HTTP 503 (...)", "network error (fetch failed: ECONNREFUSED)". */
      reason: string;
      retryable: boolean;
      retryAfterMs?: number;
    };

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Network errors, timeouts, 408, 429 and 5xx are worth retrying; any other 4xx is not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Reads a service's failure answer (its body as text) into words, e.g. a JSON field the service
 * puts its complaint in; undefined leaves it to the generic reading. A destination supplies its own.
 */
export type FailureReader = (text: string) => string | undefined;

/**
 * The generic reading of a failure answer: a JSON body's `message`, `error.message`, `error` or
 * `detail` when it is a string (the usual conventions), else the text as it came.
 */
function readFailure(text: string): string {
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: unknown; detail?: unknown };
    const error = json?.error as { message?: unknown } | undefined;
    for (const said of [json?.message, error?.message, error, json?.detail]) {
      if (typeof said === "string") return said;
    }
  } catch {
    // Not JSON: the text as it came.
  }
  return text;
}

/** The server's own words on a failure, whitespace-folded and short: `read`'s, else the generic ones. */
function describeAnswer(text: string, read: FailureReader | undefined): string {
  let said = read?.(text) ?? readFailure(text);
  said = said.replace(/\s+/g, " ").trim();
  return said.length > 300 ? `${said.slice(0, 300)}...` : said;
}

/** A network error in words: the message and the codes of its cause chain (ECONNREFUSED, ...). */
function describeNetworkError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const codes: string[] = [];
  let cause: unknown = error;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && !codes.includes(code)) codes.push(code);
    cause = (cause as { cause?: unknown }).cause;
  }
  return `network error (${message}${codes.length ? `: ${codes.join(", ")}` : ""})`;
}

/**
 * POSTs once through `send`. `track` is told of the attempt's request (so a shutdown can cut it) and
 * returns the function that forgets it; `read` is the destination's reading of a failure
 * answer (see FailureReader).
 */
export async function attempt(
  send: Send,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  track: (request: Cancel) => () => void,
  read?: FailureReader,
): Promise<Attempt> {
  const request: Cancel = {};
  let timedOut = false;
  const timer = unref(
    setTimeout(() => {
      timedOut = true;
      request.abort?.();
    }, timeoutMs),
  );
  const untrack = track(request);
  try {
    const { status, text, retryAfter } = await send(url, headers, body, request);
    if (status >= 200 && status < 300) {
      let parsed: unknown;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { ok: true, status, body: parsed };
    }
    const said = describeAnswer(text, read);
    return {
      ok: false,
      status,
      reason: `HTTP ${status}${said ? ` (${said})` : ""}`,
      retryable: isRetryableStatus(status),
      retryAfterMs: parseRetryAfter(retryAfter),
    };
  } catch (error) {
    if (timedOut) return { ok: false, reason: `timed out after ${timeoutMs} ms`, retryable: true };
    return { ok: false, reason: describeNetworkError(error), retryable: true };
  } finally {
    clearTimeout(timer);
    untrack();
  }
}
