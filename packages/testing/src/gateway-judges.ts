// What Helicone, Cloudflare AI Gateway, LiteLLM and OpenRouter would receive with a model call, and
// their rule breaks (docs/destinations.md). Written from the vendors' rules, independent of
// @tagalong/core, so that it can catch the core's mistakes.

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
export const CLOUDFLARE_MAX_ENTRIES = 5;
export const OPENROUTER_SESSION_MAX = 128;

/** What a call carried for Helicone: its `helicone-*` headers, parsed. */
export interface HeliconeView {
  /** Every `helicone-*` header (lowercased names). */
  headers: Record<string, string>;
  userId?: string;
  sessionId?: string;
  sessionName?: string;
  sessionPath?: string;
  promptId?: string;
  /** `Helicone-Property-<Key>` headers by key (as lowercased on the wire). */
  properties: Record<string, string>;
}

/** What a call carried for Cloudflare AI Gateway: the `cf-aig-metadata` header, parsed. */
export interface CloudflareView {
  /** `cf-aig-metadata` parsed (undefined when absent or not a JSON object). */
  metadata?: Record<string, unknown>;
  rawHeader?: string;
}

/** What a call carried for the LiteLLM proxy: its `x-litellm-*` headers and `litellm_session_id`. */
export interface LiteLLMView {
  userId?: string;
  tags?: string[];
  /** `x-litellm-spend-logs-metadata` parsed. */
  spendLogsMetadata?: Record<string, unknown>;
  /** Body `litellm_session_id`. */
  sessionId?: unknown;
}

/** What a call carried for OpenRouter: the body's `user`, `session_id` and `trace`. */
export interface OpenRouterView {
  user?: unknown;
  sessionId?: unknown;
  trace?: unknown;
}

function parseObject(raw: string, label: string, violations: string[]): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(raw);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed;
    violations.push(`${label} must be a JSON object`);
  } catch {
    violations.push(`${label} is not valid JSON`);
  }
  return undefined;
}

export function judgeHelicone(headers: Record<string, string>): { view: HeliconeView; violations: string[] } {
  const violations: string[] = [];
  const view: HeliconeView = { headers: {}, properties: {} };
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith("helicone-")) continue;
    view.headers[name] = value;
    if (!PRINTABLE_ASCII.test(value)) violations.push(`helicone: ${name} is not printable ASCII`);
    if (name.startsWith("helicone-property-")) {
      const key = name.slice("helicone-property-".length);
      if (!TOKEN.test(key)) violations.push(`helicone: property name "${key}" is not a header token`);
      view.properties[key] = value;
    }
  }
  view.userId = headers["helicone-user-id"];
  view.sessionId = headers["helicone-session-id"];
  view.sessionName = headers["helicone-session-name"];
  view.sessionPath = headers["helicone-session-path"];
  view.promptId = headers["helicone-prompt-id"];
  if (view.sessionPath !== undefined && !view.sessionPath.startsWith("/")) {
    violations.push("helicone: helicone-session-path must start with /");
  }
  if ((view.sessionName !== undefined || view.sessionPath !== undefined) && view.sessionId === undefined) {
    violations.push("helicone: session name or path without helicone-session-id");
  }
  return { view, violations };
}

export function judgeCloudflare(headers: Record<string, string>): {
  view: CloudflareView;
  violations: string[];
} {
  const violations: string[] = [];
  const raw = headers["cf-aig-metadata"];
  const view: CloudflareView = {};
  if (raw === undefined) return { view, violations };
  view.rawHeader = raw;
  if (!PRINTABLE_ASCII.test(raw)) violations.push("cloudflare: cf-aig-metadata is not printable ASCII");
  const parsed = parseObject(raw, "cloudflare: cf-aig-metadata", violations);
  if (parsed) {
    view.metadata = parsed;
    const entries = Object.entries(parsed);
    if (entries.length > CLOUDFLARE_MAX_ENTRIES) {
      violations.push(
        `cloudflare: cf-aig-metadata has ${entries.length} entries (the gateway keeps ${CLOUDFLARE_MAX_ENTRIES})`,
      );
    }
    for (const [key, value] of entries) {
      const ok =
        typeof value === "string" ||
        typeof value === "boolean" ||
        (typeof value === "number" && Number.isFinite(value));
      if (!ok)
        violations.push(`cloudflare: cf-aig-metadata value "${key}" must be a string, number or boolean`);
    }
  }
  return { view, violations };
}

export function judgeLiteLLM(
  headers: Record<string, string>,
  body: unknown,
): { view: LiteLLMView; violations: string[] } {
  const violations: string[] = [];
  const view: LiteLLMView = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-litellm-") && !PRINTABLE_ASCII.test(value))
      violations.push(`litellm: ${name} is not printable ASCII`);
  }
  view.userId = headers["x-litellm-end-user-id"];
  const tags = headers["x-litellm-tags"];
  if (tags !== undefined) {
    view.tags = tags.split(",");
    if (view.tags.some((t) => t.trim() === "")) violations.push("litellm: x-litellm-tags has an empty tag");
  }
  const spend = headers["x-litellm-spend-logs-metadata"];
  if (spend !== undefined)
    view.spendLogsMetadata = parseObject(spend, "litellm: x-litellm-spend-logs-metadata", violations);
  if (typeof body === "object" && body !== null) {
    const b = body as Record<string, unknown>;
    if ("litellm_session_id" in b) {
      view.sessionId = b.litellm_session_id;
      if (typeof b.litellm_session_id !== "string")
        violations.push("litellm: litellm_session_id must be a string");
    }
    // Body `metadata` has reached providers through some LiteLLM routes, and OpenAI rejects it without `store`.
    if ("metadata" in b && b.store !== true)
      violations.push("litellm: body metadata without store may reach the provider");
  }
  return { view, violations };
}

export function judgeOpenRouter(body: unknown): { view: OpenRouterView; violations: string[] } {
  const violations: string[] = [];
  const view: OpenRouterView = {};
  if (typeof body !== "object" || body === null) return { view, violations };
  const b = body as Record<string, unknown>;
  if ("user" in b) {
    view.user = b.user;
    if (typeof b.user !== "string") violations.push("openrouter: user must be a string");
  }
  if ("session_id" in b) {
    view.sessionId = b.session_id;
    if (typeof b.session_id !== "string") violations.push("openrouter: session_id must be a string");
    else if (b.session_id.length > OPENROUTER_SESSION_MAX) {
      violations.push(
        `openrouter: session_id has ${b.session_id.length} chars (max ${OPENROUTER_SESSION_MAX})`,
      );
    }
  }
  if ("trace" in b) {
    view.trace = b.trace;
    const t = b.trace;
    if (typeof t !== "object" || t === null || Array.isArray(t))
      violations.push("openrouter: trace must be an object");
    else {
      for (const key of ["trace_id", "trace_name", "span_name", "generation_name", "parent_span_id"]) {
        const v = (t as Record<string, unknown>)[key];
        if (v !== undefined && typeof v !== "string")
          violations.push(`openrouter: trace.${key} must be a string`);
      }
    }
  }
  return { view, violations };
}
