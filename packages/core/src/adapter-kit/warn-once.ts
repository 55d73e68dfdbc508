import type { Logger } from "../types";

/**
 * Says one thing once per key; `message` is built only while the key has not been said, and may
 * return undefined for "nothing to say this time" (the key is then asked again next time).
 */
export type WarnOnce = (key: string, message: () => string | undefined) => void;

/**
 * A warner that says each key's message once to `logger`: a problem that holds for every call (a
 * provider without the fetch, a model without the handler) is named once, not per call. Bounded: past
 * `max` keys it stops remembering, so a stream of distinct keys cannot grow it.
 */
export function warnOnce(logger: Pick<Logger, "warn">, max = 1000): WarnOnce {
  const said = new Set<string>();
  return (key, message) => {
    if (said.has(key)) return;
    const text = message();
    if (text === undefined) return;
    if (said.size < max) said.add(key);
    logger.warn(text);
  };
}
