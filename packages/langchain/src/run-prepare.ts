import { currentMetadata, hasKeys, type PreparedCall, type Tagalong } from "@tagalong/core/adapter";
import { readRunLabels } from "./run-metadata";

/**
 * A run's prepared call. The run's `tagalong` key is what the user wrote for Tagalong; the rest of its
 * metadata and tags, and its LangChain trace, are implied: what a rule refuses there is left out,
 * never thrown for. The root run id is the trace only where neither a scope nor a destination's
 * default trace (the active OpenTelemetry trace id, with propagateTraceId) sets one; the run's own
 * key still wins. `configurable`: the run config's, where it is at hand (see readRunLabels).
 */
export function prepareRun(
  tagalong: Tagalong,
  metadata: Record<string, unknown> | undefined,
  tags: readonly string[] | undefined,
  rootRunId: string | undefined,
  configurable?: Record<string, unknown>,
): PreparedCall {
  const { explicit, implied } = readRunLabels(metadata, tags, configurable);
  const trace =
    rootRunId !== undefined && currentMetadata().trace === undefined && tagalong.defaultTrace() === undefined
      ? rootRunId
      : undefined;
  if (trace !== undefined) return tagalong.prepare(explicit as never, { implied: { ...implied, trace } });
  // A run that carries nothing but its `tagalong` key (or nothing at all) has no implied layer to read.
  return hasKeys(implied)
    ? tagalong.prepare(explicit as never, { implied })
    : tagalong.prepare(explicit as never);
}
