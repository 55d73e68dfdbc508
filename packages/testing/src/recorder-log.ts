// The recorder's request log: every request as it arrived (judged on the wire at once), what the
// stand-ins answered it with, and the counters a reset clears.
import type { IncomingMessage } from "node:http";
import { judgeWire, Secrets } from "./judges";
import { PROMPTLAYER_ROUTES, PromptLayerState } from "./promptlayer-api";
import type { RecordedRequest, RequestKind } from "./types";

/** Per recorded request: the model answer id and request id, or the PromptLayer log id. */
export interface Internal {
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

export class RequestLog {
  readonly requests: RecordedRequest[] = [];
  readonly secrets: Secrets;
  /** PromptLayer's stored logs and ids. */
  readonly promptLayer = new PromptLayerState();
  /** Log-request bodies accepted more than once. */
  duplicates = 0;
  private readonly internals = new WeakMap<RecordedRequest, Internal>();
  // Accepted log-request bodies, for counting duplicates as they arrive (cheap at bench scale).
  private readonly loggedBodies = new Set<string>();
  private seq = 0;
  private modelSeq = 0;

  constructor(promptLayerApiKey?: string) {
    this.secrets = new Secrets(promptLayerApiKey);
  }

  /** Logs a request whose body has been read: parsed, judged on the wire, its keys learned. */
  receive(req: IncomingMessage, rawBody: string): RecordedRequest {
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
      seq: ++this.seq,
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
    this.requests.push(record);
    this.internals.set(record, {});
    record.violations.push(...judgeWire(record));
    this.secrets.learn(record);
    return record;
  }

  /** What the stand-ins answered `record` with (ids), filled in as it is answered. */
  internal(record: RecordedRequest): Internal {
    return this.internals.get(record) ?? {};
  }

  /** The number of the next model call. */
  nextModelCall(): number {
    return ++this.modelSeq;
  }

  /** Counts an accepted log-request body, and a duplicate when it came before. */
  noteLogged(rawBody: string): void {
    if (this.loggedBodies.has(rawBody)) this.duplicates++;
    else this.loggedBodies.add(rawBody);
  }

  reset(): void {
    this.requests.length = 0;
    this.seq = 0;
    this.modelSeq = 0;
    this.promptLayer.reset();
    this.loggedBodies.clear();
    this.duplicates = 0;
    this.secrets.reset();
  }
}
