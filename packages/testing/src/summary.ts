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
  lines.push(`    ${verdict(call.violations)}`);
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
  lines.push(`    ${verdict(log.violations)}`);
  return lines;
}

function verdict(violations: string[]): string {
  return violations.length === 0 ? "ok" : `VIOLATIONS: ${violations.join(" | ")}`;
}

/**
 * What each destination received, in arrival order: one block per model call and per PromptLayer
 * log (with its tracked metadata and prompt), plus one line per refused or unmatched request.
 */
export function formatSummary(rec: Recorder): string {
  const blocks: [number, string[]][] = [];
  for (const call of rec.calls()) blocks.push([call.seq, callLines(call)]);
  for (const log of rec.promptLayer.logs()) blocks.push([log.seq, logLines(log)]);
  for (const r of rec.promptLayer.requests()) {
    if (r.path === "/log-request" && r.status !== 201) {
      blocks.push([
        r.seq,
        [`#${r.seq} promptlayer log-request → ${r.status ?? r.outcome}`, `    ${verdict(r.violations)}`],
      ]);
    }
  }
  for (const t of rec.promptLayer.tracks()) {
    if (t.status !== 200) {
      blocks.push([
        t.seq,
        [
          `#${t.seq} promptlayer ${t.endpoint} request_id=${t.requestId ?? "?"} → ${t.status ?? "-"}`,
          `    ${verdict(t.violations)}`,
        ],
      ]);
    }
  }
  for (const r of rec.requests) {
    if (r.kind === "unknown")
      blocks.push([r.seq, [`#${r.seq} ${r.method} ${r.path} → ${r.status ?? r.outcome}`]]);
  }
  if (blocks.length === 0) return "(no requests)";
  return blocks
    .sort((a, b) => a[0] - b[0])
    .flatMap(([, lines]) => lines)
    .join("\n");
}
