/**
 * The deterministic "model": what it answers is derived from the request only, so tests can
 * assert exact values without hard-coding anything the recorder did not compute from the input.
 */

/** Token count for a text: one token per started 4 characters (0 for ""). */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Text of an OpenAI content value: a string, or an array of parts with `text`. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === "object" && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  return "";
}

/** The reply text for a user message: `echo: <text>`. */
export function replyText(lastUserText: string): string {
  return `echo: ${lastUserText}`;
}

/** Split a reply into stream deltas at word boundaries; the deltas join back to `text` exactly. */
export function deltas(text: string): string[] {
  const parts = text.split(/(?<=\s)/);
  return parts.length > 0 ? parts : [text];
}

/**
 * A value that satisfies a simple JSON schema: required properties filled, strings "x" (or the
 * first enum / const), numbers and integers 1 (or the minimum), booleans true, arrays of
 * `minItems` items (default []), null for null, first branch of anyOf/oneOf, local `$ref`s resolved.
 * Optional properties are left out. Good enough for `parse()` with zod schemas; not a validator.
 */
export function fillSchema(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!schema || typeof schema !== "object" || depth > 12) return null;
  const s = schema as Record<string, any>;
  if (typeof s.$ref === "string") return fillSchema(resolveRef(root, s.$ref), root, depth + 1);
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches) && branches.length > 0) {
    const nonNull = branches.find((b: any) => b?.type !== "null") ?? branches[0];
    return fillSchema(nonNull, root, depth + 1);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    return Object.assign({}, ...s.allOf.map((b: unknown) => fillSchema(b, root, depth + 1)));
  }
  const type = Array.isArray(s.type) ? (s.type.find((t: string) => t !== "null") ?? s.type[0]) : s.type;
  switch (type) {
    case "string":
      return "x".repeat(Math.max(1, typeof s.minLength === "number" ? s.minLength : 1));
    case "number":
    case "integer":
      return typeof s.minimum === "number" && s.minimum > 1 ? Math.ceil(s.minimum) : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const n = typeof s.minItems === "number" ? s.minItems : 0;
      return Array.from({ length: n }, () => fillSchema(s.items, root, depth + 1));
    }
    default: {
      if (type !== "object" && !s.properties) return {};
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required: string[] = Array.isArray(s.required) ? s.required : [];
      for (const key of required) out[key] = fillSchema(props[key], root, depth + 1);
      return out;
    }
  }
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let node: any = root;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = node?.[key];
  }
  return node;
}

/** A deterministic unit-ish vector for a text (values exactly representable as float32). */
export function embed(text: string, dimensions: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  const out: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ i;
    out.push(Math.fround(((h >>> 0) % 2001) / 1000 - 1));
  }
  return out;
}

/** Little-endian float32 bytes, base64: what OpenAI answers for `encoding_format: "base64"`. */
export function embeddingBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}
