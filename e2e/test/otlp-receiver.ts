import { createServer, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

// The OTLP protobuf definitions as the OpenTelemetry JS project generated them (protobufjs static code
// from opentelemetry-proto), shipped in @opentelemetry/otlp-transformer up to 0.215; later versions
// only encode. Installed under an alias so the exporters keep their own transformer.
const require = createRequire(import.meta.url);
const { opentelemetry } = require("otlp-transformer-protobufjs/build/src/generated/root.js");
const ExportTraceServiceRequest = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

export type Encoding = "json" | "protobuf";
export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

/** One span as it arrived, decoded by the OTLP definitions, whichever the encoding. */
export interface ReceivedSpan {
  encoding: Encoding;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  status: { code: number; message: string };
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces` */
  readonly tracesURL: string;
  spans(encoding?: Encoding): ReceivedSpan[];
  /** Export requests received, by encoding. */
  readonly requests: Record<Encoding, number>;
  /** Bodies that did not decode (each answered 400); must stay empty. */
  readonly rejected: string[];
  reset(): void;
  close(): Promise<void>;
}

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString("hex");

function value(v: any): AttributeValue {
  if (v == null) return undefined;
  if (v.stringValue != null) return v.stringValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.intValue != null) return Number(v.intValue);
  if (v.doubleValue != null) return v.doubleValue;
  if (v.arrayValue != null) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(list: any[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[kv.key] = value(kv.value);
  return out;
}

function spansOf(message: any, encoding: Encoding): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of message.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          encoding,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
          attributes: attributes(s.attributes),
          resource,
          scope: ss.scope?.name ?? "",
        });
      }
    }
  }
  return out;
}

// OTLP/JSON is protobuf's JSON mapping except that trace and span ids are hex, not base64.
const ID_FIELDS = ["traceId", "spanId", "parentSpanId"];
function idsToBytes(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(idsToBytes);
  if (json === null || typeof json !== "object") return json;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) {
    out[key] = ID_FIELDS.includes(key) && typeof v === "string" ? Buffer.from(v, "hex") : idsToBytes(v);
  }
  return out;
}

/** Decodes one OTLP/HTTP trace export body, JSON or protobuf, with the OTLP message definitions. */
export function decodeTraceExport(body: Uint8Array, contentType: string): ReceivedSpan[] {
  if (contentType.startsWith("application/json")) {
    const json = JSON.parse(Buffer.from(body).toString("utf8"));
    const message = ExportTraceServiceRequest.fromObject(idsToBytes(json));
    const problem = ExportTraceServiceRequest.verify(message);
    if (problem) throw new Error(`not an ExportTraceServiceRequest: ${problem}`);
    return spansOf(message, "json");
  }
  if (contentType.startsWith("application/x-protobuf")) {
    return spansOf(ExportTraceServiceRequest.decode(body), "protobuf");
  }
  throw new Error(`unsupported content-type ${contentType}`);
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
}

/** An OTLP/HTTP trace receiver on 127.0.0.1 (`POST /v1/traces`, JSON or protobuf) that keeps every span. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let received: ReceivedSpan[] = [];
  const requests: Record<Encoding, number> = { json: 0, protobuf: 0 };
  const rejected: string[] = [];
  const server = createServer(async (req, res) => {
    const type = req.headers["content-type"] ?? "";
    try {
      if (req.method !== "POST" || req.url !== "/v1/traces") throw new Error(`${req.method} ${req.url}`);
      const spans = decodeTraceExport(await readBody(req), type);
      requests[spans[0]?.encoding ?? (type.includes("json") ? "json" : "protobuf")]++;
      received.push(...spans);
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { "content-type": type.startsWith("application/json") ? "application/json" : type });
      res.end(type.startsWith("application/json") ? "{}" : undefined);
    } catch (error) {
      rejected.push(String(error));
      res.writeHead(400).end();
    }
  });
  // No server-side idle timeout (Node's 5 s): a batch processor exports on a 5 s timer, and an export
  // sent as the server closes its idle socket is reset (the recorder's reason too, see recorder-server.ts).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    tracesURL: `http://127.0.0.1:${port}/v1/traces`,
    spans: (encoding) => (encoding ? received.filter((s) => s.encoding === encoding) : [...received]),
    requests,
    rejected,
    reset() {
      received = [];
      requests.json = requests.protobuf = 0;
      rejected.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
