/**
 * The vendors' rules (docs/destinations.md), written independently of @tagalong/core on purpose: the
 * recorder must catch core's mistakes, so it cannot reuse core's encoders or validators.
 */
import type { PortkeyView, RecordedRequest, RequestKind } from "./types";

/** Node's default total header limit; hosted gateways answer 431 above it. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The longest value Portkey documents for its metadata; a longer one is a violation. */
export const PORTKEY_MAX_VALUE_LENGTH = 128;
export const REQUESTY_KEYS: Record<string, (v: unknown) => boolean> = {
  tags: (v) => Array.isArray(v) && v.every((t) => typeof t === "string"),
  user_id: (v) => typeof v === "string",
  trace_id: (v) => typeof v === "string",
  extra: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  auto_cache: (v) => typeof v === "boolean",
};
const REQUESTY_TYPES: Record<string, string> = {
  tags: "an array of strings",
  user_id: "a string",
  trace_id: "a string",
  extra: "an object",
  auto_cache: "a boolean",
};

/** Header names a Tagalong adapter may use internally but must never send. */
const PRIVATE_HEADER = /^x-tagalong/i;
/** Body fields that are ours (e.g. `providerOptions.tagalong`) and must never reach a provider. */
const PRIVATE_BODY_FIELD = /^tagalong/i;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Bytes of the header block as sent: `name: value\r\n` per header. */
export function headerBlockBytes(rawHeaders: string[]): number {
  let total = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    total += rawHeaders[i]!.length + rawHeaders[i + 1]!.length + 4;
  return total;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Paths of strings (values or keys) holding half a surrogate pair: text cut in the middle of an emoji. */
function loneSurrogates(value: unknown, path: string, out: string[], depth = 0): void {
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) out.push(path || "(root)");
  } else if (Array.isArray(value)) {
    if (depth < 64)
      for (let i = 0; i < value.length; i++) loneSurrogates(value[i], `${path}[${i}]`, out, depth + 1);
  } else if (typeof value === "object" && value !== null && depth < 64) {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      if (LONE_SURROGATE.test(k)) out.push(`${at} (key)`);
      loneSurrogates(v, at, out, depth + 1);
    }
  }
}

/** Rules every request must keep, whatever its destination. */
export function judgeWire(req: RecordedRequest): string[] {
  const out: string[] = [];
  const cut: string[] = [];
  loneSurrogates(req.body, "", cut);
  for (const path of cut) out.push(`wire: body ${path} holds a lone surrogate (text cut inside a character)`);
  const bytes = headerBlockBytes(req.rawHeaders);
  if (bytes > MAX_HEADER_BYTES)
    out.push(`wire: headers total ${bytes} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    if (PRIVATE_HEADER.test(name)) out.push(`wire: private header ${name.toLowerCase()} reached the wire`);
    if (/[\r\n]/.test(value)) out.push(`wire: header ${name.toLowerCase()} contains CR/LF`);
    // Node decodes header bytes as latin1, so anything above 0x7e arrived as a raw non-ASCII byte.
    const bad = [...value].find((c) => c.charCodeAt(0) > 0x7e || (c.charCodeAt(0) < 0x20 && c !== "\t"));
    if (bad !== undefined) {
      out.push(
        `wire: header ${name.toLowerCase()} is not ASCII (byte 0x${bad.charCodeAt(0).toString(16)}); non-ASCII must be \\u-escaped`,
      );
    }
  }
  return out;
}

/** Portkey's view of a model call and its rule breaks. */
export function judgePortkey(headers: Record<string, string>): { view: PortkeyView; violations: string[] } {
  const violations: string[] = [];
  const portkeyHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (name.startsWith("x-portkey-")) portkeyHeaders[name] = value;
  const view: PortkeyView = { headers: portkeyHeaders };
  const raw = headers["x-portkey-metadata"];
  if (raw !== undefined) {
    view.rawHeader = raw;
    view.metadata = judgePortkeyMetadata("x-portkey-metadata", raw, violations);
  }
  const legacy = headers["x-portkey-meta"];
  if (legacy !== undefined) {
    view.legacyRawHeader = legacy;
    judgePortkeyMetadata("x-portkey-meta", legacy, violations);
  }
  for (const name of [
    "x-portkey-trace-id",
    "x-portkey-span-id",
    "x-portkey-parent-span-id",
    "x-portkey-span-name",
  ]) {
    const value = headers[name];
    if (value === undefined) continue;
    if (value === "" || !PRINTABLE_ASCII.test(value))
      violations.push(`portkey: ${name} is not non-empty printable ASCII`);
  }
  const trace = headers["x-portkey-trace-id"];
  if (trace !== undefined) view.traceId = trace;
  return { view, violations };
}

function judgePortkeyMetadata(
  name: string,
  raw: string,
  violations: string[],
): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    violations.push(`portkey: ${name} is not valid JSON (the gateway silently treats it as {})`);
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    violations.push(
      `portkey: ${name} must be a JSON object (got ${parsed === null ? "null" : Array.isArray(parsed) ? "array" : typeof parsed})`,
    );
    return undefined;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== "string") {
      violations.push(
        `portkey: ${name} value "${key}" must be a string (got ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value})`,
      );
    } else if (value.length > PORTKEY_MAX_VALUE_LENGTH) {
      violations.push(
        `portkey: ${name} value "${key}" has ${value.length} chars (max ${PORTKEY_MAX_VALUE_LENGTH})`,
      );
    }
  }
  return parsed as Record<string, string>;
}

/** Requesty's body object and its rule breaks. */
export function judgeRequesty(body: unknown): { value: unknown; violations: string[] } {
  const violations: string[] = [];
  if (typeof body !== "object" || body === null || !("requesty" in body))
    return { value: undefined, violations };
  const value = (body as Record<string, unknown>).requesty;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    violations.push("requesty: body field requesty must be an object");
    return { value, violations };
  }
  for (const [key, v] of Object.entries(value)) {
    const check = REQUESTY_KEYS[key];
    if (!check)
      violations.push(`requesty: unknown key "${key}" (allowed: ${Object.keys(REQUESTY_KEYS).join(", ")})`);
    else if (!check(v)) violations.push(`requesty: ${key} must be ${REQUESTY_TYPES[key]}`);
  }
  return { value, violations };
}

/** Requesty's analytics headers (`x-requesty-*`, `x-title`, `http-referer`). */
export function requestyHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-requesty-") || name === "x-title" || name === "http-referer") out[name] = value;
  }
  return out;
}

/** Our own body fields that leaked into a provider request. */
export function judgePrivateBodyFields(body: unknown): string[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return [];
  const out: string[] = [];
  for (const key of Object.keys(body)) {
    if (PRIVATE_BODY_FIELD.test(key)) out.push(`wire: private body field "${key}" reached the provider`);
  }
  const providerOptions = (body as Record<string, any>).providerOptions;
  if (providerOptions && typeof providerOptions === "object" && "tagalong" in providerOptions) {
    out.push("wire: providerOptions.tagalong reached the provider");
  }
  return out;
}

/** Keys shorter than this are not searched for (too many false matches). */
const MIN_SECRET_LENGTH = 6;

interface Secret {
  label: string;
  /** Where the secret belongs: its own auth header on requests of this kind is not a leak. */
  home: RequestKind;
}

const AUTH_HEADERS = new Set(["authorization", "api-key", "x-api-key"]);

/**
 * API keys seen on the wire (PromptLayer's `X-API-KEY`, the model call's bearer token) and where
 * each belongs. A key found anywhere else (a body, a URL, a header to the other destination) is a
 * leak: e.g. the OpenAI key copied into PromptLayer's `parameters`, or the PromptLayer key sent to
 * the model provider. Tests should use distinct keys for the two.
 */
export class Secrets {
  private readonly known = new Map<string, Secret>();

  constructor(private readonly promptLayerKey?: string) {
    this.reset();
  }

  reset(): void {
    this.known.clear();
    if (this.promptLayerKey) this.add(this.promptLayerKey, "the PromptLayer API key", "promptlayer");
  }

  learn(req: RecordedRequest): void {
    if (req.kind === "promptlayer") {
      const key = req.headers["x-api-key"];
      if (key) this.add(key, "the PromptLayer API key", "promptlayer");
    } else if (req.kind === "openai") {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      for (const key of [bearer, req.headers["api-key"]])
        if (key) this.add(key, "the model API key", "openai");
    }
  }

  judge(req: RecordedRequest): string[] {
    const out: string[] = [];
    for (const [key, { label, home }] of this.known) {
      if (req.rawBody.includes(key)) out.push(`secret: ${label} appears in the body`);
      if (req.url.includes(key)) out.push(`secret: ${label} appears in the URL`);
      for (const [name, value] of Object.entries(req.headers)) {
        if (req.kind === home && AUTH_HEADERS.has(name)) continue;
        if (value.includes(key)) out.push(`secret: ${label} appears in header ${name}`);
      }
    }
    return out;
  }

  private add(key: string, label: string, home: RequestKind): void {
    if (key.length >= MIN_SECRET_LENGTH && !this.known.has(key)) this.known.set(key, { label, home });
  }
}
