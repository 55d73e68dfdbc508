import type { Metadata, MetadataIssue } from "../types";

/** An issue for every `extra` key that a destination fills from the model itself. */
export function reservedExtraKeys(
  m: Metadata,
  reserved: ReadonlySet<string>,
  rule: string,
  destination: string,
): MetadataIssue[] {
  const issues: MetadataIssue[] = [];
  if (m.extra) {
    for (const key in m.extra)
      if (reserved.has(key)) issues.push({ path: `extra.${key}`, rule, destination });
  }
  return issues;
}
