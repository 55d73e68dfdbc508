const NON_ASCII = /[\u007f-\uffff]/g;
const HAS_NON_ASCII = /[\u007f-\uffff]/;

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * JSON that is a valid HTTP header value: every character outside printable ASCII is escaped
 * as \uXXXX (JSON.stringify already escapes control characters), so "Zoë 😀" survives Node's
 * ByteString check and JSON.parse on the other side restores it exactly.
 */
export function headerJson(value: unknown): string {
  const json = JSON.stringify(value);
  // Most metadata is ASCII: a test scans without building a new string.
  return HAS_NON_ASCII.test(json) ? json.replace(NON_ASCII, escapeChar) : json;
}

const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;

/** Whether a string can stand as a header value as is: printable ASCII, no CR/LF. */
export function isSafeHeaderValue(value: string): boolean {
  return PRINTABLE_ASCII.test(value);
}

/** Bytes a set of headers adds to a request, counted as `name: value\r\n`. */
export function headerBytes(headers: Record<string, string>): number {
  let total = 0;
  for (const name in headers) total += name.length + headers[name]!.length + 4;
  return total;
}
