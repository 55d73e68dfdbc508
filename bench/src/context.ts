// What every scenario gets: the run's settings, its sizes (full or smoke), the servers and endpoints.
import type { Endpoint } from "./adapters";
import type { CannedReplies } from "./fixtures";
import type { Plan } from "./harness";
import type { ModelWire, Servers } from "./servers";

export interface Config {
  smoke: boolean;
  /** Lengths (s) of the PromptLayer outages in the delivery scenario (refused, 500, hanging each). */
  outages: number[];
  /** How late (s) the slow PromptLayer receiver answers (it stores at once). */
  slowReceiverSeconds: number;
  /** Scenarios to run (all when undefined). */
  only?: Set<string>;
  /** Rewrite BENCHMARKS.md at the end (never in smoke mode). */
  write: boolean;
}

export interface Sizes {
  rounds: number;
  /**
   * Rounds of the in-process comparisons, whose added CPU is judged against a target of a few µs: more
   * rounds than the loopback ones, so the median's standard error is small enough for a verdict.
   */
  inProcessRounds: number;
  warmup: number;
  /** Calls per variant per round: sequential (over HTTP, in process), and with `concurrency` in flight. */
  sequentialCalls: number;
  inProcessSequentialCalls: number;
  /** Sequential calls per variant per round against the slow model. */
  slowSequentialCalls: number;
  concurrentCalls: number;
  /** Calls in flight in the concurrent modes (64 in full runs). */
  concurrency: number;
  /** Samples and sample length of the ops/s measurements. */
  opsSamples: number;
  opsSampleMs: number;
  /** Seconds of sustained delivery. */
  deliverySeconds: number;
  /** Concurrency levels of the scale scenario. */
  scaleConcurrency: number[];
  /** Extra-key counts of the scale scenario. */
  scaleExtraKeys: number[];
}

export function sizesFor(smoke: boolean): Sizes {
  return smoke
    ? {
        rounds: 1,
        inProcessRounds: 1,
        warmup: 0,
        sequentialCalls: 3,
        inProcessSequentialCalls: 3,
        slowSequentialCalls: 2,
        concurrentCalls: 8,
        concurrency: 8,
        opsSamples: 2,
        opsSampleMs: 20,
        deliverySeconds: 1,
        scaleConcurrency: [1, 10, 100],
        scaleExtraKeys: [1, 100],
      }
    : {
        rounds: 16,
        inProcessRounds: 40,
        warmup: 4,
        sequentialCalls: 40,
        inProcessSequentialCalls: 200,
        slowSequentialCalls: 10,
        concurrentCalls: 192,
        concurrency: 64,
        opsSamples: 9,
        opsSampleMs: 200,
        deliverySeconds: 10,
        scaleConcurrency: [1, 10, 100, 1000],
        scaleExtraKeys: [1, 10, 30, 100],
      };
}

export interface Context {
  config: Config;
  sizes: Sizes;
  servers: Servers;
  /** The loopback recorder that answers model calls (recorder name "model"). */
  loopback: Endpoint;
  /** A loopback recorder that answers after SLOW_MODEL_MS (recorder name "model-slow"). */
  slowLoopback: Endpoint;
  /** Model calls answered in process from canned replies (no I/O). */
  inProcess: Endpoint;
  canned: CannedReplies;
}

/** The slow recorder's model latency: still faster than any hosted LLM. */
export const SLOW_MODEL_MS = 20;

/** What the model calls since the last check carried, per variant; forgets them at the recorder. */
export function modelWire(ctx: Context, recorder = "model"): Promise<Record<string, ModelWire>> {
  return ctx.servers.call("modelWire", { name: recorder, reset: true });
}

/** A way of calling: sequential or many in flight, plain or streamed. */
export interface Mode {
  label: string;
  stream: boolean;
  concurrency: number;
}

/** The four modes every side-by-side comparison runs. */
export function modes(sizes: Sizes): Mode[] {
  const n = sizes.concurrency;
  return [
    { label: "sequential", stream: false, concurrency: 1 },
    { label: "sequential, stream", stream: true, concurrency: 1 },
    { label: `${n} in flight`, stream: false, concurrency: n },
    { label: `${n} in flight, stream`, stream: true, concurrency: n },
  ];
}

export function planFor(sizes: Sizes, concurrency: number, inProcess = false): Plan {
  const sequential = inProcess ? sizes.inProcessSequentialCalls : sizes.sequentialCalls;
  return {
    rounds: inProcess ? sizes.inProcessRounds : sizes.rounds,
    warmup: sizes.warmup,
    callsPerRound: concurrency === 1 ? sequential : sizes.concurrentCalls,
    concurrency,
  };
}
