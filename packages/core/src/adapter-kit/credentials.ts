// The credentials a call carried, so that an error message echoing them (a gateway or a self-hosted
// server answering 401 "Incorrect API key provided: ...") can be scrubbed before it leaves the process,
// whatever their shape.

/**
 * Header names that carry credentials, lowercased: `authorization` (`proxy-authorization`,
 * `cf-aig-authorization`), `cookie`, and any name ending in `key`, `token`, `secret`, `password` or
 * `auth` (`api-key`, `x-api-key`, `x-portkey-api-key`, `x-portkey-virtual-key`, `helicone-auth`).
 */
const CREDENTIAL_NAME = /(?:authorization|cookie|key|token|secret|password|auth)$/;

/** The scheme of an Authorization value, which the bare credential follows. */
const SCHEME = /^(?:bearer|basic|token)\s+/i;

function addValue(out: string[], value: unknown): void {
  if (typeof value !== "string" || value === "") return;
  out.push(value);
  const bare = value.replace(SCHEME, "");
  if (bare !== value) out.push(bare);
}

function addHeaders(out: string[], headers: object): void {
  const visit = (name: string, value: unknown) => {
    if (CREDENTIAL_NAME.test(name.toLowerCase())) addValue(out, value);
  };
  if (headers instanceof Headers) {
    headers.forEach((value, name) => {
      visit(name, value);
    });
  } else if (Array.isArray(headers)) {
    for (const pair of headers) if (Array.isArray(pair)) visit(String(pair[0]), pair[1]);
  } else {
    const record = headers as Record<string, unknown>;
    for (const name in record) visit(name, record[name]);
  }
}

/**
 * The credential values among `sources`: a string is a credential itself (a client's API key); an
 * object is a call's request headers (a `Headers`, [name, value] pairs or a record), of which the
 * values of headers named like credentials are taken (names compared case-insensitively), each both
 * as sent and without its `Bearer `/`Basic ` scheme. Other values are skipped. Meant for the error
 * path: pass the result to `errorInfo`.
 */
export function callCredentials(...sources: unknown[]): string[] {
  const out: string[] = [];
  for (const source of sources) {
    if (typeof source === "string") addValue(out, source);
    else if (source !== null && typeof source === "object") addHeaders(out, source);
  }
  return out;
}
