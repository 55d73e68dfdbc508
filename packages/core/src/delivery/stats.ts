// The queue's counts and what it tells the user's error hook: drops (a full queue drops in bursts,
// reported once per burst), failures and abandoned work, with the cause of what was pending.
import { DeliveryError } from "../errors";
import type { DeliveryStats } from "../types";

export interface Reporter {
  readonly counts: DeliveryStats;
  /** Counts a dropped delivery and reports it (bursts from a full queue are summed up). */
  drop(reason: string, coalesce: boolean): false;
  /** Ends a burst of drops: reports how many more were dropped since the first. */
  endDropRun(): void;
  /** Whether a burst of drops is being summed up. */
  readonly dropping: boolean;
  report(error: unknown): void;
}

export function reporter(name: string, report: (error: unknown) => void): Reporter {
  const counts: DeliveryStats = { queued: 0, sent: 0, retried: 0, failed: 0, dropped: 0, abandoned: 0 };
  let dropRun: { reason: string; more: number } | undefined;
  const safeReport = (error: unknown): void => {
    try {
      report(error);
    } catch {
      // The host's hook never throws; belt and braces for a queue used on its own.
    }
  };
  const endDropRun = (): void => {
    if (dropRun && dropRun.more > 0) {
      safeReport(
        new DeliveryError(`${name}: dropped ${dropRun.more} more deliveries: ${dropRun.reason}`, {
          destination: name,
          attempts: 0,
        }),
      );
    }
    dropRun = undefined;
  };
  return {
    counts,
    drop(reason, coalesce) {
      counts.dropped++;
      if (coalesce && dropRun?.reason === reason) {
        dropRun.more++;
      } else {
        endDropRun();
        if (coalesce) dropRun = { reason, more: 0 };
        safeReport(
          new DeliveryError(`${name}: dropped a delivery: ${reason}`, { destination: name, attempts: 0 }),
        );
      }
      return false;
    },
    endDropRun,
    get dropping() {
      return dropRun !== undefined;
    },
    report: safeReport,
  };
}
