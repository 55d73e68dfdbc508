// The recorder's judged views of its request log: model calls with each gateway's reading and
// violations, PromptLayer's logs joined with their track requests, and every violation in order.
import { judgeCloudflare, judgeHelicone, judgeLiteLLM, judgeOpenRouter } from "./gateway-judges";
import { judgePortkey, judgePrivateBodyFields, judgeRequesty, requestyHeaders } from "./judges";
import { OPENAI_ROUTES } from "./openai-api";
import type { RequestLog } from "./recorder-log";
import type { ModelCall, PromptLayerLog, PromptLayerTrack, RecordedRequest } from "./types";

export interface RecorderViews {
  calls(): ModelCall[];
  tracks(): PromptLayerTrack[];
  logs(): PromptLayerLog[];
  violations(): string[];
}

function promptOfLog(id: number, body: Record<string, any>): Record<string, unknown> | undefined {
  if (typeof body.prompt_name !== "string") return undefined;
  const prompt: Record<string, unknown> = { request_id: id, prompt_name: body.prompt_name };
  if (body.prompt_version_number != null) prompt.version = body.prompt_version_number;
  if (body.prompt_input_variables != null) prompt.prompt_input_variables = body.prompt_input_variables;
  return prompt;
}

/** A model call as each gateway and the vendors' rules read it. */
function toCall(log: RequestLog, r: RecordedRequest): ModelCall {
  const internal = log.internal(r);
  const body = (r.body ?? {}) as Record<string, any>;
  const portkey = judgePortkey(r.headers);
  const requesty = judgeRequesty(r.body);
  const helicone = judgeHelicone(r.headers);
  const cloudflare = judgeCloudflare(r.headers);
  const litellm = judgeLiteLLM(r.headers, r.body);
  const openrouter = judgeOpenRouter(r.body);
  return {
    seq: r.seq,
    endpoint: OPENAI_ROUTES[r.path]!,
    method: r.method,
    path: r.path,
    headers: r.headers,
    body: r.body,
    model: typeof body.model === "string" ? body.model : undefined,
    stream: body.stream === true,
    time: r.time,
    status: r.status,
    outcome: r.outcome,
    requestId: internal.requestId,
    responseId: internal.responseId,
    portkey: portkey.view,
    requesty: requesty.value,
    requestyHeaders: requestyHeaders(r.headers),
    helicone: helicone.view,
    cloudflare: cloudflare.view,
    litellm: litellm.view,
    openrouter: openrouter.view,
    violations: [
      ...r.violations,
      ...portkey.violations,
      ...requesty.violations,
      ...helicone.violations,
      ...cloudflare.violations,
      ...litellm.violations,
      ...openrouter.violations,
      ...judgePrivateBodyFields(r.body),
      ...log.secrets.judge(r),
    ],
  };
}

/** The views of `log`, computed afresh at each read. */
export function recorderViews(log: RequestLog): RecorderViews {
  const { requests, secrets } = log;

  function calls(): ModelCall[] {
    return requests.filter((r) => r.kind === "openai" && OPENAI_ROUTES[r.path]).map((r) => toCall(log, r));
  }

  function tracks(): PromptLayerTrack[] {
    return requests
      .filter((r) => r.path === "/rest/track-metadata" || r.path === "/rest/track-prompt")
      .map((r) => ({
        seq: r.seq,
        endpoint: r.path === "/rest/track-metadata" ? "track-metadata" : "track-prompt",
        body: r.body,
        requestId: log.internal(r).trackRequestId,
        status: r.status,
        time: r.time,
        violations: [...r.violations, ...secrets.judge(r)],
      }));
  }

  function logs(): PromptLayerLog[] {
    const allTracks = tracks();
    const out: PromptLayerLog[] = [];
    for (const r of requests) {
      const id = log.internal(r).logId;
      if (id === undefined) continue;
      const body = r.body as Record<string, any>;
      const metadata: Record<string, string> = { ...(body.metadata ?? {}) };
      // A prompt named in the log-request itself, in track-prompt's shape; a later track-prompt wins.
      let prompt: unknown = promptOfLog(id, body);
      const trackRequests = allTracks.filter((t) => t.requestId === id);
      const violations = [...r.violations, ...secrets.judge(r)];
      for (const t of trackRequests) {
        if (t.seq < r.seq)
          violations.push(`promptlayer: ${t.endpoint} #${t.seq} arrived before its log-request`);
        if (t.status !== 200) continue;
        if (t.endpoint === "track-metadata") Object.assign(metadata, t.body.metadata);
        else prompt = t.body;
      }
      out.push({
        id,
        seq: r.seq,
        body: r.body,
        headers: r.headers,
        time: r.time,
        metadata,
        prompt,
        trackRequests,
        violations,
      });
    }
    return out;
  }

  function violations(): string[] {
    const out: string[] = [];
    const callsBySeq = new Map(calls().map((c) => [c.seq, c.violations]));
    const plBySeq = new Map<number, string[]>();
    for (const t of tracks()) plBySeq.set(t.seq, t.violations);
    for (const l of logs()) plBySeq.set(l.seq, l.violations);
    for (const r of requests) {
      const list = callsBySeq.get(r.seq) ?? plBySeq.get(r.seq) ?? [...r.violations, ...secrets.judge(r)];
      for (const v of list) out.push(`#${r.seq} ${r.path}: ${v}`);
    }
    return out;
  }

  return { calls, tracks, logs, violations };
}
