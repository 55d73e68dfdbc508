import type { CompletedCall, Destination, Metadata } from "../types";

/** The few pieces of `@opentelemetry/api` this destination uses; pass its `trace` export. */
export interface OtelTraceApi {
  getActiveSpan(): OtelSpan | undefined;
  getTracer(
    name: string,
    version?: string,
  ): {
    startSpan(
      name: string,
      options?: { kind?: number; startTime?: Date; attributes?: OtelAttributes },
    ): OtelSpan;
  };
}
export interface OtelSpan {
  setAttributes(attributes: OtelAttributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: Date): void;
}
export type OtelAttributes = Record<string, string | number | boolean | string[]>;

export interface OpenTelemetryOptions {
  /** `trace` from `@opentelemetry/api` (an optional peer: Tagalong core never imports it). */
  trace: OtelTraceApi;
  /** Also write the attribute namespaces these backends read from OTLP. */
  namespaces?: Array<"promptlayer" | "langfuse">;
  /** Set the metadata on the active span when a call starts (default true). */
  annotateActiveSpan?: boolean;
  /** Emit one GenAI client span per completed call (default true). */
  emitSpans?: boolean;
}

const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

/** The metadata as span attributes: semantic conventions first, the rest under `tagalong.*`. */
export function otelAttributes(
  m: Metadata,
  namespaces: OpenTelemetryOptions["namespaces"] = [],
): OtelAttributes {
  const a: OtelAttributes = {};
  if (m.user !== undefined) a["user.id"] = m.user;
  if (m.session !== undefined) {
    a["session.id"] = m.session;
    a["gen_ai.conversation.id"] = m.session;
  }
  if (m.environment !== undefined) a["deployment.environment.name"] = m.environment;
  if (m.trace !== undefined) a["tagalong.trace"] = m.trace;
  if (m.organization !== undefined) a["tagalong.organization"] = m.organization;
  if (m.tags !== undefined && m.tags.length > 0) a["tagalong.tags"] = [...m.tags];
  if (m.prompt !== undefined) {
    a["gen_ai.prompt.name"] = m.prompt.name;
    if (m.prompt.version !== undefined) a["tagalong.prompt.version"] = m.prompt.version;
    if (m.prompt.label !== undefined) a["tagalong.prompt.label"] = m.prompt.label;
  }
  if (m.extra) for (const key in m.extra) a[`tagalong.extra.${key}`] = m.extra[key]!;

  // Flat string metadata, as PromptLayer and Langfuse read it.
  const flat: Record<string, string> = {};
  if (m.user !== undefined) flat.user_id = m.user;
  if (m.session !== undefined) flat.session_id = m.session;
  if (m.trace !== undefined) flat.trace_id = m.trace;
  if (m.environment !== undefined) flat.environment = m.environment;
  if (m.organization !== undefined) flat.organization = m.organization;
  if (m.extra) for (const key in m.extra) flat[key] = String(m.extra[key]);
  if (namespaces.includes("promptlayer")) {
    for (const key in flat) a[`promptlayer.metadata.${key}`] = flat[key]!;
    if (m.prompt !== undefined) {
      a["promptlayer.prompt.name"] = m.prompt.name;
      if (m.prompt.version !== undefined) a["promptlayer.prompt.version"] = m.prompt.version;
      if (m.prompt.label !== undefined) a["promptlayer.prompt.label"] = m.prompt.label;
    }
  }
  if (namespaces.includes("langfuse")) {
    for (const key in flat) a[`langfuse.trace.metadata.${key}`] = flat[key]!;
    if (m.user !== undefined) a["langfuse.user.id"] = m.user;
    if (m.session !== undefined) a["langfuse.session.id"] = m.session;
    if (m.tags !== undefined && m.tags.length > 0) a["langfuse.trace.tags"] = [...m.tags];
    if (m.prompt !== undefined) {
      a["langfuse.observation.prompt.name"] = m.prompt.name;
      if (m.prompt.version !== undefined) a["langfuse.observation.prompt.version"] = m.prompt.version;
    }
  }
  return a;
}

function callAttributes(call: CompletedCall): OtelAttributes {
  const a: OtelAttributes = {
    "gen_ai.provider.name": call.provider,
    "gen_ai.request.model": call.model,
    "gen_ai.operation.name":
      call.apiType === "embeddings"
        ? "embeddings"
        : call.apiType === "completions"
          ? "text_completion"
          : "chat",
  };
  if (call.responseId !== undefined) a["gen_ai.response.id"] = call.responseId;
  if (call.usage?.inputTokens !== undefined) a["gen_ai.usage.input_tokens"] = call.usage.inputTokens;
  if (call.usage?.outputTokens !== undefined) a["gen_ai.usage.output_tokens"] = call.usage.outputTokens;
  if (call.finishReason !== undefined) a["gen_ai.response.finish_reasons"] = [call.finishReason];
  if (call.error) a["error.type"] = call.error.type;
  if (call.context) for (const key in call.context) a[`tagalong.context.${key}`] = call.context[key]!;
  return a;
}

/**
 * OpenTelemetry: the metadata as attributes on the active span when a call starts, and one GenAI
 * client span per completed call, so any OTLP backend gets it.
 */
export function openTelemetry(options: OpenTelemetryOptions): Destination {
  const { trace, namespaces = [] } = options;
  const tracer = trace.getTracer("@tagalong/core");
  return {
    name: "opentelemetry",
    ...(options.annotateActiveSpan === false
      ? {}
      : {
          start(m: Readonly<Metadata>) {
            trace.getActiveSpan()?.setAttributes(otelAttributes(m, namespaces));
          },
        }),
    ...(options.emitSpans === false
      ? {}
      : {
          record(call: CompletedCall) {
            const attributes = callAttributes(call);
            const span = tracer.startSpan(`${attributes["gen_ai.operation.name"]} ${call.model}`, {
              kind: SPAN_KIND_CLIENT,
              startTime: call.startTime,
              attributes: { ...attributes, ...otelAttributes(call.metadata, namespaces) },
            });
            if (call.status !== "success") {
              span.setStatus({ code: STATUS_ERROR, message: call.error?.message ?? call.status });
            }
            span.end(call.endTime);
          },
        }),
  };
}
