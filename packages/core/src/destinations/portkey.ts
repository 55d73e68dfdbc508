import { TagalongError } from "../errors";
import { compileMapping, type Declaration } from "../mapping";
import { checkOptions, checkValues } from "../options";
import type { Destination, Metadata } from "../types";
import { mappedDestination } from "./mapped";

/** Options of `portkey()`. */
export interface PortkeyOptions {
  /** Longest value Portkey accepts in the metadata JSON (its documented limit is 128). */
  maxValueLength?: number;
  /** Also send the legacy `x-portkey-meta` header (ignored by the open-source gateway). */
  legacyHeader?: boolean;
  /** Ask the gateway to forward `x-portkey-metadata` to the upstream provider. */
  forwardMetadata?: boolean;
  /**
   * The key names of environment, organisation and prompt in Portkey's metadata: `"predefined"`
   * (default) sends Portkey's indexed keys `_environment`, `_organisation`, `_prompt`; `"plain"` sends
   * `environment`, `organisation`, `prompt`, as Portkey's current metadata docs write them. The user
   * is `_user` either way (Portkey files it as the request's user).
   */
  keys?: "predefined" | "plain";
}

const METADATA_HEADER = "x-portkey-metadata";
/**
 * Portkey's predefined (indexed) keys besides `_user`: reserved in `extra` whatever `keys` names the
 * model's fields, so an extra key cannot file a second environment, organisation or prompt.
 */
const PREDEFINED = ["_environment", "_organisation", "_prompt"];
const TRACE_HEADER = "x-portkey-trace-id";

/** Portkey's mapping: one JSON header of string values (<= 128 chars each), and the trace id header. */
export function portkeyDeclaration(options: PortkeyOptions = {}): Declaration {
  const k = options.keys === "plain" ? "" : "_";
  return {
    name: "portkey",
    label: "Portkey",
    objects: {
      metadata: {
        header: METADATA_HEADER,
        strings: true,
        maxLength: options.maxValueLength ?? 128,
        reserved: PREDEFINED,
      },
    },
    places: [
      { from: "user", to: "metadata", key: "_user" },
      { from: "environment", to: "metadata", key: `${k}environment` },
      { from: "organization", to: "metadata", key: `${k}organisation` },
      { from: "prompt.name", to: "metadata", key: `${k}prompt` },
      { from: "session", to: "metadata", key: "session_id" },
      { from: "tags", to: "metadata", key: "tags", join: "," },
      { from: "trace", to: "header", key: TRACE_HEADER },
    ],
    extra: { to: "metadata" },
    finish(form) {
      const json = form.headers[METADATA_HEADER];
      if (json === undefined) return;
      if (options.legacyHeader) form.headers["x-portkey-meta"] = json;
      if (options.forwardMetadata) form.headers["x-portkey-forward-headers"] = METADATA_HEADER;
    },
  };
}

/** Portkey: the `x-portkey-metadata` JSON header, plus `x-portkey-trace-id` from `trace`. */
export function portkey(options: PortkeyOptions = {}): Destination {
  checkOptions("portkey", options, ["maxValueLength", "legacyHeader", "forwardMetadata", "keys"]);
  checkValues("portkey", options, { maxValueLength: 1, legacyHeader: "boolean", forwardMetadata: "boolean" });
  if (options.keys !== undefined && options.keys !== "predefined" && options.keys !== "plain") {
    throw new TagalongError(
      `portkey: keys must be "predefined" or "plain", got ${JSON.stringify(options.keys)}`,
    );
  }
  return mappedDestination(compileMapping(portkeyDeclaration(options)));
}

/** Portkey's metadata header: a JSON object of strings. */
export const PORTKEY_METADATA_HEADER = METADATA_HEADER;
/** Portkey's trace header, from `metadata.trace`. */
export const PORTKEY_TRACE_HEADER = TRACE_HEADER;
const defaultMapping = compileMapping(portkeyDeclaration());

/** Portkey's metadata object for this metadata (the default key names), every value a string. */
export function portkeyMetadata(m: Metadata): Record<string, string> {
  return (defaultMapping.encode(m).objects.metadata ?? {}) as Record<string, string>;
}
