import { TagalongError } from "../errors";
import { type CheckedField, compileMapping, type Declaration, type Place, type Source } from "../mapping";
import { checkOptions, didYouMean } from "../options";
import type { Destination } from "../types";
import { mappedDestination } from "./mapped";

/** A model field, `extra` (every extra key) or `extra.<key>` (one). */
export type CloudflareField = CheckedField | "extra" | `extra.${string}`;

/** Options of `cloudflare()`. */
export interface CloudflareOptions {
  /**
   * Which fields go in `cf-aig-metadata`, in order. The gateway keeps at most 5 entries and silently
   * ignores the rest, so the entries past the fifth are left out (and counted) rather than sent.
   */
  fields?: CloudflareField[];
}

const MAX_ENTRIES = 5;
const DEFAULT_FIELDS: CloudflareField[] = ["user", "session", "trace", "environment", "organization"];

/** Cloudflare's mapping: the `cf-aig-metadata` JSON header, at most 5 entries of the chosen fields. */
export function cloudflareDeclaration(options: CloudflareOptions = {}): Declaration {
  const fields = options.fields ?? DEFAULT_FIELDS;
  const places: Place[] = [];
  let all = false;
  const only: string[] = [];
  for (const field of fields) {
    if (field === "extra") all = true;
    else if (field.startsWith("extra.")) only.push(field.slice("extra.".length));
    else {
      const from: Source = field === "prompt" ? "prompt.name" : (field as Source);
      places.push({ from, to: "metadata", key: field, ...(field === "tags" ? { join: "," } : {}) });
    }
  }
  return {
    name: "cloudflare",
    label: "Cloudflare",
    objects: {
      metadata: {
        header: "cf-aig-metadata",
        maxEntries: MAX_ENTRIES,
        // Past 5 entries the last chosen go; every extra key stands where "extra" does.
        rank: (key, fromExtra) => {
          const at = fields.indexOf(fromExtra ? `extra.${key}` : (key as CloudflareField));
          return at >= 0 ? at : fields.indexOf("extra");
        },
      },
    },
    places,
    ...(all ? { extra: { to: "metadata" } } : only.length > 0 ? { extra: { to: "metadata", only } } : {}),
  };
}

/** Cloudflare AI Gateway: the `cf-aig-metadata` JSON header, at most 5 entries of your choosing. */
export function cloudflare(options: CloudflareOptions = {}): Destination {
  checkOptions("cloudflare", options, ["fields"]);
  // Only a field left out takes the default: null is refused as any other value that is not a list.
  const fields = options.fields === undefined ? DEFAULT_FIELDS : options.fields;
  checkFields(fields);
  const plain = fields.filter((f) => f !== "extra" && !f.startsWith("extra."));
  if (plain.length > MAX_ENTRIES) {
    throw new TagalongError(
      `cloudflare({ fields }): ${plain.length} fields, Cloudflare AI Gateway keeps at most ${MAX_ENTRIES}`,
    );
  }
  return mappedDestination(compileMapping(cloudflareDeclaration(options)));
}

const KNOWN: readonly string[] = [...DEFAULT_FIELDS, "tags", "prompt"];

/** Refuses a field that would send nothing (unknown, misspelt) or take an entry twice. */
function checkFields(fields: readonly unknown[]): void {
  if (!Array.isArray(fields)) throw new TagalongError("cloudflare({ fields }): must be an array");
  const seen = new Set<unknown>();
  for (const field of fields) {
    const known =
      typeof field === "string" &&
      (KNOWN.includes(field) || field === "extra" || (field.startsWith("extra.") && field.length > 6));
    if (!known) {
      const hint = typeof field === "string" ? didYouMean(field, [...KNOWN, "extra"]) : undefined;
      throw new TagalongError(
        `cloudflare({ fields }): unknown field ${JSON.stringify(field)}${hint ? ` (did you mean "${hint}"?)` : ""}; fields are ${KNOWN.join(", ")}, extra, extra.<key>`,
      );
    }
    if (seen.has(field)) throw new TagalongError(`cloudflare({ fields }): "${field}" is named twice`);
    seen.add(field);
  }
}

/** Cloudflare AI Gateway's metadata header (a JSON object of at most 5 entries). */
export const CLOUDFLARE_METADATA_HEADER = "cf-aig-metadata";
