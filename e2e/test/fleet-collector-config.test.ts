// docs/otel-collector.yaml, the Collector configuration docs/fleet.md describes, checked as the
// Collector would read it and against the attribute keys Tagalong's openTelemetry() destination writes.
import { readFileSync } from "node:fs";
import {
  genAiAttributes,
  langfuseAttributes,
  type OtelMetadataField,
  otelAttributeKeys,
} from "@tagalong/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Pipeline {
  receivers: string[];
  processors?: string[];
  exporters: string[];
}
type Components = Record<string, any>;
interface CollectorConfig {
  extensions: Components;
  receivers: Components;
  processors: Components;
  exporters: Components;
  service: { extensions: string[]; pipelines: Record<string, Pipeline> };
}

const text = readFileSync(new URL("../../docs/otel-collector.yaml", import.meta.url), "utf8");
const config = parse(text) as CollectorConfig;
const pipelines = Object.entries(config.service.pipelines);
const type = (id: string) => id.split("/")[0];

/** Every `attributes["..."]` an OTTL statement or condition in a processor names. */
function attributeReferences(processor: unknown): string[] {
  return [...JSON.stringify(processor).matchAll(/attributes\[\\"([^"\\]+)\\"\]/g)].map((m) => m[1]!);
}

describe("docs/otel-collector.yaml", () => {
  it("is a complete Collector configuration: every component a pipeline names is defined", () => {
    expect(pipelines.length).toBeGreaterThan(0);
    for (const [name, p] of pipelines) {
      expect(name.startsWith("traces")).toBe(true);
      for (const id of p.receivers) expect(config.receivers, `${name}: receiver ${id}`).toHaveProperty([id]);
      for (const id of p.processors ?? [])
        expect(config.processors, `${name}: processor ${id}`).toHaveProperty([id]);
      for (const id of p.exporters) expect(config.exporters, `${name}: exporter ${id}`).toHaveProperty([id]);
    }
    for (const id of config.service.extensions) expect(config.extensions).toHaveProperty([id]);
  });

  it("receives OTLP over gRPC and HTTP, what the SDK exporters send", () => {
    for (const [, p] of pipelines) expect(p.receivers.map(type)).toEqual(["otlp"]);
    expect(Object.keys(config.receivers.otlp.protocols).sort()).toEqual(["grpc", "http"]);
  });

  it("limits memory first and batches last in every pipeline", () => {
    for (const [, p] of pipelines) {
      const processors = (p.processors ?? []).map(type);
      expect(processors[0]).toBe("memory_limiter");
      expect(processors.at(-1)).toBe("batch");
    }
  });

  it("queues on disk and retries for every exporter: a persistent sending queue on a file_storage extension", () => {
    for (const [name, p] of pipelines) {
      for (const id of p.exporters) {
        const exporter = config.exporters[id];
        expect(exporter.sending_queue?.enabled, `${name}: ${id}`).toBe(true);
        const storage = exporter.sending_queue.storage;
        expect(type(storage)).toBe("file_storage");
        expect(config.service.extensions).toContain(storage);
        expect(config.extensions[storage].directory).toMatch(/^\//);
        expect(exporter.retry_on_failure?.enabled, `${name}: ${id}`).toBe(true);
      }
    }
  });

  it("names only attribute keys Tagalong emits, and writes Langfuse's keys from the default map's", () => {
    const emitted = otelAttributeKeys([genAiAttributes]);
    const langfuseKeys = new Set(otelAttributeKeys([langfuseAttributes]).keys);
    const isEmitted = (key: string) =>
      emitted.keys.includes(key) || emitted.prefixes.some((prefix) => key.startsWith(prefix));

    const read: string[] = [];
    const written: string[] = [];
    for (const [id, processor] of Object.entries(config.processors)) {
      for (const key of attributeReferences(processor)) {
        (type(id) === "transform" && langfuseKeys.has(key) ? written : read).push(key);
      }
    }
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((key) => !isEmitted(key))).toEqual([]);

    // Each field both maps carry: the transform copies the default map's key to Langfuse's.
    const statements: string[] = config.processors["transform/langfuse"].trace_statements.flatMap(
      (s: { statements: string[] }) => s.statements,
    );
    for (const [field, keys] of Object.entries(langfuseAttributes.fields ?? {})) {
      const from = genAiAttributes.fields?.[field as OtelMetadataField]?.[0];
      expect(from, `the default map carries ${field}`).toBeDefined();
      for (const to of keys ?? []) {
        expect(statements).toContain(
          `set(attributes["${to}"], attributes["${from}"]) where attributes["${from}"] != nil`,
        );
      }
    }
    const targets = statements.map((s) => /^set\(attributes\["([^"]+)"\]/.exec(s)?.[1]);
    expect(targets.filter((key) => key === undefined || !langfuseKeys.has(key))).toEqual([]);
    expect(written.length).toBe(targets.length);
  });

  it("sends only Tagalong's spans to the LLM backend", () => {
    const llm = pipelines.filter(([, p]) => p.exporters.some((id) => id.includes("langfuse")));
    expect(llm).toHaveLength(1);
    const filters = (llm[0]![1].processors ?? []).filter((id) => type(id) === "filter");
    const conditions: string[] = filters.flatMap((id) => config.processors[id].traces.span);
    expect(conditions).toContain('instrumentation_scope.name != "@tagalong/core"');
  });
});
