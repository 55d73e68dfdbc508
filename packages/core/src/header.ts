const NON_ASCII = /[\u007f-\uffff]/g;

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
  // Most metadata is ASCII: a scan that builds nothing. (A loop, not a regex test: this runs on every
  // call's path, right after the process waited for I/O, and a cold regex costs a microsecond there.)
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) > 0x7e) return json.replace(NON_ASCII, escapeChar);
  }
  return json;
}

/** Whether a string can stand as a header value as is: printable ASCII, no CR/LF. */
export function isSafeHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Bytes a set of headers adds to a request, counted as `name: value\r\n`. */
export function headerBytes(headers: Record<string, string>): number {
  let total = 0;
  for (const name in headers) total += name.length + headers[name]!.length + 4;
  return total;
}
