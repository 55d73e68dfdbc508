import { isSafeHeaderValue } from "../header";
import { checkOptions } from "../options";
import type { Destination, Metadata, MetadataIssue } from "../types";

/** Options of `helicone()`. */
export interface HeliconeOptions {
  /** `Helicone-Session-Name`, shown for the session in Helicone's UI. */
  sessionName?: string;
  /** `Helicone-Session-Path`, e.g. `/agent/search`: where this call sits in the session's tree. */
  sessionPath?: string;
}

const NAME = "helicone";
// Header names are tokens; custom keys become part of one.
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function titleCase(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** Helicone's headers for this metadata, with where each value came from (for error messages). */
function heliconeEntries(
  m: Metadata,
  options: HeliconeOptions,
): Array<[header: string, value: string, path: string]> {
  const out: Array<[string, string, string]> = [];
  if (m.user !== undefined) out.push(["Helicone-User-Id", m.user, "user"]);
  if (m.session !== undefined) {
    out.push(["Helicone-Session-Id", m.session, "session"]);
    if (options.sessionName !== undefined)
      out.push(["Helicone-Session-Name", options.sessionName, "session"]);
    if (options.sessionPath !== undefined)
      out.push(["Helicone-Session-Path", options.sessionPath, "session"]);
  }
  if (m.prompt !== undefined) out.push(["Helicone-Prompt-Id", m.prompt.name, "prompt.name"]);
  if (m.trace !== undefined) out.push(["Helicone-Property-Trace", m.trace, "trace"]);
  if (m.environment !== undefined) out.push(["Helicone-Property-Environment", m.environment, "environment"]);
  if (m.organization !== undefined)
    out.push(["Helicone-Property-Organization", m.organization, "organization"]);
  if (m.tags !== undefined && m.tags.length > 0)
    out.push(["Helicone-Property-Tags", m.tags.join(","), "tags"]);
  if (m.extra) {
    for (const key in m.extra)
      out.push([`Helicone-Property-${titleCase(key)}`, String(m.extra[key]), `extra.${key}`]);
  }
  return out;
}

const RESERVED_PROPERTIES = new Set(["trace", "environment", "organization", "tags"]);

/** Helicone: user, session and prompt headers, and one `Helicone-Property-<Key>` per other field. */
export function helicone(options: HeliconeOptions = {}): Destination {
  checkOptions("helicone", options, ["sessionName", "sessionPath"]);
  return {
    name: NAME,
    check(m) {
      const issues: MetadataIssue[] = [];
      if (m.extra) {
        for (const key in m.extra) {
          if (!TOKEN.test(key)) {
            issues.push({
              path: `extra.${key}`,
              rule: "key must be a header token (letters, digits, - and _)",
              destination: NAME,
            });
          } else if (RESERVED_PROPERTIES.has(key.toLowerCase())) {
            issues.push({
              path: `extra.${key}`,
              rule: "collides with a property Helicone gets from the model",
              destination: NAME,
            });
          }
        }
      }
      for (const [, value, path] of heliconeEntries(m, options)) {
        if (!isSafeHeaderValue(value)) {
          issues.push({
            path,
            rule: "must be printable ASCII to travel as a Helicone header",
            destination: NAME,
          });
        }
      }
      return issues;
    },
    encode(m) {
      const headers: Record<string, string> = {};
      for (const [name, value] of heliconeEntries(m, options)) headers[name.toLowerCase()] = value;
      return { headers };
    },
  };
}
