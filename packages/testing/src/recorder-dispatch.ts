// The recorder's dispatch: a request is logged and judged, meets the failure rules, then goes to the
// OpenAI-compatible stand-in (openai-api.ts) or PromptLayer's (promptlayer-api.ts) by its path.
import type { IncomingMessage, ServerResponse } from "node:http";
import { headerBlockBytes, MAX_HEADER_BYTES } from "./judges";
import { answerModelCall, OPENAI_ROUTES, openaiError, sendJson } from "./openai-api";
import { answerPromptLayer, PROMPTLAYER_ROUTES, type PromptLayerEndpoint } from "./promptlayer-api";
import { type FailureRules, isSlowAnswer } from "./recorder-failures";
import type { RequestLog } from "./recorder-log";
import type { RecordedRequest, RecorderOptions } from "./types";

export interface DispatchParts {
  log: RequestLog;
  rules: FailureRules;
  /** A wait the server cuts when it closes. */
  sleep: (ms: number) => Promise<void>;
  options: RecorderOptions;
}

/** The request handler of a recorder made of `parts`. */
export function dispatcher(parts: DispatchParts) {
  const { log, rules, sleep, options } = parts;
  const latencyMs = options.latencyMs ?? 0;
  const promptLayerLatencyMs = options.promptLayerLatencyMs ?? 0;

  async function answerOpenAI(record: RecordedRequest, res: ServerResponse, delayMs: number): Promise<void> {
    if (record.path === "/v1/models" && record.method === "GET") {
      sendJson(res, 200, { object: "list", data: [] });
      return;
    }
    const endpoint = OPENAI_ROUTES[record.path];
    if (!endpoint || record.method !== "POST") {
      sendJson(
        res,
        404,
        openaiError(`Unknown route ${record.method} ${record.path}`, "invalid_request_error"),
      );
      return;
    }
    const n = log.nextModelCall();
    if (latencyMs + delayMs > 0) await sleep(latencyMs + delayMs);
    if (res.destroyed) return;
    const internal = log.internal(record);
    const requestId = `req_rec_${n}`;
    internal.requestId = requestId;
    const answer = answerModelCall(endpoint, record.body, n, res, { "x-request-id": requestId });
    if (answer) internal.responseId = answer.responseId;
  }

  async function answerPL(record: RecordedRequest, res: ServerResponse, delayMs: number): Promise<void> {
    if (record.method !== "POST") {
      sendJson(res, 405, { success: false, message: "Method Not Allowed" });
      return;
    }
    if (record.rawBody !== "" && record.body === undefined) {
      record.violations.push("promptlayer: body is not valid JSON");
      sendJson(res, 422, { detail: [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }] });
      return;
    }
    const endpoint = PROMPTLAYER_ROUTES[
      record.path as keyof typeof PROMPTLAYER_ROUTES
    ] as PromptLayerEndpoint;
    const answer = answerPromptLayer(
      endpoint,
      record.body,
      record.headers,
      log.promptLayer,
      options.promptLayerApiKey,
    );
    record.violations.push(...answer.violations);
    const internal = log.internal(record);
    if (answer.logId !== undefined) {
      internal.logId = answer.logId;
      log.noteLogged(record.rawBody);
    }
    if (answer.requestId !== undefined) internal.trackRequestId = answer.requestId;
    // Stored already; the answer may come late (latency, a slow-answer rule), or never reach a
    // client that gave up.
    if (delayMs > 0) {
      await sleep(delayMs);
      if (res.destroyed) return;
    }
    sendJson(res, answer.status, answer.payload);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record = log.receive(req, Buffer.concat(chunks).toString("utf8"));
    res.on("finish", () => {
      record.status = res.statusCode;
      if (record.outcome === "pending") record.outcome = "answered";
    });

    // Injected failures first: an outage does not look at the body. A slow-answer rule is no failure:
    // the request is answered as usual, only later.
    const rule = rules.take(record);
    let delayMs = record.kind === "promptlayer" ? promptLayerLatencyMs : 0;
    if (rule) {
      if (!isSlowAnswer(rule.options)) {
        rules.answer(rule, record, res);
        return;
      }
      delayMs += rule.options.delayMs!;
    }

    if (headerBlockBytes(record.rawHeaders) > MAX_HEADER_BYTES) {
      record.outcome = "failed";
      const message = "Request Header Fields Too Large";
      if (record.kind === "promptlayer") sendJson(res, 431, { success: false, message });
      else sendJson(res, 431, openaiError(message, "invalid_request_error"));
      return;
    }

    if (record.kind === "openai") return answerOpenAI(record, res, delayMs);
    if (record.kind === "promptlayer") return answerPL(record, res, delayMs);
    sendJson(res, 404, { success: false, message: `Unknown route ${record.method} ${record.path}` });
  };
}
