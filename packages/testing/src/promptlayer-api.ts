/**
 * PromptLayer's REST API as far as Tagalong uses it, with its rules (docs/destinations.md):
 * `POST /log-request` (201 `{id}`, 422 `{detail}`), `POST /rest/track-metadata` and
 * `POST /rest/track-prompt` (200 `{success, message}`, 400), all behind `X-API-KEY` (401).
 */

export const PROMPTLAYER_ROUTES = {
  "/log-request": "log-request",
  "/rest/track-metadata": "track-metadata",
  "/rest/track-prompt": "track-prompt",
} as const;

export type PromptLayerEndpoint = (typeof PROMPTLAYER_ROUTES)[keyof typeof PROMPTLAYER_ROUTES];

export interface PromptLayerAnswer {
  status: number;
  payload: unknown;
  /** Rule breaks (schema errors that were refused, and softer ones that were accepted). */
  violations: string[];
  /** For an accepted log-request: the id assigned. */
  logId?: number;
  /** For track-*: the request_id named in the body, when it is an integer. */
  requestId?: number;
}

/** Fields PromptLayer's log-request accepts (PromptLayer's docs; docs/destinations.md). */
const LOG_REQUEST_FIELDS = new Set([
  "provider",
  "model",
  "input",
  "output",
  "request_start_time",
  "request_end_time",
  "parameters",
  "tags",
  "metadata",
  "input_tokens",
  "output_tokens",
  "api_type",
  "function_name",
  "status",
  "error_type",
  "error_message",
  "prompt_name",
  "prompt_id",
  "prompt_version_number",
  "prompt_input_variables",
  "price",
  "score",
  "scores",
  "span_id",
]);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const ROLES = new Set(["system", "user", "assistant", "tool", "developer", "function", "placeholder"]);
/** The content blocks a template takes (its schema's discriminator: TextContent, ThinkingContent, ...). */
const BLOCK_TYPES = new Set(["text", "thinking", "image_url", "media", "media_variable"]);

interface Issue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The mutable state PromptLayer keeps: assigned ids. */
export class PromptLayerState {
  nextId = 1;
  readonly ids = new Set<number>();

  reset(): void {
    this.nextId = 1;
    this.ids.clear();
  }
}

/** 401 when the key is missing or (when one is configured) wrong. */
export function checkApiKey(
  headers: Record<string, string>,
  expected: string | undefined,
): string | undefined {
  const key = headers["x-api-key"];
  if (key === undefined || key === "") return "missing X-API-KEY header";
  if (expected !== undefined && key !== expected) return "X-API-KEY does not match the configured key";
  return undefined;
}

export function answerPromptLayer(
  endpoint: PromptLayerEndpoint,
  body: unknown,
  headers: Record<string, string>,
  state: PromptLayerState,
  apiKey: string | undefined,
): PromptLayerAnswer {
  const keyProblem = checkApiKey(headers, apiKey);
  if (keyProblem) {
    return {
      status: 401,
      payload: { success: false, message: `Unauthorized: ${keyProblem}` },
      violations: [`promptlayer: ${keyProblem}`],
    };
  }
  const violations: string[] = [];
  if (isObject(body) && ("api_key" in body || "apiKey" in body)) {
    violations.push("promptlayer: API key sent in the body (it belongs in X-API-KEY only)");
  }
  switch (endpoint) {
    case "log-request":
      return logRequest(body, state, violations);
    case "track-metadata":
      return trackMetadata(body, state, violations);
    case "track-prompt":
      return trackPrompt(body, state, violations);
  }
}

function logRequest(body: unknown, state: PromptLayerState, violations: string[]): PromptLayerAnswer {
  const issues: Issue[] = [];
  const soft: string[] = [];
  if (!isObject(body)) {
    issues.push({ loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type" });
  } else {
    for (const field of ["provider", "model"]) {
      if (!(field in body)) issues.push(missing(field));
      else if (typeof body[field] !== "string" || body[field] === "") issues.push(stringIssue(field));
    }
    for (const field of ["input", "output"]) {
      if (!(field in body)) issues.push(missing(field));
      else checkTemplate(body[field], [field], issues, soft);
    }
    for (const field of ["request_start_time", "request_end_time"]) {
      if (!(field in body)) issues.push(missing(field));
      else if (typeof body[field] !== "string" || !ISO_8601.test(body[field])) {
        issues.push({
          loc: ["body", field],
          msg: "Input should be an ISO 8601 datetime string",
          type: "datetime",
        });
      }
    }
    if (
      typeof body.request_start_time === "string" &&
      typeof body.request_end_time === "string" &&
      Date.parse(body.request_end_time) < Date.parse(body.request_start_time)
    ) {
      soft.push("request_end_time is before request_start_time");
    }
    if ("tags" in body) {
      if (!Array.isArray(body.tags))
        issues.push({ loc: ["body", "tags"], msg: "Input should be a valid list", type: "list_type" });
      else
        body.tags.forEach((tag: unknown, i: number) => {
          if (typeof tag !== "string") issues.push(stringIssue("tags", i));
          else tooLong(tag, 512, ["tags", i], issues);
        });
    }
    if ("metadata" in body) checkStringMap(body.metadata, ["metadata"], issues);
    if (
      "prompt_version_number" in body &&
      body.prompt_version_number !== null &&
      !(Number.isInteger(body.prompt_version_number) && body.prompt_version_number >= 1)
    ) {
      issues.push({
        loc: ["body", "prompt_version_number"],
        msg: "Input should be an integer >= 1",
        type: "int_type",
      });
    }
    if (
      ("prompt_version_number" in body || "prompt_input_variables" in body) &&
      !("prompt_name" in body || "prompt_id" in body)
    ) {
      soft.push("prompt_version_number or prompt_input_variables without prompt_name or prompt_id");
    }
    if ("prompt_input_variables" in body && !isObject(body.prompt_input_variables)) {
      issues.push({
        loc: ["body", "prompt_input_variables"],
        msg: "Input should be a valid dictionary",
        type: "dict_type",
      });
    }
    if ("parameters" in body && !isObject(body.parameters)) {
      issues.push({
        loc: ["body", "parameters"],
        msg: "Input should be a valid dictionary",
        type: "dict_type",
      });
    }
    for (const field of ["input_tokens", "output_tokens"]) {
      if (field in body && !(Number.isInteger(body[field]) && body[field] >= 0)) {
        issues.push({
          loc: ["body", field],
          msg: "Input should be a non-negative integer",
          type: "int_type",
        });
      }
    }
    enumIssue(body, "api_type", ["chat-completions", "responses"], issues);
    enumIssue(body, "status", ["SUCCESS", "WARNING", "ERROR"], issues);
    checkErrorType(body, issues);
    for (const field of ["function_name", "prompt_name"]) {
      if (field in body && body[field] !== null && typeof body[field] !== "string")
        issues.push(stringIssue(field));
    }
    if ("error_message" in body && body.error_message !== null) {
      if (typeof body.error_message !== "string") issues.push(stringIssue("error_message"));
      else tooLong(body.error_message, 1024, ["error_message"], issues);
    }
    if (body.status === "ERROR" && (!body.error_type || !body.error_message)) {
      soft.push("status ERROR without error_type and error_message");
    }
    for (const key of Object.keys(body)) {
      if (!LOG_REQUEST_FIELDS.has(key) && key !== "api_key" && key !== "apiKey")
        soft.push(`unknown field "${key}"`);
    }
  }
  for (const issue of issues)
    violations.push(`promptlayer: log-request ${issue.loc.slice(1).join(".") || "body"}: ${issue.msg}`);
  for (const s of soft) violations.push(`promptlayer: log-request ${s}`);
  if (issues.length > 0) return { status: 422, payload: { detail: issues }, violations };
  const id = state.nextId++;
  state.ids.add(id);
  const b = body as Record<string, any>;
  return {
    status: 201,
    payload: {
      id,
      success: true,
      provider: b.provider,
      model: b.model,
      tags: b.tags ?? [],
      request_start_time: b.request_start_time,
      request_end_time: b.request_end_time,
    },
    violations,
    logId: id,
  };
}

function trackMetadata(body: unknown, state: PromptLayerState, violations: string[]): PromptLayerAnswer {
  const problems: string[] = [];
  let requestId: number | undefined;
  if (!isObject(body)) problems.push("body must be a JSON object");
  else {
    requestId = checkRequestId(body, problems);
    if (!("metadata" in body)) problems.push("metadata: field required");
    else if (!isObject(body.metadata)) problems.push("metadata: must be an object");
    else {
      for (const [k, v] of Object.entries(body.metadata)) {
        if (typeof v !== "string") problems.push(`metadata.${k}: must be a string (got ${jsonType(v)})`);
      }
    }
  }
  return trackAnswer(
    "track-metadata",
    problems,
    requestId,
    state,
    violations,
    "Metadata tracked successfully",
  );
}

function trackPrompt(body: unknown, state: PromptLayerState, violations: string[]): PromptLayerAnswer {
  const problems: string[] = [];
  let requestId: number | undefined;
  if (!isObject(body)) problems.push("body must be a JSON object");
  else {
    requestId = checkRequestId(body, problems);
    if (typeof body.prompt_name !== "string" || body.prompt_name.length < 1) {
      problems.push("prompt_name: must be a string of at least 1 character");
    }
    if ("prompt_input_variables" in body && body.prompt_input_variables !== undefined) {
      if (!isObject(body.prompt_input_variables)) problems.push("prompt_input_variables: must be an object");
      else {
        for (const [k, v] of Object.entries(body.prompt_input_variables)) {
          if (typeof v !== "string")
            problems.push(`prompt_input_variables.${k}: must be a string (got ${jsonType(v)})`);
        }
      }
    }
    const hasVersion = "version" in body && body.version !== undefined && body.version !== null;
    const hasLabel = "label" in body && body.label !== undefined && body.label !== null;
    if (hasVersion && !Number.isInteger(body.version)) problems.push("version: must be an integer");
    if (
      hasLabel &&
      (typeof body.label !== "string" || body.label.length < 1 || codePoints(body.label) > 512)
    ) {
      problems.push("label: must be a string of 1..512 characters");
    }
    if (hasVersion && hasLabel) problems.push("version and label are mutually exclusive");
  }
  return trackAnswer("track-prompt", problems, requestId, state, violations, "Prompt tracked successfully");
}

function trackAnswer(
  endpoint: string,
  problems: string[],
  requestId: number | undefined,
  state: PromptLayerState,
  violations: string[],
  okMessage: string,
): PromptLayerAnswer {
  for (const p of problems) violations.push(`promptlayer: ${endpoint} ${p}`);
  if (problems.length > 0) {
    return { status: 400, payload: { success: false, message: problems.join("; ") }, violations, requestId };
  }
  if (requestId === undefined || !state.ids.has(requestId)) {
    violations.push(
      `promptlayer: ${endpoint} for request_id ${requestId} that no log-request has returned (out of order or unknown)`,
    );
    return {
      status: 400,
      payload: { success: false, message: `Request with id ${requestId} not found` },
      violations,
      requestId,
    };
  }
  return { status: 200, payload: { success: true, message: okMessage }, violations, requestId };
}

function checkRequestId(body: Record<string, any>, problems: string[]): number | undefined {
  if (!("request_id" in body)) {
    problems.push("request_id: field required");
    return undefined;
  }
  if (!Number.isInteger(body.request_id)) {
    problems.push(`request_id: must be an integer (got ${jsonType(body.request_id)})`);
    return undefined;
  }
  return body.request_id;
}

/** `{type: "chat", messages}` (or `{type: "completion", content}`) with content as block arrays. */
function checkTemplate(value: unknown, loc: (string | number)[], issues: Issue[], soft: string[]): void {
  const at = ["body", ...loc];
  if (!isObject(value)) {
    issues.push({ loc: at, msg: "Input should be a prompt template object", type: "dict_type" });
    return;
  }
  if (value.type === "completion") {
    checkBlocks(value.content, [...loc, "content"], issues);
    return;
  }
  if (value.type !== "chat") {
    issues.push({
      loc: [...at, "type"],
      msg: "Input should be 'chat' or 'completion'",
      type: "literal_error",
    });
    return;
  }
  if (!Array.isArray(value.messages)) {
    issues.push({ loc: [...at, "messages"], msg: "Input should be a valid list", type: "list_type" });
    return;
  }
  value.messages.forEach((m: unknown, i: number) => {
    const mloc = [...loc, "messages", i];
    if (!isObject(m)) {
      issues.push({ loc: ["body", ...mloc], msg: "Input should be a message object", type: "dict_type" });
      return;
    }
    if (!ROLES.has(m.role)) {
      issues.push({
        loc: ["body", ...mloc, "role"],
        msg: `Unknown role ${JSON.stringify(m.role)}`,
        type: "literal_error",
      });
    }
    checkBlocks(m.content, [...mloc, "content"], issues);
    if ("tool_calls" in m && m.tool_calls !== null && m.tool_calls !== undefined) {
      if (!Array.isArray(m.tool_calls)) {
        issues.push({
          loc: ["body", ...mloc, "tool_calls"],
          msg: "Input should be a valid list",
          type: "list_type",
        });
      } else {
        m.tool_calls.forEach((call: any, j: number) => {
          const ok =
            isObject(call) &&
            typeof call.id === "string" &&
            call.type === "function" &&
            isObject(call.function) &&
            typeof call.function.name === "string" &&
            typeof call.function.arguments === "string";
          if (!ok) {
            issues.push({
              loc: ["body", ...mloc, "tool_calls", j],
              msg: "Input should be {id, type: 'function', function: {name, arguments: string}}",
              type: "model_type",
            });
          }
        });
      }
    }
    if (m.role === "tool" && typeof m.tool_call_id !== "string") {
      soft.push(`${mloc.join(".")}: tool message without tool_call_id`);
    }
  });
}

function checkBlocks(content: unknown, loc: (string | number)[], issues: Issue[]): void {
  if (!Array.isArray(content)) {
    issues.push({
      loc: ["body", ...loc],
      msg:
        typeof content === "string"
          ? "content must be an array of blocks like [{type: 'text', text}], not a string"
          : "Input should be a valid list of content blocks",
      type: "list_type",
    });
    return;
  }
  content.forEach((block: unknown, i: number) => {
    if (!isObject(block) || typeof block.type !== "string") {
      issues.push({
        loc: ["body", ...loc, i],
        msg: "Input should be a content block with a type",
        type: "model_type",
      });
    } else if (!BLOCK_TYPES.has(block.type)) {
      issues.push({
        loc: ["body", ...loc, i, "type"],
        msg: `Input tag ${JSON.stringify(block.type)} does not match any of ${[...BLOCK_TYPES].map((t) => `'${t}'`).join(", ")}`,
        type: "union_tag_invalid",
      });
    } else if (block.type === "text" && typeof block.text !== "string") {
      issues.push({
        loc: ["body", ...loc, i, "text"],
        msg: "Input should be a valid string",
        type: "string_type",
      });
    }
  });
}

/** Log-request's metadata: string values, keys of at most 1024 characters. */
function checkStringMap(value: unknown, loc: string[], issues: Issue[]): void {
  if (!isObject(value)) {
    issues.push({ loc: ["body", ...loc], msg: "Input should be a valid dictionary", type: "dict_type" });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    tooLong(k, 1024, [...loc, "(key)"], issues);
    if (typeof v !== "string") {
      issues.push({
        loc: ["body", ...loc, k],
        msg: `Input should be a valid string (got ${jsonType(v)})`,
        type: "string_type",
      });
    }
  }
}

/** PromptLayer's categories of `error_type`, each with the statuses it may go with (its log-request schema). */
const ERROR_TYPES: Record<string, readonly string[]> = {
  PROVIDER_RATE_LIMIT: ["WARNING", "ERROR"],
  PROVIDER_QUOTA_LIMIT: ["WARNING", "ERROR"],
  VARIABLE_MISSING_OR_EMPTY: ["WARNING"],
  PROVIDER_TIMEOUT: ["ERROR"],
  PROVIDER_AUTH_ERROR: ["ERROR"],
  PROVIDER_ERROR: ["ERROR"],
  TEMPLATE_RENDER_ERROR: ["ERROR"],
  UNKNOWN_ERROR: ["WARNING", "ERROR"],
};

function checkErrorType(body: Record<string, any>, issues: Issue[]): void {
  if (!("error_type" in body) || body.error_type === null) return;
  enumIssue(body, "error_type", Object.keys(ERROR_TYPES), issues);
  const statuses = ERROR_TYPES[body.error_type];
  const status = body.status ?? "SUCCESS";
  if (statuses !== undefined && !statuses.includes(status)) {
    issues.push({
      loc: ["body", "error_type"],
      msg: `${body.error_type} is not allowed with status ${status}`,
      type: "value_error",
    });
  }
}

function enumIssue(body: Record<string, any>, field: string, allowed: string[], issues: Issue[]): void {
  if (field in body && body[field] !== null && !allowed.includes(body[field])) {
    issues.push({
      loc: ["body", field],
      msg: `Input should be ${allowed.map((a) => `'${a}'`).join(" or ")} (got ${JSON.stringify(body[field])})`,
      type: "enum",
    });
  }
}

const missing = (field: string): Issue => ({ loc: ["body", field], msg: "Field required", type: "missing" });
const stringIssue = (field: string, index?: number): Issue => ({
  loc: index === undefined ? ["body", field] : ["body", field, index],
  msg: "Input should be a valid string",
  type: "string_type",
});

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** PromptLayer is a Python service: its length limits count code points, not UTF-16 units. */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function tooLong(text: string, max: number, loc: (string | number)[], issues: Issue[]): void {
  const n = codePoints(text);
  if (n > max) {
    issues.push({
      loc: ["body", ...loc],
      msg: `String should have at most ${max} characters (has ${n})`,
      type: "string_too_long",
    });
  }
}
