import { TagalongError } from "../errors";
import { isSafeHeaderValue } from "../header";
import { compileMapping, type Declaration } from "../mapping";
import { checkOptions } from "../options";
import type { Destination } from "../types";
import { mappedDestination } from "./mapped";

/** Options of `helicone()`. */
export interface HeliconeOptions {
  /** `Helicone-Session-Name`, shown for the session in Helicone's UI. */
  sessionName?: string;
  /** `Helicone-Session-Path`, e.g. `/agent/search`: where this call sits in the session's tree. */
  sessionPath?: string;
}

const PROPERTY = "helicone-property-";

/** Helicone's mapping: user, session and prompt headers, and one `Helicone-Property-<Key>` per other field. */
export function heliconeDeclaration(options: HeliconeOptions = {}): Declaration {
  return {
    name: "helicone",
    label: "Helicone",
    places: [
      { from: "user", to: "header", key: "helicone-user-id" },
      { from: "session", to: "header", key: "helicone-session-id" },
      { from: "prompt.name", to: "header", key: "helicone-prompt-id" },
      { from: "trace", to: "header", key: `${PROPERTY}trace` },
      { from: "environment", to: "header", key: `${PROPERTY}environment` },
      { from: "organization", to: "header", key: `${PROPERTY}organization` },
      { from: "tags", to: "header", key: `${PROPERTY}tags`, join: "," },
    ],
    extra: { header: (key) => `${PROPERTY}${key}` },
    finish(form) {
      if (form.headers["helicone-session-id"] === undefined) return;
      if (options.sessionName !== undefined) form.headers["helicone-session-name"] = options.sessionName;
      if (options.sessionPath !== undefined) form.headers["helicone-session-path"] = options.sessionPath;
    },
  };
}

/** Helicone: user, session and prompt headers, and one `Helicone-Property-<Key>` per other field. */
export function helicone(options: HeliconeOptions = {}): Destination {
  checkOptions("helicone", options, ["sessionName", "sessionPath"]);
  checkHeaderOption("sessionName", options.sessionName);
  checkHeaderOption("sessionPath", options.sessionPath);
  if (options.sessionPath !== undefined && !options.sessionPath.startsWith("/")) {
    throw new TagalongError(
      'helicone: sessionPath must start with "/" (Helicone reads it as a path, e.g. /agent/search)',
    );
  }
  return mappedDestination(compileMapping(heliconeDeclaration(options)));
}

/** A fixed header value of an option: checked once here, as fetch would refuse it on every call. */
function checkHeaderOption(option: "sessionName" | "sessionPath", value: unknown): void {
  if (value === undefined) return;
  const header = option === "sessionName" ? "helicone-session-name" : "helicone-session-path";
  if (typeof value !== "string" || value.length === 0)
    throw new TagalongError(`helicone: ${option} must be a string, not empty`);
  if (!isSafeHeaderValue(value))
    throw new TagalongError(
      `helicone: ${option} must be printable ASCII (it travels as the ${header} header)`,
    );
  if (value !== value.trim())
    throw new TagalongError(
      `helicone: ${option} must not start or end with a space (the ${header} header loses it)`,
    );
}
