import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { judgeCloudflare, judgeHelicone, judgeLiteLLM, judgeOpenRouter } from "./gateway-judges";
import {
  headerBlockBytes,
  judgePortkey,
  judgePrivateBodyFields,
  judgeRequesty,
  judgeWire,
  MAX_HEADER_BYTES,
  requestyHeaders,
  Secrets,
} from "./judges";
import { answerModelCall, OPENAI_ROUTES, openaiError, sendJson } from "./openai-api";
import {
  answerPromptLayer,
  PROMPTLAYER_ROUTES,
  type PromptLayerEndpoint,
  PromptLayerState,
} from "./promptlayer-api";
import { formatSummary } from "./summary";
import type {
  FailureOptions,
  FailureRule,
  ModelCall,
  PromptLayerLog,
  PromptLayerTrack,
  RecordedRequest,
  Recorder,
  RecorderOptions,
  RequestKind,
  WaitForOptions,
} from "./types";

interface Rule {
  options: FailureOptions;
  hits: number;
  remaining: number;
  active: boolean;
  held: Set<ServerResponse>;
}

interface Internal {
  /** Per recorded request: the model answer id and request id, or the PromptLayer log id. */
  responseId?: string;
  requestId?: string;
  logId?: number;
  trackRequestId?: number;
}

function kindOf(path: string): RequestKind {
  if (path.startsWith("/v1/")) return "openai";
  if (path in PROMPTLAYER_ROUTES) return "promptlayer";
  return "unknown";
}

function promptOfLog(id: number, body: Record<string, any>): Record<string, unknown> | undefined {
  if (typeof body.prompt_name !== "string") return undefined;
  const prompt: Record<string, unknown> = { request_id: id, prompt_name: body.prompt_name };
  if (body.prompt_version_number != null) prompt.version = body.prompt_version_number;
  if (body.prompt_input_variables != null) prompt.prompt_input_variables = body.prompt_input_variables;
  return prompt;
}

/** A rule that only delays the answer (no status, hang or reset). */
function isSlowAnswer(o: FailureOptions): boolean {
  return o.delayMs !== undefined && o.status === undefined && !o.hang && !o.reset;
}

function matches(rule: Rule, req: RecordedRequest): boolean {
  const { path, kind } = rule.options;
  if (kind !== undefined && req.kind !== kind) return false;
  if (path === undefined) return true;
  if (path instanceof RegExp) return path.test(req.path);
  const prefix = path.endsWith("/") ? path : `${path}/`;
  return req.path === path || req.path.startsWith(prefix);
}

/**
 * Start a loopback server that answers as an OpenAI-compatible API and as PromptLayer's API,
 * records every request and judges each against the vendors' rules.
 * @example
 * import { createRecorder } from "@tagalong/testing";
 * import OpenAI from "openai";
 *
 * const rec = await createRecorder(); // 127.0.0.1, a free port
 * const client = new OpenAI({ apiKey: "sk-test", baseURL: rec.openaiBaseURL });
 * await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
 * console.log(rec.calls()[0]?.violations); // [] when every vendor rule held
 * await rec.close();
 */
export async function createRecorder(options: RecorderOptions = {}): Promise<Recorder> {
  const latencyMs = options.latencyMs ?? 0;
  const promptLayerLatencyMs = options.promptLayerLatencyMs ?? 0;
  // Accepted log-request bodies, for counting duplicates as they arrive (cheap at bench scale).
  const loggedBodies = new Set<string>();
  let duplicates = 0;
  const requests: RecordedRequest[] = [];
  const internals = new WeakMap<RecordedRequest, Internal>();
  const rules: Rule[] = [];
  const sockets = new Set<Socket>();
  const pending = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const pl = new PromptLayerState();
  const secrets = new Secrets(options.promptLayerApiKey);
  let seq = 0;
  let modelSeq = 0;
  let closed = false;
  let listening = false;

  // Big enough to receive (and judge) headers over Node's 16 KB default instead of refusing them.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, openaiError(`recorder bug: ${String(error)}`, "server_error"));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const url = req.url ?? "/";
    const path = url.split("?")[0]!;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    let body: unknown;
    if (rawBody !== "") {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
    }
    const record: RecordedRequest = {
      seq: ++seq,
      method: req.method ?? "GET",
      path,
      url,
      headers,
      rawHeaders: [...req.rawHeaders],
      rawBody,
      body,
      time: Date.now(),
      kind: kindOf(path),
      outcome: "pending",
      violations: [],
    };
    requests.push(record);
    const internal: Internal = {};
    internals.set(record, internal);
    record.violations.push(...judgeWire(record));
    secrets.learn(record);
    res.on("finish", () => {
      record.status = res.statusCode;
      if (record.outcome === "pending") record.outcome = "answered";
    });
    pending.add(res);
    res.on("close", () => pending.delete(res));

    // Injected failures first: an outage does not look at the body. A slow-answer rule is no failure:
    // the request is answered as usual, only later.
    const rule = rules.length
      ? rules.find((r) => r.active && r.remaining > 0 && matches(r, record))
      : undefined;
    let answerDelayMs = record.kind === "promptlayer" ? promptLayerLatencyMs : 0;
    if (rule) {
      rule.hits++;
      rule.remaining--;
      if (!isSlowAnswer(rule.options)) {
        failRequest(rule, record, res);
        return;
      }
      answerDelayMs += rule.options.delayMs!;
    }

    if (headerBlockBytes(record.rawHeaders) > MAX_HEADER_BYTES) {
      record.outcome = "failed";
      const message = "Request Header Fields Too Large";
      if (record.kind === "promptlayer") sendJson(res, 431, { success: false, message });
      else sendJson(res, 431, openaiError(message, "invalid_request_error"));
      return;
    }

    if (record.kind === "openai") {
      if (path === "/v1/models" && record.method === "GET") {
        sendJson(res, 200, { object: "list", data: [] });
        return;
      }
      const endpoint = OPENAI_ROUTES[path];
      if (!endpoint || record.method !== "POST") {
        sendJson(res, 404, openaiError(`Unknown route ${record.method} ${path}`, "invalid_request_error"));
        return;
      }
      const n = ++modelSeq;
      if (latencyMs + answerDelayMs > 0) await sleep(latencyMs + answerDelayMs);
      if (res.destroyed) return;
      const requestId = `req_rec_${n}`;
      internal.requestId = requestId;
      const answer = answerModelCall(endpoint, body, n, res, { "x-request-id": requestId });
      if (answer) internal.responseId = answer.responseId;
      return;
    }

    if (record.kind === "promptlayer") {
      if (record.method !== "POST") {
        sendJson(res, 405, { success: false, message: "Method Not Allowed" });
        return;
      }
      if (rawBody !== "" && body === undefined) {
        record.violations.push("promptlayer: body is not valid JSON");
        sendJson(res, 422, { detail: [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }] });
        return;
      }
      const endpoint = PROMPTLAYER_ROUTES[path as keyof typeof PROMPTLAYER_ROUTES] as PromptLayerEndpoint;
      const answer = answerPromptLayer(endpoint, body, headers, pl, options.promptLayerApiKey);
      record.violations.push(...answer.violations);
      if (answer.logId !== undefined) {
        internal.logId = answer.logId;
        if (loggedBodies.has(rawBody)) duplicates++;
        else loggedBodies.add(rawBody);
      }
      if (answer.requestId !== undefined) internal.trackRequestId = answer.requestId;
      // Stored already; the answer may come late (latency, a slow-answer rule), or never reach a
      // client that gave up.
      if (answerDelayMs > 0) {
        await sleep(answerDelayMs);
        if (res.destroyed) return;
      }
      sendJson(res, answer.status, answer.payload);
      return;
    }

    sendJson(res, 404, { success: false, message: `Unknown route ${record.method} ${path}` });
  }

  function failRequest(rule: Rule, record: RecordedRequest, res: ServerResponse): void {
    const o = rule.options;
    if (o.reset) {
      record.outcome = "reset";
      res.socket?.destroy();
      return;
    }
    if (o.hang) {
      record.outcome = "hung";
      rule.held.add(res);
      return;
    }
    record.outcome = "failed";
    const status = o.status ?? 500;
    const headers: Record<string, string> = {};
    if (o.retryAfter !== undefined) {
      headers["retry-after"] = String(o.retryAfter);
      headers["retry-after-ms"] = String(Math.round(o.retryAfter * 1000));
    }
    if (record.kind === "openai") headers["x-request-id"] = `req_rec_fail_${record.seq}`;
    sendJson(res, status, o.body ?? errorBody(record.kind, status), headers);
  }

  function errorBody(kind: RequestKind, status: number): unknown {
    const message = `recorder: injected ${status}`;
    if (kind === "openai") {
      const type =
        status === 401
          ? "invalid_api_key"
          : status === 429
            ? "rate_limit_exceeded"
            : status >= 500
              ? "server_error"
              : "invalid_request_error";
      return openaiError(message, type, status === 401 ? "invalid_api_key" : null);
    }
    if (status === 422) return { detail: [{ loc: ["body"], msg: message, type: "value_error" }] };
    return { success: false, message };
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  function listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once("error", onError);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", onError);
        listening = true;
        resolve();
      });
    });
  }

  function dropConnections(): void {
    for (const res of pending) res.destroy();
    pending.clear();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    for (const rule of rules) rule.held.clear();
  }

  function stopListening(): Promise<void> {
    if (!listening) return Promise.resolve();
    listening = false;
    return new Promise((resolve) => {
      server.close(() => resolve());
      dropConnections();
    });
  }

  await listen(options.port ?? 0);
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("recorder: no TCP address");
  const port = address.port;
  const url = `http://127.0.0.1:${port}`;

  // -------------------------------------------------------------------------------------------
  // Views

  function calls(): ModelCall[] {
    return requests.filter((r) => r.kind === "openai" && OPENAI_ROUTES[r.path]).map(toCall);
  }

  function toCall(r: RecordedRequest): ModelCall {
    const internal = internals.get(r) ?? {};
    const body = (r.body ?? {}) as Record<string, any>;
    const portkey = judgePortkey(r.headers);
    const requesty = judgeRequesty(r.body);
    const helicone = judgeHelicone(r.headers);
    const cloudflare = judgeCloudflare(r.headers);
    const litellm = judgeLiteLLM(r.headers, r.body);
    const openrouter = judgeOpenRouter(r.body);
    const call: ModelCall = {
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
        ...secrets.judge(r),
      ],
    };
    return call;
  }

  function tracks(): PromptLayerTrack[] {
    return requests
      .filter((r) => r.path === "/rest/track-metadata" || r.path === "/rest/track-prompt")
      .map((r) => ({
        seq: r.seq,
        endpoint: r.path === "/rest/track-metadata" ? "track-metadata" : "track-prompt",
        body: r.body,
        requestId: internals.get(r)?.trackRequestId,
        status: r.status,
        time: r.time,
        violations: [...r.violations, ...secrets.judge(r)],
      }));
  }

  function logs(): PromptLayerLog[] {
    const allTracks = tracks();
    const out: PromptLayerLog[] = [];
    for (const r of requests) {
      const id = internals.get(r)?.logId;
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

  const recorder: Recorder = {
    url,
    openaiBaseURL: `${url}/v1`,
    promptLayerURL: url,
    port,
    requests,
    calls,
    callsWhere: (predicate) => calls().filter(predicate),
    promptLayer: {
      logs,
      tracks,
      requests: () => requests.filter((r) => r.kind === "promptlayer"),
      duplicates: () => duplicates,
      violations: () => violations().filter((v) => /^#\d+ \/(log-request|rest\/)/.test(v)),
    },
    violations,
    async waitFor<T>(predicate: (rec: Recorder) => T, o: WaitForOptions = {}): Promise<NonNullable<T>> {
      const timeoutMs = o.timeoutMs ?? 2_000;
      const intervalMs = o.intervalMs ?? 10;
      const deadline = Date.now() + timeoutMs;
      let lastError: unknown;
      for (;;) {
        // A predicate that throws (e.g. reads a log that has not arrived) counts as "not yet".
        try {
          const value = predicate(recorder);
          if (value) return value as NonNullable<T>;
        } catch (error) {
          lastError = error;
        }
        if (Date.now() >= deadline) {
          const cause = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
          throw new Error(
            `recorder.waitFor: timed out after ${timeoutMs} ms${cause}\n${formatSummary(recorder)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    summary: () => formatSummary(recorder),
    fail(o: FailureOptions = {}): FailureRule {
      const rule: Rule = {
        options: { ...o },
        hits: 0,
        remaining: o.times ?? Number.POSITIVE_INFINITY,
        active: true,
        held: new Set(),
      };
      rules.push(rule);
      return {
        options: rule.options,
        get hits() {
          return rule.hits;
        },
        clear() {
          rule.active = false;
          for (const res of rule.held) res.destroy();
          rule.held.clear();
        },
      };
    },
    refuse: () => stopListening(),
    async resume() {
      if (closed || listening) return;
      await listen(port);
    },
    async reset() {
      requests.length = 0;
      for (const rule of rules) {
        rule.active = false;
        for (const res of rule.held) res.destroy();
      }
      rules.length = 0;
      seq = 0;
      modelSeq = 0;
      pl.reset();
      loggedBodies.clear();
      duplicates = 0;
      secrets.reset();
      if (!closed && !listening) await listen(port);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await stopListening();
    },
  };
  return recorder;
}
