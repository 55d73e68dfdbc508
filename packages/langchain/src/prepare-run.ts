import {
  checkMetadata,
  currentMetadata,
  InvalidMetadataError,
  type Metadata,
  type MetadataIssue,
  type PreparedCall,
  type Tagalong,
} from "@tagalong/core";
import { type RunLabels, runMetadata } from "./run-metadata";

/**
 * Resolves and checks a run's metadata with `tagalong.prepare` (defaults < scopes < this run).
 * The run's trace (its LangChain root run id) applies only when neither the run's `tagalong` key,
 * a `withMetadata` scope nor a destination's default trace (the active OpenTelemetry trace id, with
 * `propagateTraceId`) sets one. Implied values a rule refuses are dropped (`onDrop` is told
 * which); anything else wrong throws InvalidMetadataError.
 */
export function prepareRun(
  tagalong: Tagalong,
  labels: RunLabels,
  trace: string | undefined,
  onDrop: (issues: readonly MetadataIssue[]) => void,
): PreparedCall {
  if (
    trace !== undefined &&
    (currentMetadata().trace !== undefined || tagalong.defaultTrace() !== undefined)
  ) {
    trace = undefined;
  }
  try {
    return tagalong.prepare(runMetadata(labels.explicit, labels.implied, trace) as Metadata);
  } catch (error) {
    if (!InvalidMetadataError.isInstance(error)) throw error;
    const { kept, dropped } = withoutRefused(tagalong, labels.implied, error.issues);
    if (dropped.length === 0) throw error;
    onDrop(dropped);
    return tagalong.prepare(runMetadata(labels.explicit, kept, trace) as Metadata);
  }
}

/** The implied metadata without every value the model or a destination refuses. */
function withoutRefused(
  tagalong: Tagalong,
  implied: Metadata,
  raised: readonly MetadataIssue[],
): { kept: Metadata; dropped: MetadataIssue[] } {
  const dropped: MetadataIssue[] = [];
  let kept = implied;
  const drop = (issues: readonly MetadataIssue[]) => {
    const next = without(kept, issues);
    if (next !== kept) {
      dropped.push(...issues);
      kept = next;
    }
  };
  drop(checkMetadata(kept));
  for (const d of tagalong.destinations) if (d.check) drop(d.check(kept));
  // Too many header bytes: the implied extra is the part the user did not ask to send.
  if (kept.extra && raised.some((issue) => issue.path === "(headers)")) {
    dropped.push(...raised.filter((issue) => issue.path === "(headers)"));
    const { extra: _, ...rest } = kept;
    kept = rest;
  }
  return { kept, dropped };
}

function without(metadata: Metadata, issues: readonly MetadataIssue[]): Metadata {
  if (issues.length === 0) return metadata;
  let out: Metadata | undefined;
  for (const { path } of issues) {
    const tag = /^tags\[(\d+)\]$/.exec(path);
    if (tag && metadata.tags) {
      out ??= { ...metadata };
      const index = Number(tag[1]);
      out.tags = (out.tags ?? []).filter((t) => t !== metadata.tags![index]);
    } else if (path.startsWith("extra.") && metadata.extra && path.slice(6) in metadata.extra) {
      out ??= { ...metadata };
      const { [path.slice(6)]: _, ...rest } = out.extra ?? {};
      out.extra = rest;
    } else if (path === "tags" || path === "extra" || path === "session") {
      out ??= { ...metadata };
      delete out[path];
    }
  }
  return out ?? metadata;
}
