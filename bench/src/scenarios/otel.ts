// 6. What the openTelemetry() destination costs: CPU per call for one GenAI span through the real
// OpenTelemetry SDK (BatchSpanProcessor, OTLP/HTTP protobuf exporter to a loopback sink in the server
// process), over the same wrapped client recording to a no-op sink; and the memory a span holds while it
// waits in the BatchSpanProcessor's queue.
import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { openTelemetry, portkey, requesty } from "@tagalong/core";
import type { CompletedCall } from "@tagalong/core/destination";
import { type AdapterVariant, chat, openaiClient, wrappedOpenAIVariant } from "../adapters";
import { type Context, modes, planFor } from "../context";
import { perCallMetadata, recordingTagalong, tagalong } from "../fixtures";
import { compare, fmtCompared, fmtUs, summarize } from "../harness";
import { Section } from "../report";

function otelApi(provider: BasicTracerProvider, active?: ReturnType<typeof trace.getActiveSpan>) {
  return {
    getActiveSpan: active ? () => active : trace.getActiveSpan,
    getTracer: (name: string, version?: string) => provider.getTracer(name, version),
  };
}

/** Heap held per span queued in a BatchSpanProcessor that has not exported yet. */
async function heapPerQueuedSpan(spans: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Number.NaN;
  // Succeeds at once, only when shutdown flushes: until then every span stays queued.
  const never: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const processor = new BatchSpanProcessor(never, {
    maxQueueSize: spans,
    maxExportBatchSize: spans,
    scheduledDelayMillis: 3_600_000,
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const t = tagalong([openTelemetry({ trace: otelApi(provider) })]);
  const call = (i: number): CompletedCall => ({
    provider: "openai",
    model: "gpt-4o-mini",
    apiType: "chat-completions",
    input: [],
    output: [],
    usage: { inputTokens: 12, outputTokens: 34 },
    startTime: new Date(),
    endTime: new Date(),
    status: "success",
    responseId: `chatcmpl-${i}`,
    finishReason: "stop",
    metadata: { environment: "bench", ...perCallMetadata(i) },
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < spans - 1; i++) t.record(call(i));
  gc();
  const held = process.memoryUsage().heapUsed - before;
  await provider.shutdown();
  return held / (spans - 1);
}

export async function otel(ctx: Context): Promise<Section> {
  const section = new Section(
    "6. The OpenTelemetry destination",
    [
      "What `openTelemetry()` adds to a call: `wrapOpenAI` with per-call metadata to Portkey and Requesty,",
      "in process (canned replies, no model I/O), with and without the destination. The destination's span",
      "goes through the real SDK: a `BatchSpanProcessor` (default settings) and the OTLP/HTTP protobuf",
      "exporter, which serialises each batch and POSTs it to a loopback sink in the server process; each",
      "round ends with `forceFlush()` inside the variant's CPU window, so batching, serialising and sending",
      "all count. Compared against the same client recording to a no-op destination (the adapter's own",
      "cost of building the completed call is in both). `no SDK` is the destination with no tracer provider",
      "registered (the API's no-op tracer): Tagalong's own attribute work, what an app without an SDK pays.",
      "`propagateTraceId` runs with an active span, so",
      "every call takes its trace id as its trace. Same harness as section 1 (interleaved rounds,",
      "process.cpuUsage()).",
    ].join("\n"),
  );
  const { url } = await ctx.servers.call("sinks", {});
  await ctx.servers.call("sinkCounts", { reset: true });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }));
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const active = provider.getTracer("app").startSpan("request");
  const withOtel = tagalong([portkey(), requesty(), openTelemetry({ trace: otelApi(provider) })]);
  const withTraceId = tagalong([
    portkey(),
    requesty(),
    openTelemetry({ trace: otelApi(provider, active), propagateTraceId: true }),
  ]);
  // No SDK registered: the API's no-op tracer. What Tagalong's own attribute work costs, and what an
  // app that installs no OpenTelemetry SDK pays.
  const withoutSdk = tagalong([portkey(), requesty(), openTelemetry({ trace })]);
  const flush = () => provider.forceFlush();

  const variants = (stream: boolean): AdapterVariant[] => {
    const bare = openaiClient(ctx.inProcess);
    const recording = wrappedOpenAIVariant(
      "wrapOpenAI + recording (no-op sink)",
      ctx.inProcess,
      recordingTagalong(),
      "openai-tagalong-recording",
      stream,
    );
    return [
      { name: "openai", call: (i) => chat(bare, "openai", i, stream) },
      recording,
      {
        ...wrappedOpenAIVariant("+ openTelemetry()", ctx.inProcess, withOtel, "openai-otel", stream),
        vs: recording.name,
        drain: flush,
      },
      {
        ...wrappedOpenAIVariant(
          "+ openTelemetry(), no SDK (API no-op)",
          ctx.inProcess,
          withoutSdk,
          "openai-otel-noop",
          stream,
        ),
        vs: recording.name,
      },
      {
        ...wrappedOpenAIVariant(
          "+ openTelemetry({ propagateTraceId }), in a span",
          ctx.inProcess,
          withTraceId,
          "openai-otel-trace",
          stream,
        ),
        vs: recording.name,
        drain: flush,
      },
    ];
  };

  const columns = new Map<string, string[]>();
  type Figure = { mean: number; se: number; where: string };
  const added: Figure[] = [];
  const own: Figure[] = [];
  let spansSent = 0;
  for (const mode of modes(ctx.sizes)) {
    const vs = variants(mode.stream);
    const plan = planFor(ctx.sizes, mode.concurrency, true);
    const measured = await compare(vs, plan);
    section.failedCalls(measured, mode.label);
    for (const c of summarize(measured)) {
      columns.set(c.name, [...(columns.get(c.name) ?? []), fmtCompared(c)]);
      const figure = { mean: c.addedCpuUs!, se: c.addedCpuSeUs!, where: mode.label };
      if (c.name === "+ openTelemetry()") added.push(figure);
      if (c.name.includes("no SDK")) own.push(figure);
    }
    spansSent += 2 * (plan.warmup + plan.rounds) * plan.callsPerRound;
  }
  await flush();
  active.end();
  await provider.shutdown();
  section.table({
    title:
      "wrapOpenAI in process, with the OpenTelemetry destination (BatchSpanProcessor + OTLP/HTTP protobuf)",
    columns: ["variant", ...modes(ctx.sizes).map((m) => m.label)],
    rows: [...columns.entries()].map(([name, cells]) => [name, ...cells]),
  });

  const sink = await ctx.servers.call("sinkCounts", { reset: true });
  const exports = sink.byRoute["POST /v1/traces"] ?? 0;
  section.note(
    `The sink received ${exports} OTLP export requests, ${(sink.otlpBytes / 1024).toFixed(0)} KiB for about ${spansSent} spans (${(sink.otlpBytes / Math.max(1, spansSent)).toFixed(0)} bytes per span in protobuf).`,
  );
  const queued = ctx.config.smoke ? 256 : 2048;
  const perSpan = await heapPerQueuedSpan(queued);
  section.note(
    `Memory: a span waiting in the BatchSpanProcessor's queue holds about ${(perSpan / 1024).toFixed(1)} KiB of heap (${queued - 1} queued, after GC); at the default maxQueueSize (2048) a process holds at most about ${((perSpan * 2048) / 1024 / 1024).toFixed(1)} MiB of spans.`,
  );
  const list = (figures: Figure[]) => figures.map((f) => `${fmtUs(f.mean, f.se)} (${f.where})`).join(", ");
  section.note(
    `openTelemetry() with the SDK's BatchSpanProcessor and OTLP export adds ${list(added)} of CPU per call over recording to a no-op destination; with no SDK (Tagalong's own share) ${list(own)}.`,
  );
  return section;
}
