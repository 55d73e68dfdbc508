import { scrubSecrets } from "../redact";
import type { CallStatus, CompletedCall } from "../types";
import { isObject } from "./objects";

function nameOf(error: Record<string, unknown>): string | undefined {
  const name = error.name;
  if (typeof name === "string" && name !== "" && name !== "Error") return name;
  const ctor = (error.constructor as { name?: unknown } | undefined)?.name;
  return typeof ctor === "string" && ctor !== "" && ctor !== "Error" && ctor !== "Object" ? ctor : undefined;
}

/**
 * Whether an error means the caller stopped the call: a DOM `AbortError` or an SDK's own abort class
 * (`APIUserAbortError`), by name, so it holds across copies of an SDK. A timeout is no abort but a
 * failed call, whoever set it: the SDK's `timeout` option, LangChain's rename of openai's
 * `APIConnectionTimeoutError`, or an `AbortSignal.timeout` (a DOM `TimeoutError`).
 */
export function isAbortError(error: unknown): boolean {
  return isObject(error) && nameOf(error)?.endsWith("AbortError") === true;
}

/** How a call that failed with `error` ended: "aborted" when the caller stopped it, else "error". */
export function failedStatus(error: unknown): Exclude<CallStatus, "success"> {
  return isAbortError(error) ? "aborted" : "error";
}

/**
 * The reason of a call's signal when a timeout aborted it (`AbortSignal.timeout`, the AI SDK's
 * `timeout`), else undefined. An SDK reports such a stop as its own abort (openai's
 * `APIUserAbortError`), but the call failed: this is what failed it.
 */
export function timeoutOf(signal: unknown): unknown {
  const reason =
    (signal as AbortSignal | null | undefined)?.aborted === true ? (signal as AbortSignal).reason : undefined;
  return isObject(reason) && nameOf(reason) === "TimeoutError" ? reason : undefined;
}

/**
 * A thrown value as `CompletedCall.error`: `type` is the error's name, or its class's when the name
 * is the generic "Error" (SDK error classes often leave it so), else "Error"; `status` the HTTP status
 * it carries (openai's `status`, the AI SDK's `statusCode`). The message is scrubbed
 * of `secrets` (the call's own credentials, see `callCredentials`) and of anything shaped like a
 * credential, so every destination gets it safe: an upstream's error often echoes the key it refused.
 */
export function errorInfo(
  error: unknown,
  secrets?: readonly (string | undefined)[],
): NonNullable<CompletedCall["error"]> {
  if (!isObject(error)) return { type: "Error", message: scrubSecrets(String(error), secrets) };
  const message = error.message;
  const info: NonNullable<CompletedCall["error"]> = {
    type: nameOf(error) ?? "Error",
    message: scrubSecrets(typeof message === "string" ? message : String(error), secrets),
  };
  const status = error.status ?? error.statusCode;
  if (Number.isInteger(status)) info.status = status as number;
  return info;
}
