import { isObject } from "../adapter-kit/objects";
import { TagalongError } from "../errors";
import type { MetadataField } from "../mapping";
import { checkOptions, checkValues } from "../options";
import { leaveOut } from "../policy";
import { scrubSecrets } from "../redact";
import type { CompletedCall, Destination, ExtraValue, Metadata, MetadataIssue } from "../types";

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
/** The few pieces of an OpenTelemetry span this destination uses. */
export interface OtelSpan {
  setAttributes(attributes: OtelAttributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: Date): void;
  /** The span's ids; read only with `propagateTraceId`. */
  spanContext?(): { traceId: string };
}
/** Span attributes as Tagalong writes them: strings, numbers, booleans and string arrays. */
export type OtelAttributes = Record<string, string | number | boolean | string[]>;

/** A metadata field an attribute map can name; `prompt.*` are the prompt reference's parts. */
export type OtelMetadataField = MetadataField;

/**
 * Where one backend reads Tagalong's metadata in OTLP, declared as data: each field's attribute keys,
 * and optionally a prefix for each `extra` key and a prefix for the flat string form. The
 * `openTelemetry()` destination compiles the maps it is given into one pass per span.
 */
export interface OtelAttributeMap {
  /** Names the map in docs and errors, e.g. `"gen_ai"`, `"langfuse"`. */
  readonly name: string;
  /** Field -> the attribute keys that carry it (values keep their type; tags are a string array). */
  readonly fields?: Readonly<Partial<Record<OtelMetadataField, readonly string[]>>>;
  /** Each `extra` key as `<extraPrefix><key>`, its value kept as a string, number or boolean. */
  readonly extraPrefix?: string;
  /**
   * The flat string form some backends read as "metadata": `user_id`, `session_id`, `trace_id`,
   * `environment`, `organization` and each `extra` key (stringified), each as `<flatPrefix><key>`.
   */
  readonly flatPrefix?: string;
  /**
   * The backend's own rules on the model's text fields: a value that breaks one is left out of this
   * destination's attributes (every map's: the backend may read the field from another map's key too),
   * warned once, like any destination's rule.
   */
  readonly rules?: Readonly<Partial<Record<OtelTextField, OtelFieldRule>>>;
}

/** A model field of text: one string, or the tags (each tag is held to the rule). */
export type OtelTextField = "user" | "session" | "trace" | "environment" | "organization" | "tags";

/** One backend rule on a text field: the values it takes, and the rule in words. */
export interface OtelFieldRule {
  readonly pattern: RegExp;
  readonly rule: string;
}

/**
 * The default map: OpenTelemetry's semantic conventions where one exists (`user.id`, `session.id`,
 * `gen_ai.conversation.id`, `deployment.environment.name`, `gen_ai.prompt.name`, as of Semantic
 * Conventions v1.41.0), the rest under `tagalong.*`.
 */
export const genAiAttributes: OtelAttributeMap = {
  name: "gen_ai",
  fields: {
    user: ["user.id"],
    session: ["session.id", "gen_ai.conversation.id"],
    environment: ["deployment.environment.name"],
    trace: ["tagalong.trace"],
    organization: ["tagalong.organization"],
    tags: ["tagalong.tags"],
    "prompt.name": ["gen_ai.prompt.name"],
    "prompt.version": ["tagalong.prompt.version"],
    "prompt.label": ["tagalong.prompt.label"],
  },
  extraPrefix: "tagalong.extra.",
};

/** Options of `openTelemetry()`: your `trace` API, the attribute maps, and what to emit. */
export interface OpenTelemetryOptions {
  /** `trace` from `@opentelemetry/api` (an optional peer: Tagalong core never imports it). */
  trace: OtelTraceApi;
  /**
   * Where the metadata goes on each span: attribute maps, written in order (a later map's key wins).
   * Default `[genAiAttributes]`; add `langfuseAttributes` or `promptLayerAttributes` for the backends
   * that read their own namespaces from OTLP, e.g. `[genAiAttributes, langfuseAttributes]`.
   */
  attributes?: readonly OtelAttributeMap[];
  /** Set the metadata on the active span when a call starts (default true). */
  annotateActiveSpan?: boolean;
  /** Emit one GenAI client span per completed call (default true). */
  emitSpans?: boolean;
  /**
   * When a call's metadata sets no `trace`, use the active span's trace id (32 hex characters) as the
   * call's trace, so Portkey's trace header, Requesty's `trace_id` and every other destination's trace
   * field join the application's OpenTelemetry trace (default false).
   */
  propagateTraceId?: boolean;
}

// Every option, checked complete against OpenTelemetryOptions by the compiler.
const OPTION_KEYS = Object.keys({
  trace: true,
  attributes: true,
  annotateActiveSpan: true,
  emitSpans: true,
  propagateTraceId: true,
} satisfies Record<keyof OpenTelemetryOptions, true>);

const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;
const INVALID_TRACE_ID = "00000000000000000000000000000000";

type Write = (m: Readonly<Metadata>, out: OtelAttributes) => void;

const FIELD_VALUE: Record<OtelMetadataField, (m: Readonly<Metadata>) => OtelAttributes[string] | undefined> =
  {
    user: (m) => m.user,
    session: (m) => m.session,
    trace: (m) => m.trace,
    environment: (m) => m.environment,
    organization: (m) => m.organization,
    tags: (m) => (m.tags !== undefined && m.tags.length > 0 ? [...m.tags] : undefined),
    "prompt.name": (m) => m.prompt?.name,
    "prompt.version": (m) => m.prompt?.version,
    "prompt.label": (m) => m.prompt?.label,
  };

/** The flat string form's fixed keys, in the order they are written. */
const FLAT_FIELDS: ReadonlyArray<[key: string, field: OtelMetadataField]> = [
  ["user_id", "user"],
  ["session_id", "session"],
  ["trace_id", "trace"],
  ["environment", "environment"],
  ["organization", "organization"],
];

/** Compiles attribute maps into one function that writes every map's attributes for some metadata. */
export function compileAttributeMaps(maps: readonly OtelAttributeMap[]): Write {
  const writes: Write[] = [];
  for (const map of maps) {
    for (const field in map.fields ?? {}) {
      const keys = map.fields![field as OtelMetadataField]!;
      const value = FIELD_VALUE[field as OtelMetadataField];
      if (value === undefined) {
        throw new TagalongError(
          `openTelemetry: attribute map ${map.name} names an unknown field "${field}"; known fields: ${Object.keys(FIELD_VALUE).join(", ")}`,
        );
      }
      writes.push((m, out) => {
        const v = value(m);
        if (v !== undefined) for (const key of keys) out[key] = v;
      });
    }
    const { extraPrefix, flatPrefix } = map;
    if (extraPrefix !== undefined) {
      writes.push((m, out) => {
        if (m.extra) for (const key in m.extra) out[extraPrefix + key] = m.extra[key] as ExtraValue;
      });
    }
    if (flatPrefix !== undefined) {
      writes.push((m, out) => {
        for (const [key, field] of FLAT_FIELDS) {
          const v = FIELD_VALUE[field](m);
          if (v !== undefined) out[flatPrefix + key] = v as string;
        }
        if (m.extra) for (const key in m.extra) out[flatPrefix + key] = String(m.extra[key]);
      });
    }
  }
  return (m, out) => {
    for (const write of writes) write(m, out);
  };
}

/** The check of the maps' rules; undefined when no map has any. */
function compileRules(maps: readonly OtelAttributeMap[]): ((m: Metadata) => MetadataIssue[]) | undefined {
  const rules: Array<[OtelTextField, OtelFieldRule]> = [];
  for (const map of maps) {
    for (const field in map.rules ?? {}) {
      rules.push([field as OtelTextField, map.rules![field as OtelTextField]!]);
    }
  }
  // The flat form holds the model's fields and extra's keys side by side: an extra key must not take one.
  const flat = maps.find((map) => map.flatPrefix !== undefined);
  if (rules.length === 0 && flat === undefined) return undefined;
  return (m) => {
    const issues: MetadataIssue[] = [];
    const issue = (path: string, rule: string, code = "format") =>
      issues.push({ path, rule, destination: "opentelemetry", code });
    for (const [field, { pattern, rule }] of rules) {
      if (field === "tags") {
        m.tags?.forEach((tag, i) => {
          if (!pattern.test(tag)) issue(`tags[${i}]`, rule);
        });
      } else if (m[field] !== undefined && !pattern.test(m[field])) issue(field, rule);
    }
    if (flat !== undefined && m.extra !== undefined) {
      for (const [key] of FLAT_FIELDS) {
        if (Object.hasOwn(m.extra, key))
          issue(
            `extra.${key}`,
            `collides with the key "${key}" that the ${flat.name} map fills from the model (${flat.flatPrefix}${key})`,
            "reserved-key",
          );
      }
    }
    return issues;
  };
}

/** The metadata as span attributes, by the given maps (default: the semantic conventions and `tagalong.*`). */
export function otelAttributes(
  m: Readonly<Metadata>,
  maps: readonly OtelAttributeMap[] = [genAiAttributes],
): OtelAttributes {
  const out: OtelAttributes = {};
  compileAttributeMaps(maps)(m, out);
  return out;
}

/** Each GenAI client span's own attributes (Semantic Conventions v1.41.0), from the finished call. */
const CALL_ATTRIBUTES: ReadonlyArray<
  [key: string, value: (call: CompletedCall) => OtelAttributes[string] | undefined]
> = [
  ["gen_ai.provider.name", (call) => call.provider],
  ["gen_ai.request.model", (call) => call.model],
  ["gen_ai.operation.name", operationName],
  ["gen_ai.response.id", (call) => call.responseId],
  ["gen_ai.usage.input_tokens", (call) => call.usage?.inputTokens],
  ["gen_ai.usage.output_tokens", (call) => call.usage?.outputTokens],
  [
    "gen_ai.response.finish_reasons",
    (call) => (call.finishReason === undefined ? undefined : [call.finishReason]),
  ],
  ["error.type", (call) => call.error?.type],
];

/** Adapter-specific context keys (LangChain run ids, ...) go under this prefix. */
const CONTEXT_PREFIX = "tagalong.context.";

function operationName(call: CompletedCall): string {
  if (call.apiType === "embeddings") return "embeddings";
  return call.apiType === "completions" ? "text_completion" : "chat";
}

function callAttributes(call: CompletedCall, out: OtelAttributes): void {
  for (const [key, value] of CALL_ATTRIBUTES) {
    const v = value(call);
    if (v !== undefined) out[key] = v;
  }
  if (call.context) for (const key in call.context) out[CONTEXT_PREFIX + key] = call.context[key]!;
}

/**
 * Every attribute key the destination can write with these maps: exact keys, and the prefixes under
 * which `extra`, flat metadata and adapter context keys go. For Collector rules and backend queries.
 */
export function otelAttributeKeys(maps: readonly OtelAttributeMap[] = [genAiAttributes]): {
  keys: string[];
  prefixes: string[];
} {
  const keys = new Set<string>(CALL_ATTRIBUTES.map(([key]) => key));
  const prefixes = new Set<string>([CONTEXT_PREFIX]);
  for (const map of maps) {
    for (const list of Object.values(map.fields ?? {})) for (const key of list ?? []) keys.add(key);
    if (map.extraPrefix !== undefined) prefixes.add(map.extraPrefix);
    if (map.flatPrefix !== undefined) prefixes.add(map.flatPrefix);
  }
  return { keys: [...keys], prefixes: [...prefixes] };
}

/** A failed call's span status message, without credentials an upstream may have echoed in it. */
function statusMessage(call: CompletedCall): string {
  return call.error ? scrubSecrets(call.error.message) : call.status;
}

/**
 * OpenTelemetry: the metadata as attributes on the active span when a call starts, and one GenAI
 * client span per completed call (a child of the span active where the call completes), so any OTLP
 * backend gets it.
 */
export function openTelemetry(options: OpenTelemetryOptions): Destination {
  checkOptions("openTelemetry", options, OPTION_KEYS);
  const { trace } = options ?? {};
  if (typeof trace?.getTracer !== "function" || typeof trace.getActiveSpan !== "function") {
    throw new TagalongError(
      'openTelemetry: options.trace must be the `trace` export of "@opentelemetry/api" (getTracer, getActiveSpan)',
    );
  }
  checkValues("openTelemetry", options, {
    annotateActiveSpan: "boolean",
    emitSpans: "boolean",
    propagateTraceId: "boolean",
  });
  const maps = options.attributes === undefined ? [genAiAttributes] : options.attributes;
  if (!Array.isArray(maps) || maps.some((map) => !isObject(map))) {
    throw new TagalongError("openTelemetry: attributes must be an array of attribute maps");
  }
  const write = compileAttributeMaps(maps);
  const check = compileRules(maps);
  const tracer = trace.getTracer("@tagalong/core");
  // A span's parent is the context active when it starts: spans are recorded in the call's own.
  const destination: Destination = { name: "opentelemetry", recordsInContext: options.emitSpans !== false };
  // Checked when a call is prepared (warned, counted) and left out of what is recorded, as any rule.
  // The start hook gets the metadata prepare() has just checked (frozen: one object, one content),
  // so the last check's issues serve it without running the rules again.
  let checked: Readonly<Metadata> | undefined;
  let checkedIssues: MetadataIssue[] = [];
  if (check) {
    destination.check = (m) => {
      checkedIssues = check(m);
      checked = m;
      return checkedIssues;
    };
  }
  if (options.annotateActiveSpan !== false) {
    destination.start = (m) => {
      const span = trace.getActiveSpan();
      if (span === undefined) return;
      const attributes: OtelAttributes = {};
      write(check ? leaveOut(m, m === checked ? checkedIssues : check(m)) : m, attributes);
      span.setAttributes(attributes);
    };
  }
  if (options.propagateTraceId === true) {
    destination.defaultTrace = () => {
      const traceId = trace.getActiveSpan()?.spanContext?.().traceId;
      return traceId && traceId !== INVALID_TRACE_ID ? traceId : undefined;
    };
  }
  if (options.emitSpans !== false) {
    destination.record = (call) => {
      const attributes: OtelAttributes = {};
      callAttributes(call, attributes);
      write(call.metadata, attributes);
      const span = tracer.startSpan(`${operationName(call)} ${call.model}`, {
        kind: SPAN_KIND_CLIENT,
        startTime: call.startTime,
        attributes,
      });
      if (call.status !== "success") {
        span.setStatus({ code: STATUS_ERROR, message: statusMessage(call) });
      }
      span.end(call.endTime);
    };
  }
  return destination;
}
