import { TagalongError } from "../errors";
import { headerJson } from "../header";
import { checkOptions } from "../options";
import type { Destination, ExtraValue, Metadata, MetadataIssue } from "../types";

/** A model field, `extra` (every extra key) or `extra.<key>` (one). */
export type CloudflareField =
  | "user"
  | "session"
  | "trace"
  | "environment"
  | "organization"
  | "tags"
  | "prompt"
  | "extra"
  | `extra.${string}`;

/** Options of `cloudflare()`. */
export interface CloudflareOptions {
  /**
   * Which fields go in `cf-aig-metadata`, in order. The gateway keeps at most 5 entries and silently
   * ignores the rest, so a call whose chosen fields make more than 5 entries is an error.
   */
  fields?: CloudflareField[];
}

const NAME = "cloudflare";
/** Cloudflare AI Gateway's metadata header (a JSON object of at most 5 entries). */
export const CLOUDFLARE_METADATA_HEADER = "cf-aig-metadata";
export const CLOUDFLARE_MAX_ENTRIES = 5;
const DEFAULT_FIELDS: CloudflareField[] = ["user", "session", "trace", "environment", "organization"];

function cloudflareEntries(
  m: Metadata,
  fields: readonly CloudflareField[],
): Array<[key: string, value: ExtraValue]> {
  const out: Array<[string, ExtraValue]> = [];
  for (const field of fields) {
    if (field === "extra") {
      if (m.extra) for (const key in m.extra) out.push([key, m.extra[key]!]);
    } else if (field.startsWith("extra.")) {
      const key = field.slice("extra.".length);
      const value = m.extra?.[key];
      if (value !== undefined) out.push([key, value]);
    } else if (field === "tags") {
      if (m.tags !== undefined && m.tags.length > 0) out.push(["tags", m.tags.join(",")]);
    } else if (field === "prompt") {
      if (m.prompt !== undefined) out.push(["prompt", m.prompt.name]);
    } else {
      const value = m[field as "user"];
      if (value !== undefined) out.push([field, value]);
    }
  }
  return out;
}

/** Cloudflare AI Gateway: the `cf-aig-metadata` JSON header, at most 5 entries of your choosing. */
export function cloudflare(options: CloudflareOptions = {}): Destination {
  checkOptions("cloudflare", options, ["fields"]);
  const fields = options.fields ?? DEFAULT_FIELDS;
  const plain = fields.filter((f) => f !== "extra" && !f.startsWith("extra."));
  if (plain.length > CLOUDFLARE_MAX_ENTRIES) {
    throw new TagalongError(
      `cloudflare({ fields }): ${plain.length} fields, Cloudflare AI Gateway keeps at most ${CLOUDFLARE_MAX_ENTRIES}`,
    );
  }
  return {
    name: NAME,
    check(m) {
      const entries = cloudflareEntries(m, fields);
      const issues: MetadataIssue[] = [];
      if (entries.length > CLOUDFLARE_MAX_ENTRIES) {
        issues.push({
          path: fields.includes("extra") ? "extra" : entries[CLOUDFLARE_MAX_ENTRIES]![0],
          rule: `makes ${entries.length} cf-aig-metadata entries (${entries.map(([k]) => k).join(", ")}), Cloudflare keeps at most ${CLOUDFLARE_MAX_ENTRIES}: choose with cloudflare({ fields })`,
          destination: NAME,
        });
      }
      const seen = new Set<string>();
      for (const [key] of entries) {
        if (seen.has(key))
          issues.push({
            path: `extra.${key}`,
            rule: "collides with a model field of the same name",
            destination: NAME,
          });
        seen.add(key);
      }
      return issues;
    },
    encode(m) {
      const entries = cloudflareEntries(m, fields);
      if (entries.length === 0) return {};
      return { headers: { [CLOUDFLARE_METADATA_HEADER]: headerJson(Object.fromEntries(entries)) } };
    },
  };
}
