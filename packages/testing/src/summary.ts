import type { ModelCall, PromptLayerLog, Recorder } from "./types";

const MAX_VALUE = 60;

function short(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function fields(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${k}=${short(v)}`)
    .join(" ");
}

function callLines(call: ModelCall): string[] {
  const head = `#${call.seq} ${call.endpoint}${call.stream ? " (stream)" : ""} model=${call.model ?? "?"} → ${
    call.status ?? call.outcome
  }${call.responseId ? ` ${call.responseId}` : ""}`;
  const lines = [head];
  const pk = call.portkey;
  if (pk.rawHeader !== undefined || pk.traceId !== undefined) {
    const parts = [];
    if (pk.metadata) parts.push(fields(pk.metadata));
    else if (pk.rawHeader !== undefined) parts.push(`raw=${short(pk.rawHeader)}`);
    if (pk.traceId !== undefined) parts.push(`trace-id=${short(pk.traceId)}`);
    lines.push(`    portkey     ${parts.join(" ")}`);
  }
  if (call.requesty !== undefined) {
    const r = call.requesty;
    lines.push(`    requesty    ${r && typeof r === "object" ? fields(r) : short(r)}`);
  }
  lines.push(`    ${call.violations.length === 0 ? "ok" : `VIOLATIONS: ${call.violations.join(" | ")}`}`);
  return lines;
}

function logLines(log: PromptLayerLog): string[] {
  const b = log.body ?? {};
  const lines = [
    `#${log.seq} promptlayer log-request id=${log.id} model=${b.model ?? "?"} status=${b.status ?? "-"}${
      Array.isArray(b.tags) && b.tags.length > 0 ? ` tags=${short(b.tags.join(","))}` : ""
    }`,
  ];
  if (Object.keys(log.metadata).length > 0) lines.push(`    metadata    ${fields(log.metadata)}`);
  if (log.prompt) {
    const p = log.prompt;
    const which = p.version !== undefined ? ` v${p.version}` : p.label !== undefined ? ` @${p.label}` : "";
    lines.push(`    prompt      ${p.prompt_name}${which}`);
  }
  lines.push(`    ${log.violations.length === 0 ? "ok" : `VIOLATIONS: ${log.violations.join(" | ")}`}`);
  return lines;
}

/** What each destination received: one block per model call and per PromptLayer log. */
export function formatSummary(rec: Recorder): string {
  const lines: string[] = [];
  for (const call of rec.calls()) lines.push(...callLines(call));
  for (const log of rec.promptLayer.logs()) lines.push(...logLines(log));
  const orphans = rec.promptLayer
    .tracks()
    .filter((t) => t.status !== 200)
    .map((t) => `#${t.seq} promptlayer ${t.endpoint} request_id=${t.requestId ?? "?"} → ${t.status ?? "-"}`);
  lines.push(...orphans);
  const other = rec.requests
    .filter((r) => r.kind === "unknown")
    .map((r) => `#${r.seq} ${r.method} ${r.path} → ${r.status ?? r.outcome}`);
  lines.push(...other);
  return lines.length === 0 ? "(no requests)" : lines.join("\n");
}
