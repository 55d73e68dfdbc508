// Loopback receivers for the vendors' own SDKs, where the recorder does not speak their API: the
// PromptLayer SDK's legacy `/track-request` + `/library-track-metadata`, LangSmith's run
// ingestion, and OTLP/HTTP trace exports. A benchmark fixture: it answers like the real service and counts what arrived.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface SinkCounts {
  /** Requests per `METHOD /path` (run ids folded to `:id`). */
  byRoute: Record<string, number>;
  /** Runs LangSmith sent (created + updated), counted from batch and multipart bodies. */
  langsmithRuns: number;
  /** Requests the sink did not know (answered 404). */
  unknown: number;
  /** Bytes of OTLP trace exports received. */
  otlpBytes: number;
}

export interface VendorSinks {
  url: string;
  counts(): SinkCounts;
  reset(): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** How many runs a LangSmith batch or multipart body carries. */
function countRuns(path: string, body: Buffer): number {
  if (path === "/runs/batch") {
    try {
      const json = JSON.parse(body.toString("utf8")) as { post?: unknown[]; patch?: unknown[] };
      return (json.post?.length ?? 0) + (json.patch?.length ?? 0);
    } catch {
      return 0;
    }
  }
  if (path === "/runs/multipart") {
    // One part named `post.<id>` or `patch.<id>` per run (plus `.inputs`/`.outputs` parts for each).
    return body.toString("latin1").match(/name="(post|patch)\.[^".]+"/g)?.length ?? 0;
  }
  return path === "/runs" ? 1 : 0;
}

export async function startVendorSinks(): Promise<VendorSinks> {
  let byRoute: Record<string, number> = {};
  let langsmithRuns = 0;
  let unknown = 0;
  let otlpBytes = 0;
  let nextId = 1;

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? "/").split("?")[0]!;
    const route = `${req.method} ${path.replace(/^\/runs\/(?!batch$|multipart$)[^/]+$/, "/runs/:id")}`;
    byRoute[route] = (byRoute[route] ?? 0) + 1;
    switch (route) {
      // PromptLayer SDK (promptlayer 1.x): the wrapped client logs with /track-request and expects 200.
      case "POST /track-request":
        return send(res, 200, { success: true, request_id: nextId++ });
      case "POST /library-track-metadata":
      case "POST /library-track-prompt":
        return send(res, 200, { success: true });
      // LangSmith: server info, then batched (JSON) or multipart run ingestion.
      case "GET /info":
        return send(res, 200, {
          version: "0.10.0",
          license_expiration_time: null,
          batch_ingest_config: { size_limit: 100, size_limit_bytes: 20_971_520, scale_up_nthreads_limit: 16 },
          instance_flags: {},
        });
      case "POST /runs/batch":
      case "POST /runs/multipart":
      case "POST /runs":
      case "PATCH /runs/:id":
        langsmithRuns += countRuns(path, body);
        return send(res, path === "/runs/multipart" ? 202 : 200, {});
      // OTLP/HTTP traces (the OpenTelemetry exporters): an empty ExportTraceServiceResponse, full success.
      case "POST /v1/traces":
        otlpBytes += body.length;
        res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" });
        return res.end();
      default:
        unknown++;
        return send(res, 404, { detail: `bench sink: unknown route ${route}` });
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("vendor sinks: no TCP address");

  return {
    url: `http://127.0.0.1:${address.port}`,
    counts: () => ({ byRoute: { ...byRoute }, langsmithRuns, unknown, otlpBytes }),
    reset() {
      byRoute = {};
      langsmithRuns = 0;
      unknown = 0;
      otlpBytes = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
