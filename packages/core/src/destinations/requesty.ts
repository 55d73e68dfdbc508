import { compileMapping, type Declaration } from "../mapping";
import { checkOptions, checkValues } from "../options";
import type { Destination, Metadata } from "../types";
import { mappedDestination } from "./mapped";

/** Options of `requesty()`. */
export interface RequestyOptions {
  /** Sets `requesty.auto_cache`. */
  autoCache?: boolean;
}

/** Requesty's mapping: the `requesty` body object `{tags, user_id, trace_id, extra}`. */
export function requestyDeclaration(options: RequestyOptions = {}): Declaration {
  return {
    name: "requesty",
    label: "Requesty",
    objects: {
      requesty: { body: ["requesty"], constants: { auto_cache: options.autoCache } },
      extra: { body: ["requesty", "extra"] },
    },
    places: [
      { from: "tags", to: "requesty", key: "tags" },
      { from: "user", to: "requesty", key: "user_id" },
      { from: "trace", to: "requesty", key: "trace_id" },
      { from: "session", to: "extra", key: "session_id" },
      { from: "environment", to: "extra", key: "environment" },
      { from: "organization", to: "extra", key: "organization" },
      { from: "prompt.name", to: "extra", key: "prompt_title" },
    ],
    extra: { to: "extra" },
  };
}

/** Requesty: the `requesty` body field `{tags, user_id, trace_id, extra}`. */
export function requesty(options: RequestyOptions = {}): Destination {
  checkOptions("requesty", options, ["autoCache"]);
  checkValues("requesty", options, { autoCache: "boolean" });
  return mappedDestination(compileMapping(requestyDeclaration(options)));
}

/** Requesty's `requesty` body object. */
export interface RequestyField {
  tags?: string[];
  user_id?: string;
  trace_id?: string;
  extra?: Record<string, string | number | boolean>;
  auto_cache?: boolean;
}

/** Requesty's `requesty` body object for this metadata; undefined when there is nothing to send. */
export function requestyField(m: Metadata, options: RequestyOptions = {}): RequestyField | undefined {
  return compileMapping(requestyDeclaration(options)).encode(m).body.requesty as RequestyField | undefined;
}
