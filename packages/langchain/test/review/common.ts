import type { Destination, Logger } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";

export function logger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const no = () => {};
  return { warnings, errors, debug: no, info: no, error: (m) => void errors.push(m), warn: (m) => void warnings.push(m) };
}
export function memory(): Destination & { calls: CompletedCall[] } {
  const calls: CompletedCall[] = [];
  return { name: "memory", calls, record: (call) => void calls.push(call) };
}
export async function drain(s: AsyncIterable<unknown>) {
  for await (const _ of s) {
  }
}
/** A plain callback handler (like a tracer: LangSmith, a console handler). */
export function tracer() {
  const runs: { runId: string; parentRunId?: string; kind: string }[] = [];
  const note = (kind: string) => (...args: any[]) => {
    // chain start: (chain, inputs, runId, parentRunId); llm start: (llm, msgs, runId, parentRunId)
    runs.push({ kind, runId: args[2], parentRunId: args[3] });
  };
  return {
    name: "tracer",
    runs,
    handleChainStart: note("chain"),
    handleChatModelStart: note("chat"),
    handleLLMStart: note("llm"),
  };
}
