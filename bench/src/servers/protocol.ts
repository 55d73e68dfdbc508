// The messages between the benchmark and its server process (loopback recorders and vendor sinks).
import type { FailureOptions, RecorderOptions } from "@tagalong/testing";
import type { SinkCounts } from "./vendor-sinks";

/** What the model calls of one variant (told apart by the request's `model`) carried on the wire. */
export interface ModelWire {
  calls: number;
  /** Calls with a parseable `x-portkey-metadata`. */
  portkey: number;
  /** Calls with a `requesty` body field. */
  requesty: number;
  /** Calls whose Portkey `_user` is not the user named in the call's own message (metadata mixed up). */
  mislabelled: number;
  /** Rule breaks the recorder found (count and the first few). */
  violations: number;
  sample: string[];
}

/** What a PromptLayer receiver accepted. */
export interface PromptLayerWire {
  /** `/log-request` answered 201. */
  logs: number;
  /** `/rest/track-metadata` and `/rest/track-prompt` answered 200. */
  trackMetadata: number;
  trackPrompt: number;
  /** Every PromptLayer request that arrived, answered or not. */
  requests: number;
  /** Accepted log-requests whose body was accepted before (the same call logged twice). */
  duplicates: number;
  violations: number;
  sample: string[];
}

export interface Ops {
  recorder: {
    args: { name: string; options?: RecorderOptions };
    result: { url: string; openaiBaseURL: string };
  };
  refuse: { args: { name: string }; result: undefined };
  resume: { args: { name: string }; result: undefined };
  reset: { args: { name: string }; result: undefined };
  fail: { args: { name: string; options: FailureOptions }; result: number };
  clearRule: { args: { id: number }; result: undefined };
  modelWire: { args: { name: string; reset?: boolean }; result: Record<string, ModelWire> };
  promptLayerWire: { args: { name: string; reset?: boolean }; result: PromptLayerWire };
  sinks: { args: Record<string, never>; result: { url: string } };
  sinkCounts: { args: { reset?: boolean }; result: SinkCounts };
  memory: { args: Record<string, never>; result: { rssMB: number } };
}

export type Op = keyof Ops;

export interface Request<K extends Op = Op> {
  id: number;
  op: K;
  args: Ops[K]["args"];
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
