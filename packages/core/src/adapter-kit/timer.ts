/** A timer handle: an object in Node, a number elsewhere. */
export type Timer = ReturnType<typeof setTimeout>;

/** Lets a pending timer not hold the process open (Node); a no-op where timers are numbers. */
export function unref<T extends Timer>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
